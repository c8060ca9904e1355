package layer

import (
	"context"

	"github.com/vtmeta/vtmeta/internal/hook"
	"github.com/vtmeta/vtmeta/internal/rollout"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// Service is the tablet layer as the hook runtime serves it.
var Service = hook.Layer[*v1.TabletSyncRequest, *v1.TabletSyncResponse]{
	Name:       "tablet",
	ParentKind: "VitessTablet",
	ChildTypes: rollout.Keys(owned),
	Sync:       Sync,
	Estimate:   Estimate,
	Register: func(ctx context.Context, g hook.GRPCRegistrar, mux *hook.GatewayMux, s *hook.Server[*v1.TabletSyncRequest, *v1.TabletSyncResponse]) error {
		v1.RegisterTabletServiceServer(g, s)
		return v1.RegisterTabletServiceHandlerServer(ctx, mux, s)
	},
}
