package layer

import (
	"context"

	"github.com/vtmeta/vtmeta/internal/hook"
	"github.com/vtmeta/vtmeta/internal/rollout"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// Service is the shard layer as the hook runtime serves it.
var Service = hook.Layer[*v1.ShardSyncRequest, *v1.ShardSyncResponse]{
	Name:       "shard",
	ParentKind: "VitessShard",
	ChildTypes: rollout.Keys(owned),
	Sync:       Sync,
	Estimate:   Estimate,
	Register: func(ctx context.Context, g hook.GRPCRegistrar, mux *hook.GatewayMux, s *hook.Server[*v1.ShardSyncRequest, *v1.ShardSyncResponse]) error {
		v1.RegisterShardServiceServer(g, s)
		return v1.RegisterShardServiceHandlerServer(ctx, mux, s)
	},
}
