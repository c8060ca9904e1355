// Command cluster serves the cluster layer of vtmeta: the sync and finalize hooks
// of the VitessCluster CompositeController, over HTTP for Metacontroller and
// over gRPC for tools.
package main

import (
	"context"
	"os"

	"github.com/vtmeta/vtmeta/internal/hook"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
	"github.com/vtmeta/vtmeta/services/cluster/layer"
)

func main() {
	os.Exit(hook.Main(Layer))
}

// Layer is the cluster layer as the hook runtime serves it.
var Layer = hook.Layer[*v1.ClusterSyncRequest, *v1.ClusterSyncResponse]{
	Name:       "cluster",
	ParentKind: "VitessCluster",
	Sync:       layer.Sync,
	Register: func(ctx context.Context, g hook.GRPCRegistrar, mux *hook.GatewayMux, s *hook.Server[*v1.ClusterSyncRequest, *v1.ClusterSyncResponse]) error {
		v1.RegisterClusterServiceServer(g, s)
		return v1.RegisterClusterServiceHandlerServer(ctx, mux, s)
	},
}
