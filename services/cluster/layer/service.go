package layer

import (
	"context"

	"github.com/vtmeta/vtmeta/internal/hook"
	"github.com/vtmeta/vtmeta/internal/rollout"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// Service is the cluster layer as the hook runtime serves it.
var Service = hook.Layer[*v1.ClusterSyncRequest, *v1.ClusterSyncResponse]{
	Name:       "cluster",
	ParentKind: "VitessCluster",
	ChildTypes: rollout.Keys(owned),
	Sync:       Sync,
	Estimate:   Estimate,
	Register: func(ctx context.Context, g hook.GRPCRegistrar, mux *hook.GatewayMux, s *hook.Server[*v1.ClusterSyncRequest, *v1.ClusterSyncResponse]) error {
		v1.RegisterClusterServiceServer(g, s)
		return v1.RegisterClusterServiceHandlerServer(ctx, mux, s)
	},
}
