package layer

import (
	"context"

	"github.com/vtmeta/vtmeta/internal/hook"
	"github.com/vtmeta/vtmeta/internal/rollout"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// Service is the keyspace layer as the hook runtime serves it.
var Service = hook.Layer[*v1.KeyspaceSyncRequest, *v1.KeyspaceSyncResponse]{
	Name:       "keyspace",
	ParentKind: "VitessKeyspace",
	ChildTypes: rollout.Keys(owned),
	Sync:       Sync,
	Estimate:   Estimate,
	Register: func(ctx context.Context, g hook.GRPCRegistrar, mux *hook.GatewayMux, s *hook.Server[*v1.KeyspaceSyncRequest, *v1.KeyspaceSyncResponse]) error {
		v1.RegisterKeyspaceServiceServer(g, s)
		return v1.RegisterKeyspaceServiceHandlerServer(ctx, mux, s)
	},
}
