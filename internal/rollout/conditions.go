package rollout

import (
	"fmt"

	"github.com/vtmeta/vtmeta/internal/conditions"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// Conditions returns the Ready, Updated and Progressing conditions that a
// walk's result implies, not yet merged with the parent's previous ones.
//
// Every status write costs an API request through Metacontroller's
// rate-limited client, and wakes the parent's own parent, so the
// conditions change only when something a user or the parent acts on
// changes: a count, a condition's status or reason, or the child the
// rollout is at. Their messages are built from those alone: they name
// children (the first not ready, the one being rolled) but never repeat
// a child's own message, which changes with every step of the child's
// progress; the user follows the name down.
func (r Result) Conditions() []*v1.Condition {
	return r.CountedConditions(r.Desired, r.ReadyCount(nil), r.Updated, nil)
}

// IsReady says whether a desired child counts as ready: healthy, and not
// the child this sync moves. Its new spec makes it unready from the next
// observation on (its generation moves, or its Pod goes); counting it so
// now spares the status write that would say so then, and a rollout
// changes each count once per step instead of twice.
func (r Result) IsReady(s State) bool {
	return s.Healthy && (r.Moving == "" || s.Child.String() != r.Moving)
}

// ReadyCount counts the desired children that are ready (IsReady), of
// those counted (nil: every one).
func (r Result) ReadyCount(counted func(Child) bool) int {
	n := 0
	for _, s := range r.States {
		if (counted == nil || counted(s.Child)) && r.IsReady(s) {
			n++
		}
	}
	if len(r.States) == 0 { // a frozen walk has no states
		return r.Ready
	}
	return n
}

// CountedConditions is Conditions for a layer that reports only some of its
// children (a shard counts its tablets, not its budget or retired tablets):
// readiness and the messages use the given counts and name only counted
// children (nil counts every child), while the rollout is complete only
// when every child is.
func (r Result) CountedConditions(desired, ready, updated int, counted func(Child) bool) []*v1.Condition {
	if counted == nil {
		counted = func(Child) bool { return true }
	}
	readyCond := conditions.New(conditions.Ready, true, "AllReady", fmt.Sprintf("%d of %d ready", ready, desired))
	if ready < desired {
		msg := fmt.Sprintf("%d of %d ready", ready, desired)
		if c, ok := r.first(func(s State) bool { return counted(s.Child) && !r.IsReady(s) }); ok {
			if more := desired - ready - 1; more > 0 {
				msg += fmt.Sprintf("; %s and %d more are not", c, more)
			} else {
				msg += "; " + c.String() + " is not"
			}
		}
		readyCond = conditions.New(conditions.Ready, false, "ChildrenNotReady", msg)
	}
	done := r.Updated == r.Desired && r.Held == len(r.Retired) && r.Moving == ""
	if done {
		return []*v1.Condition{
			readyCond,
			conditions.New(conditions.Updated, true, "AllUpdated", fmt.Sprintf("all %d on the current spec", desired)),
			conditions.New(conditions.Progressing, false, "Complete", "rollout complete"),
		}
	}
	msg := fmt.Sprintf("%d of %d updated", updated, desired)
	// The rollout is at the first child the walk could not move past: the
	// one it advanced, or the one it waits for (on its new spec, not yet
	// healthy on it). That changes only when the rollout moves on.
	if c, ok := r.first(func(s State) bool { return counted(s.Child) && !(s.Updated && s.Healthy) }); ok {
		msg = "rolling " + c.String() + ", " + msg
	}
	return []*v1.Condition{
		readyCond,
		conditions.New(conditions.Updated, false, "Rolling", msg),
		conditions.New(conditions.Progressing, true, "Rolling", msg),
	}
}

// first returns the first desired child, in rollout order, whose state
// matches.
func (r Result) first(match func(State) bool) (Child, bool) {
	for _, s := range r.States {
		if match(s) {
			return s.Child, true
		}
	}
	return Child{}, false
}

// InvalidConditions are the conditions of a parent whose spec is refused:
// not Ready, not Updated, not Progressing, each naming the problem.
func InvalidConditions(err error) []*v1.Condition {
	msg := "spec refused, children held as last applied: " + err.Error()
	return []*v1.Condition{
		conditions.New(conditions.Ready, false, conditions.ReasonInvalidSpec, msg),
		conditions.New(conditions.Updated, false, conditions.ReasonInvalidSpec, msg),
		conditions.New(conditions.Progressing, false, conditions.ReasonInvalidSpec, msg),
	}
}
