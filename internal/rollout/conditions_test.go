package rollout

import (
	"testing"

	"google.golang.org/protobuf/proto"

	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// TestConditionsIgnoreChildrensNoise checks that a parent's conditions
// do not change when only a child's message or reason does: each change
// would cost a status write and wake the parent's own parent.
func TestConditionsIgnoreChildrensNoise(t *testing.T) {
	desired := []Child{cell(t, "a", "new"), cell(t, "b", "new"), cell(t, "c", "new")}
	states := map[string]state{"a": {"new", false, false}, "b": {"old", true, false}, "c": {"old", true, false}}
	var want []*v1.Condition
	for i, noise := range []struct{ reason, message string }{
		{"ChildrenNotReady", "0 of 6 ready; VitessTablet x is not"},
		{"ChildrenNotReady", "3 of 6 ready; VitessTablet y and 2 more are not"},
		{"Rolling", "rolling VitessKeyspace z, 1 of 4 updated"},
	} {
		obs := observe(t, states)
		a := obs.Get("VitessCell", api, "a")
		a.Status.Conditions[0].Reason, a.Status.Conditions[0].Message = noise.reason, noise.message
		r, err := Walk(desired, obs, Options{})
		if err != nil {
			t.Fatal(err)
		}
		got := r.Conditions()
		if i == 0 {
			want = got
			continue
		}
		for j := range got {
			if !proto.Equal(got[j], want[j]) {
				t.Errorf("with child message %q: %v, want %v", noise.message, got[j], want[j])
			}
		}
	}
}

// TestConditionsFollowTheRollout checks the messages through one step of
// a rollout: they name the child the rollout is at, from the sync that
// moves it (which counts it as not ready: it is about to be) until it is
// ready, and change when the rollout moves on; the first three rows are
// one status, written once.
func TestConditionsFollowTheRollout(t *testing.T) {
	desired := []Child{cell(t, "a", "new"), cell(t, "b", "new"), cell(t, "c", "new")}
	tests := []struct {
		name            string
		states          map[string]state
		ready, progress string
	}{
		{"a moves", map[string]state{"a": {"old", true, false}, "b": {"old", true, false}, "c": {"old", true, false}},
			"2 of 3 ready; VitessCell a is not", "rolling VitessCell a, 0 of 3 updated"},
		{"a applied, its status not yet", map[string]state{"a": {"new", true, true}, "b": {"old", true, false}, "c": {"old", true, false}},
			"2 of 3 ready; VitessCell a is not", "rolling VitessCell a, 0 of 3 updated"},
		{"a on the new spec, rolled through, not ready", map[string]state{"a": {"new", false, false}, "b": {"old", true, false}, "c": {"old", true, false}},
			"2 of 3 ready; VitessCell a is not", "rolling VitessCell a, 1 of 3 updated"},
		{"a ready: b moves", map[string]state{"a": {"new", true, false}, "b": {"old", true, false}, "c": {"old", true, false}},
			"2 of 3 ready; VitessCell b is not", "rolling VitessCell b, 1 of 3 updated"},
		{"two not ready", map[string]state{"a": {"new", true, false}, "b": {"new", false, false}, "c": {"old", false, false}},
			"1 of 3 ready; VitessCell b and 1 more are not", "rolling VitessCell b, 2 of 3 updated"},
		{"done", map[string]state{"a": {"new", true, false}, "b": {"new", true, false}, "c": {"new", true, false}},
			"3 of 3 ready", "rollout complete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Walk(desired, observe(t, tt.states), Options{})
			if err != nil {
				t.Fatal(err)
			}
			c := r.Conditions()
			if c[0].GetMessage() != tt.ready {
				t.Errorf("Ready message %q, want %q", c[0].GetMessage(), tt.ready)
			}
			if c[2].GetMessage() != tt.progress {
				t.Errorf("Progressing message %q, want %q", c[2].GetMessage(), tt.progress)
			}
		})
	}
}
