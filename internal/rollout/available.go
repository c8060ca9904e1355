package rollout

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/vtmeta/vtmeta/internal/conditions"
	"github.com/vtmeta/vtmeta/internal/observed"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// Available says whether an observed child serves, which a rolling update
// does not change as long as no more than the budgeted part of it is down:
// one of vtmeta's kinds by its Available condition; a Deployment by at
// least one available Pod; a StatefulSet (the topology etcd) by a quorum
// of ready members; a Pod by its Ready condition. Anything else (a
// Service, a Job, a budget) does not decide whether the database serves.
func Available(o *v1.Object) bool {
	if o == nil || o.GetMetadata().GetDeletionTimestamp() != "" {
		return false
	}
	st := o.GetStatus()
	switch {
	case strings.HasPrefix(o.GetApiVersion(), "vitess.io/"):
		c := observed.Condition(o, conditions.Available)
		return c != nil && c.GetStatus() == conditions.True
	case o.GetKind() == "Deployment":
		return st.GetAvailableReplicas() > 0
	case o.GetKind() == "StatefulSet":
		return st.GetReplicas() > 0 && st.GetReadyReplicas() >= st.GetReplicas()/2+1
	case o.GetKind() == "Pod":
		c := observed.Condition(o, "Ready")
		return c != nil && c.GetStatus() == conditions.True
	}
	return true
}

// Unavailable names the children of the walk, of those matched (nil:
// every one), that do not serve (Available), in rollout order. A task (a
// Pod that runs to completion: restartPolicy Never or OnFailure, as a
// cell's VSchema Pod) serves
// nothing, and is never counted: once done, it is never Ready.
func (r Result) Unavailable(match func(State) bool) []Child {
	var out []Child
	for _, s := range r.States {
		if (match == nil || match(s)) && !task(s.Child) && !Available(s.Observed) {
			out = append(out, s.Child)
		}
	}
	return out
}

// AvailableCondition is the Available condition of a parent whose down
// children are down: True when none is; else False, naming the first.
func AvailableCondition(down []Child) *v1.Condition {
	switch len(down) {
	case 0:
		return conditions.New(conditions.Available, true, "Serving", "every child serves")
	case 1:
		return conditions.New(conditions.Available, false, "ChildUnavailable", down[0].String()+" is not available")
	}
	return conditions.New(conditions.Available, false, "ChildrenUnavailable", fmt.Sprintf("%s and %d more are not available", down[0], len(down)-1))
}

// task says whether a desired child is a Pod that runs to completion.
func task(c Child) bool {
	if c.Kind != "Pod" {
		return false
	}
	var pod struct {
		Spec struct {
			RestartPolicy string `json:"restartPolicy"`
		} `json:"spec"`
	}
	return json.Unmarshal(c.JSON, &pod) == nil && (pod.Spec.RestartPolicy == "Never" || pod.Spec.RestartPolicy == "OnFailure")
}
