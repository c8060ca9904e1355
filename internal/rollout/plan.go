package rollout

import (
	"context"
	"fmt"

	"github.com/vtmeta/vtmeta/internal/hookctx"
	"github.com/vtmeta/vtmeta/internal/observed"
	"github.com/vtmeta/vtmeta/internal/spec"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// Plan is the common body of every layer's sync. When invalid (the parent
// spec's validation error) is not nil, it reports each reason to the
// runtime's metrics and freezes every owned child as last applied;
// otherwise it builds the desired children, in rollout order, and walks
// them. It returns the walk's result and the conditions it implies, which
// the layer merges with the parent's previous ones.
func Plan(ctx context.Context, obs observed.Children, invalid error, desired func() ([]Child, error), opts Options) (Result, []*v1.Condition, error) {
	if invalid != nil {
		for _, r := range spec.Reasons(invalid) {
			hookctx.ReportInvalid(ctx, r)
		}
		opts.Freeze = true
		res, err := Walk(nil, obs, opts)
		if err != nil {
			return Result{}, nil, fmt.Errorf("hold children of an invalid spec (%v): %w", invalid, err)
		}
		return res, InvalidConditions(invalid), nil
	}
	children, err := desired()
	if err != nil {
		return Result{}, nil, fmt.Errorf("build desired children: %w", err)
	}
	res, err := Walk(children, obs, opts)
	if err != nil {
		return Result{}, nil, fmt.Errorf("roll out children: %w", err)
	}
	return res, res.Conditions(), nil
}
