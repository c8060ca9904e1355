package layer

import (
	"context"

	"github.com/vtmeta/vtmeta/internal/hook"
	"github.com/vtmeta/vtmeta/internal/rollout"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// Service is the cell layer as the hook runtime serves it.
var Service = hook.Layer[*v1.CellSyncRequest, *v1.CellSyncResponse]{
	Name:       "cell",
	ParentKind: "VitessCell",
	ChildTypes: rollout.Keys(owned),
	Sync:       Sync,
	Estimate:   Estimate,
	Register: func(ctx context.Context, g hook.GRPCRegistrar, mux *hook.GatewayMux, s *hook.Server[*v1.CellSyncRequest, *v1.CellSyncResponse]) error {
		v1.RegisterCellServiceServer(g, s)
		return v1.RegisterCellServiceHandlerServer(ctx, mux, s)
	},
}
