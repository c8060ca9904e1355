// Command cell serves the cell layer of vtmeta: the sync and finalize
// hooks of the VitessCell CompositeController, over HTTP for Metacontroller
// and over gRPC for tools.
package main

import (
	"os"

	"github.com/vtmeta/vtmeta/internal/hook"
	"github.com/vtmeta/vtmeta/services/cell/layer"
)

func main() {
	os.Exit(hook.Main(layer.Service))
}
