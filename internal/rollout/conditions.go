package rollout

import (
	"fmt"

	"github.com/vtmeta/vtmeta/internal/conditions"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// Conditions returns the Ready, Updated and Progressing conditions that a
// walk's result implies, not yet merged with the parent's previous ones.
func (r Result) Conditions() []*v1.Condition {
	return r.CountedConditions(r.Desired, r.Ready, r.Updated)
}

// CountedConditions is Conditions for a layer that reports only some of its
// children (a shard counts its tablets, not its budget or retired tablets):
// readiness and the messages use the given counts, while the rollout is
// complete only when every child is.
func (r Result) CountedConditions(desired, ready, updated int) []*v1.Condition {
	readyCond := conditions.New(conditions.Ready, true, "AllReady", fmt.Sprintf("%d of %d ready", ready, desired))
	if ready < desired {
		readyCond = conditions.New(conditions.Ready, false, "ChildrenNotReady",
			fmt.Sprintf("%d of %d ready; %s", ready, desired, r.NotReadyMessage()))
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
	switch {
	case r.Moving != "":
		msg = "rolling " + r.Moving + ", " + msg
	case r.Waiting != "":
		msg = "waiting for " + r.Waiting + ", " + msg
	}
	return []*v1.Condition{
		readyCond,
		conditions.New(conditions.Updated, false, "Rolling", msg),
		conditions.New(conditions.Progressing, true, "Rolling", msg),
	}
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
