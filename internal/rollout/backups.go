package rollout

import (
	"time"

	"github.com/vtmeta/vtmeta/internal/conditions"
	"github.com/vtmeta/vtmeta/internal/observed"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// BackedUp is the condition that says whether a parent's shards' latest
// backups are as recent as their schedules allow (a shard's own, or the
// roll-up of its children's).
const BackedUp = "BackedUp"

// Backups rolls up the backups of the children of the walk that run them
// (match): the oldest of their last backup times, "" while one has none,
// and their BackedUp conditions — False naming the first child that is
// not backed up, True when every one that says is, nil when none says.
func (r Result) Backups(match func(State) bool) (string, *v1.Condition) {
	var oldest time.Time
	none, any := false, false
	var late *Child
	saying := 0
	for _, s := range r.States {
		if !match(s) {
			continue
		}
		any = true
		t, err := time.Parse(time.RFC3339, s.Observed.GetStatus().GetLastBackupTime())
		if err != nil {
			none = true
		} else if oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
		if c := observed.Condition(s.Observed, BackedUp); c != nil {
			saying++
			if c.GetStatus() != conditions.True && late == nil {
				late = &s.Child
			}
		}
	}
	last := ""
	if any && !none {
		last = oldest.UTC().Format(time.RFC3339)
	}
	switch {
	case late != nil:
		return last, conditions.New(BackedUp, false, "ChildNotBackedUp", late.String()+" is not backed up as its schedules ask")
	case saying > 0:
		return last, conditions.New(BackedUp, true, "Current", "every shard's latest backup is as recent as its schedules ask")
	}
	return last, nil
}
