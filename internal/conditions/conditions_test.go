package conditions

import (
	"testing"
	"time"

	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

func TestMergeKeepsTransitionTime(t *testing.T) {
	then := "2026-01-01T00:00:00Z"
	now := time.Date(2026, 2, 2, 0, 0, 0, 0, time.UTC)
	prev := []*v1.Condition{
		{Type: Ready, Status: True, LastTransitionTime: then},
		{Type: Updated, Status: True, LastTransitionTime: then},
	}
	got := Merge(prev, now, 7,
		New(Ready, true, "AllReady", ""),
		New(Updated, false, "Rolling", "rolling x"),
		New(Progressing, true, "Rolling", "rolling x"),
	)
	want := map[string]string{Ready: then, Updated: "2026-02-02T00:00:00Z", Progressing: "2026-02-02T00:00:00Z"}
	for _, c := range got {
		if c.GetLastTransitionTime() != want[c.GetType()] {
			t.Errorf("%s lastTransitionTime = %s, want %s", c.GetType(), c.GetLastTransitionTime(), want[c.GetType()])
		}
		if c.GetObservedGeneration() != 7 {
			t.Errorf("%s observedGeneration = %d", c.GetType(), c.GetObservedGeneration())
		}
	}
	if Find(got, Updated).GetStatus() != False || Find(got, "Nope") != nil {
		t.Error("Find")
	}
}
