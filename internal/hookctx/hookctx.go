// Package hookctx carries what a hook call needs besides its request: the
// time it treats as now and a recorder of invalid specs. Layers stay pure
// functions of (context, request); the runtime fills the context, tests fix
// the clock.
package hookctx

import (
	"context"
	"time"
)

type nowKey struct{}

type invalidKey struct{}

// WithNow returns ctx whose Now is t.
func WithNow(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, nowKey{}, t)
}

// Now returns the time fixed by WithNow, or the wall clock.
func Now(ctx context.Context) time.Time {
	if t, ok := ctx.Value(nowKey{}).(time.Time); ok {
		return t
	}
	return time.Now()
}

// Recorder receives the reasons of invalid specs a hook call found.
type Recorder func(reason string)

// WithInvalidRecorder returns ctx whose ReportInvalid calls r.
func WithInvalidRecorder(ctx context.Context, r Recorder) context.Context {
	return context.WithValue(ctx, invalidKey{}, r)
}

// ReportInvalid tells the runtime that the parent's spec is invalid for
// reason (a short CamelCase word such as KeyRangeGap); the runtime counts it
// in its invalid-spec metric. Without a recorder it does nothing.
func ReportInvalid(ctx context.Context, reason string) {
	if r, ok := ctx.Value(invalidKey{}).(Recorder); ok && r != nil {
		r(reason)
	}
}
