// Command shard serves the shard layer of vtmeta: the sync and finalize
// hooks of the VitessShard CompositeController, over HTTP for Metacontroller
// and over gRPC for tools.
package main

import (
	"os"

	"github.com/vtmeta/vtmeta/internal/hook"
	"github.com/vtmeta/vtmeta/services/shard/layer"
)

func main() {
	os.Exit(hook.Main(layer.Service))
}
