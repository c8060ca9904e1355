package hookctx

import (
	"context"
	"testing"
	"time"
)

func TestNow(t *testing.T) {
	fixed := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if got := Now(WithNow(context.Background(), fixed)); !got.Equal(fixed) {
		t.Errorf("Now = %v, want the fixed %v", got, fixed)
	}
	if got := Now(context.Background()); time.Since(got) > time.Minute {
		t.Errorf("Now without a fixed time = %v, want the wall clock", got)
	}
}

func TestReportInvalid(t *testing.T) {
	var got []string
	ctx := WithInvalidRecorder(context.Background(), func(r string) { got = append(got, r) })
	ReportInvalid(ctx, "KeyRangeGap")
	ReportInvalid(ctx, "UnknownCell")
	ReportInvalid(context.Background(), "Nobody") // no recorder: nothing happens
	if len(got) != 2 || got[0] != "KeyRangeGap" || got[1] != "UnknownCell" {
		t.Errorf("recorded %v", got)
	}
}
