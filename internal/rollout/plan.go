package rollout

import (
	"context"
	"errors"
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
// them. A spec problem found while building (a *spec.FieldError from
// desired) holds the children as an invalid spec does. It returns the
// walk's result and the conditions it implies, which the layer merges with
// the parent's previous ones.
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
	var fe *spec.FieldError
	if errors.As(err, &fe) {
		// A problem of the spec found while building (a quantity that
		// does not parse, no uid slot left): held as any invalid spec is.
		return Plan(ctx, obs, err, nil, opts)
	}
	if err != nil {
		return Result{}, nil, fmt.Errorf("build desired children: %w", err)
	}
	res, err := Walk(children, obs, opts)
	if err != nil {
		return Result{}, nil, fmt.Errorf("roll out children: %w", err)
	}
	return res, res.Conditions(), nil
}
