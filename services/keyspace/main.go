// Command keyspace serves the keyspace layer of vtmeta: the sync and finalize hooks
// of the VitessKeyspace CompositeController, over HTTP for Metacontroller and
// over gRPC for tools.
package main

import (
	"os"

	"github.com/vtmeta/vtmeta/internal/hook"
	"github.com/vtmeta/vtmeta/services/keyspace/layer"
)

func main() {
	os.Exit(hook.Main(layer.Service))
}
