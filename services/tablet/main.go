// Command tablet serves the tablet layer of vtmeta: the sync and finalize
// hooks of the VitessTablet CompositeController, over HTTP for Metacontroller
// and over gRPC for tools.
package main

import (
	"os"

	"github.com/vtmeta/vtmeta/internal/hook"
	"github.com/vtmeta/vtmeta/services/tablet/layer"
)

func main() {
	os.Exit(hook.Main(layer.Service))
}
