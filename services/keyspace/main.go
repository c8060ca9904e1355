// Command keyspace serves the keyspace layer of vtmeta: the sync and finalize hooks
// of the VitessKeyspace CompositeController, over HTTP for Metacontroller and
// over gRPC for tools.
package main

import (
	"context"
	"os"

	"github.com/vtmeta/vtmeta/internal/hook"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
	"github.com/vtmeta/vtmeta/services/keyspace/layer"
)

func main() {
	os.Exit(hook.Main(Layer))
}

// Layer is the keyspace layer as the hook runtime serves it.
var Layer = hook.Layer[*v1.KeyspaceSyncRequest, *v1.KeyspaceSyncResponse]{
	Name:       "keyspace",
	ParentKind: "VitessKeyspace",
	Sync:       layer.Sync,
	Register: func(ctx context.Context, g hook.GRPCRegistrar, mux *hook.GatewayMux, s *hook.Server[*v1.KeyspaceSyncRequest, *v1.KeyspaceSyncResponse]) error {
		v1.RegisterKeyspaceServiceServer(g, s)
		return v1.RegisterKeyspaceServiceHandlerServer(ctx, mux, s)
	},
}
