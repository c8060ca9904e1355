package rollout

import (
	"testing"

	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

func TestAvailable(t *testing.T) {
	cond := func(typ, status string) []*v1.Condition { return []*v1.Condition{{Type: typ, Status: status}} }
	obj := func(apiVersion, kind string, st *v1.ObjectStatus) *v1.Object {
		return &v1.Object{ApiVersion: apiVersion, Kind: kind, Metadata: &v1.ObjectMeta{Name: "x"}, Status: st}
	}
	for _, tt := range []struct {
		name string
		o    *v1.Object
		want bool
	}{
		{"absent", nil, false},
		{"a shard that serves", obj(api, "VitessShard", &v1.ObjectStatus{Conditions: cond("Available", "True")}), true},
		{"a shard that does not", obj(api, "VitessShard", &v1.ObjectStatus{Conditions: cond("Available", "False")}), false},
		{"a shard Ready but saying nothing of Available", obj(api, "VitessShard", &v1.ObjectStatus{Conditions: cond("Ready", "True")}), false},
		{"a rolling Deployment with a Pod available", obj("apps/v1", "Deployment", &v1.ObjectStatus{Replicas: 2, ReadyReplicas: 1, AvailableReplicas: 1}), true},
		{"a Deployment with none", obj("apps/v1", "Deployment", &v1.ObjectStatus{Replicas: 2}), false},
		{"etcd with a quorum", obj("apps/v1", "StatefulSet", &v1.ObjectStatus{Replicas: 3, ReadyReplicas: 2}), true},
		{"etcd without", obj("apps/v1", "StatefulSet", &v1.ObjectStatus{Replicas: 3, ReadyReplicas: 1}), false},
		{"a Ready Pod", obj("v1", "Pod", &v1.ObjectStatus{Conditions: cond("Ready", "True")}), true},
		{"a Pod not Ready", obj("v1", "Pod", &v1.ObjectStatus{Conditions: cond("Ready", "False")}), false},
		{"a Job not complete", obj("batch/v1", "Job", &v1.ObjectStatus{}), true},
		{"a Service", obj("v1", "Service", nil), true},
	} {
		if got := Available(tt.o); got != tt.want {
			t.Errorf("%s: Available = %v, want %v", tt.name, got, tt.want)
		}
	}
	being := obj(api, "VitessShard", &v1.ObjectStatus{Conditions: cond("Available", "True")})
	being.Metadata.DeletionTimestamp = "2026-11-29T00:00:00Z"
	if Available(being) {
		t.Error("a child being deleted is available")
	}
}

// TestUnavailableSkipsTasks: a finished task Pod (restartPolicy Never, as
// a cell's VSchema Pod) is never Ready, and must not make its parent
// unavailable; a serving Pod that is not Ready does.
func TestUnavailableSkipsTasks(t *testing.T) {
	done := &v1.Object{ApiVersion: "v1", Kind: "Pod", Metadata: &v1.ObjectMeta{Name: "x"},
		Status: &v1.ObjectStatus{Conditions: []*v1.Condition{{Type: "Ready", Status: "False"}}}}
	for _, tt := range []struct {
		name string
		spec string
		down int
	}{
		{"a task", `{"spec":{"restartPolicy":"Never"}}`, 0},
		{"a task retried on failure", `{"spec":{"restartPolicy":"OnFailure"}}`, 0},
		{"a serving Pod", `{"spec":{"restartPolicy":"Always"}}`, 1},
		{"a Pod with the default policy", `{"spec":{}}`, 1},
	} {
		r := Result{States: []State{{Child: Child{Kind: "Pod", APIVersion: "v1", Name: "x", JSON: []byte(tt.spec)}, Exists: true, Observed: done}}}
		if got := len(r.Unavailable(nil)); got != tt.down {
			t.Errorf("%s: %d unavailable, want %d", tt.name, got, tt.down)
		}
	}
}
