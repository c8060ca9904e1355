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

type answerLimitKey struct{}

// WithAnswerLimit returns ctx whose AnswerLimit is n bytes.
func WithAnswerLimit(ctx context.Context, n int64) context.Context {
	return context.WithValue(ctx, answerLimitKey{}, n)
}

// AnswerLimit is the most bytes a hook call may answer with (the
// runtime's --max-answer-bytes), or 0 when the call has no limit (a test
// calling a layer directly). A layer whose answer would be larger refuses
// the spec, naming what to shrink, before it builds anything.
func AnswerLimit(ctx context.Context) int64 {
	n, _ := ctx.Value(answerLimitKey{}).(int64)
	return n
}
