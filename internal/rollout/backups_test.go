package rollout

import (
	"testing"

	"github.com/vtmeta/vtmeta/internal/conditions"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

func TestBackupsRollUp(t *testing.T) {
	child := func(name, last, backedUp string) State {
		o := &v1.Object{Status: &v1.ObjectStatus{LastBackupTime: last}}
		if backedUp != "" {
			o.Status.Conditions = []*v1.Condition{{Type: BackedUp, Status: backedUp}}
		}
		return State{Child: Child{Kind: "VitessShard", Name: name}, Observed: o}
	}
	all := func(State) bool { return true }
	for _, tt := range []struct {
		name       string
		states     []State
		match      func(State) bool
		last, cond string
	}{
		{"the oldest of the latest", []State{child("a", "2026-12-01T03:00:00Z", "True"), child("b", "2026-12-01T01:00:00Z", "True")}, all, "2026-12-01T01:00:00Z", "True"},
		{"one without a backup", []State{child("a", "2026-12-01T03:00:00Z", "True"), child("b", "", "False")}, all, "", "False"},
		{"no schedule says", []State{child("a", "2026-12-01T03:00:00Z", "")}, all, "2026-12-01T03:00:00Z", ""},
		{"only the matched", []State{child("a", "2026-12-01T03:00:00Z", "True"), child("b", "", "False")},
			func(s State) bool { return s.Child.Name == "a" }, "2026-12-01T03:00:00Z", "True"},
		{"none matched", []State{child("a", "", "False")}, func(State) bool { return false }, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			last, c := Result{States: tt.states}.Backups(tt.match)
			if last != tt.last {
				t.Errorf("last %q, want %q", last, tt.last)
			}
			switch {
			case tt.cond == "" && c != nil:
				t.Errorf("condition %v, want none", c)
			case tt.cond != "" && (c == nil || c.GetStatus() != tt.cond):
				t.Errorf("condition %v, want %s", c, tt.cond)
			case tt.cond == conditions.False && c.GetMessage() != "VitessShard b is not backed up as its schedules ask":
				t.Errorf("message %q", c.GetMessage())
			}
		})
	}
}
