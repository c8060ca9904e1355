package rollout

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/vtmeta/vtmeta/internal/kjson"
	"github.com/vtmeta/vtmeta/internal/observed"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

const api = "vitess.io/v1alpha1"

// cell builds a desired VitessCell child with the given image.
func cell(t *testing.T, name, image string) Child {
	t.Helper()
	c, err := FromProto(&v1.VitessCell{
		ApiVersion: api, Kind: "VitessCell",
		Metadata: &v1.ObjectMeta{Name: name},
		Spec:     &v1.VitessCellSpec{Name: name, Vtgate: &v1.ComponentSpec{Image: image}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// state of an observed child in a test.
type state struct {
	image string
	ready bool
	stale bool // status.observedGeneration behind
}

// observe builds the observed children as Metacontroller would report them
// after applying each child at its image.
func observe(t *testing.T, states map[string]state) observed.Children {
	t.Helper()
	objs := map[string]*v1.Object{}
	for name, s := range states {
		c := cell(t, name, s.image)
		status := "False"
		if s.ready {
			status = "True"
		}
		og := int64(3)
		if s.stale {
			og = 2
		}
		objs[name] = &v1.Object{
			ApiVersion: api, Kind: "VitessCell",
			Metadata: &v1.ObjectMeta{Name: name, Generation: 3, Annotations: map[string]string{
				observed.HashAnnotation:        c.Hash,
				observed.LastAppliedAnnotation: string(c.JSON),
			}},
			Status: &v1.ObjectStatus{ObservedGeneration: og, Conditions: []*v1.Condition{
				{Type: "Ready", Status: status}, {Type: "Updated", Status: "True"},
			}},
		}
	}
	return observed.Index(map[string]*v1.ObjectMap{"VitessCell." + api: {Objects: objs}})
}

// images returns, per child in order, the image of what the walk sends.
func images(t *testing.T, r Result) []string {
	t.Helper()
	var out []string
	for _, c := range r.Children {
		s := string(c.GetJson())
		switch {
		case strings.Contains(s, `"image":"new"`):
			out = append(out, "new")
		case strings.Contains(s, `"image":"old"`):
			out = append(out, "old")
		default:
			out = append(out, "?")
		}
	}
	return out
}

func TestWalk(t *testing.T) {
	order := []string{"a", "b", "c"}
	desiredNew := func(t *testing.T) []Child {
		var d []Child
		for _, n := range order {
			d = append(d, cell(t, n, "new"))
		}
		return d
	}
	tests := []struct {
		name        string
		states      map[string]state
		want        []string
		wantMoving  string
		wantUpdated int
		wantReady   int
	}{
		{"all old and ready: first moves", map[string]state{"a": {"old", true, false}, "b": {"old", true, false}, "c": {"old", true, false}},
			[]string{"new", "old", "old"}, "VitessCell a", 0, 3},
		{"first moved but not ready yet: hold the rest", map[string]state{"a": {"new", false, false}, "b": {"old", true, false}, "c": {"old", true, false}},
			[]string{"new", "old", "old"}, "", 1, 2},
		{"first moved, status stale: hold", map[string]state{"a": {"new", true, true}, "b": {"old", true, false}, "c": {"old", true, false}},
			[]string{"new", "old", "old"}, "", 0, 2},
		{"first ready on new: second moves", map[string]state{"a": {"new", true, false}, "b": {"old", true, false}, "c": {"old", true, false}},
			[]string{"new", "new", "old"}, "VitessCell b", 1, 3},
		{"a broken first child may move: its new spec may be the fix", map[string]state{"a": {"old", false, false}, "b": {"old", true, false}, "c": {"old", true, false}},
			[]string{"new", "old", "old"}, "VitessCell a", 0, 2},
		{"a child on the new spec but not ready blocks the next", map[string]state{"a": {"new", true, false}, "b": {"new", false, false}, "c": {"old", true, false}},
			[]string{"new", "new", "old"}, "", 2, 2},
		{"all new and ready: done", map[string]state{"a": {"new", true, false}, "b": {"new", true, false}, "c": {"new", true, false}},
			[]string{"new", "new", "new"}, "", 3, 3},
		{"missing child is created, later ones held", map[string]state{"b": {"old", true, false}, "c": {"old", true, false}},
			[]string{"new", "old", "old"}, "", 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Walk(desiredNew(t), observe(t, tt.states), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := images(t, r); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("children = %v, want %v", got, tt.want)
			}
			if r.Moving != tt.wantMoving {
				t.Errorf("Moving = %q, want %q", r.Moving, tt.wantMoving)
			}
			if r.Updated != tt.wantUpdated || r.Ready != tt.wantReady || r.Desired != 3 {
				t.Errorf("updated %d ready %d desired %d, want %d %d 3", r.Updated, r.Ready, r.Desired, tt.wantUpdated, tt.wantReady)
			}
		})
	}
}

// TestWalkToCompletion drives a rollout sync by sync, applying what each
// walk sends and making applied children ready, and checks that exactly one
// child moves per step, in order.
func TestWalkToCompletion(t *testing.T) {
	order := []string{"a", "b", "c", "d"}
	states := map[string]state{}
	var desired []Child
	for _, n := range order {
		states[n] = state{"old", true, false}
		desired = append(desired, cell(t, n, "new"))
	}
	var moved []string
	for step := 0; step < 20; step++ {
		r, err := Walk(desired, observe(t, states), Options{})
		if err != nil {
			t.Fatal(err)
		}
		imgs := images(t, r)
		changed := 0
		for i, n := range order {
			if states[n].image != imgs[i] {
				changed++
				states[n] = state{imgs[i], false, false} // applied; Pods restarting
			} else if !states[n].ready {
				states[n] = state{imgs[i], true, false} // became ready since
			}
		}
		if changed > 1 {
			t.Fatalf("step %d changed %d children at once", step, changed)
		}
		if r.Moving != "" {
			moved = append(moved, r.Moving)
		}
		if r.Updated == len(order) && r.Ready == len(order) {
			break
		}
	}
	if want := "[VitessCell a VitessCell b VitessCell c VitessCell d]"; fmt.Sprint(moved) != want {
		t.Errorf("moved %v, want %s", moved, want)
	}
}

func TestFreezeHoldsEverything(t *testing.T) {
	obs := observe(t, map[string]state{"a": {"old", true, false}, "b": {"old", false, false}})
	r, err := Walk([]Child{cell(t, "a", "new")}, obs, Options{Freeze: true, Owned: []Type{{"VitessCell", api}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := images(t, r); fmt.Sprint(got) != "[old old]" {
		t.Errorf("frozen children = %v, want both held as old", got)
	}
	if r.Ready != 1 || r.Desired != 2 {
		t.Errorf("ready %d of %d", r.Ready, r.Desired)
	}
}

func TestRemovedChildren(t *testing.T) {
	obs := observe(t, map[string]state{"a": {"new", true, false}, "gone": {"old", true, false}})
	desired := []Child{cell(t, "a", "new")}
	owned := []Type{{"VitessCell", api}}
	r, err := Walk(desired, obs, Options{Owned: owned, Retain: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Children) != 2 || fmt.Sprint(r.Retired) != "[gone]" {
		t.Errorf("Retain: %d children, retired %v", len(r.Children), r.Retired)
	}
	if c := r.Conditions(); c[1].GetStatus() != "True" {
		t.Errorf("a retained child must not keep Updated False: %v", c[1])
	}
	r, err = Walk(desired, obs, Options{Owned: owned})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Children) != 1 || len(r.Retired) != 0 {
		t.Errorf("Delete: %d children, retired %v", len(r.Children), r.Retired)
	}
}

func TestCannotHold(t *testing.T) {
	obs := observe(t, map[string]state{"a": {"old", true, false}, "b": {"old", true, false}})
	delete(obs["VitessCell."+api]["b"].Metadata.Annotations, observed.LastAppliedAnnotation)
	_, err := Walk([]Child{cell(t, "a", "new"), cell(t, "b", "new")}, obs, Options{})
	if !errors.Is(err, ErrCannotHold) || !strings.Contains(err.Error(), "VitessCell b") {
		t.Errorf("err = %v, want ErrCannotHold naming VitessCell b", err)
	}
}

func TestStampIsStable(t *testing.T) {
	a, b := cell(t, "a", "x"), cell(t, "a", "x")
	if a.Hash != b.Hash || string(a.JSON) != string(b.JSON) {
		t.Error("same object, different stamp")
	}
	if !strings.Contains(string(a.JSON), observed.HashAnnotation) {
		t.Error("hash annotation missing from the object")
	}
	if cell(t, "a", "y").Hash == a.Hash {
		t.Error("different objects, same hash")
	}
}

func TestHealthy(t *testing.T) {
	tests := []struct {
		name string
		o    *v1.Object
		want bool
	}{
		{"deployment ready", &v1.Object{Kind: "Deployment", Metadata: &v1.ObjectMeta{Generation: 2}, Status: &v1.ObjectStatus{ObservedGeneration: 2, Replicas: 3, ReadyReplicas: 3, UpdatedReplicas: 3}}, true},
		{"deployment rolling", &v1.Object{Kind: "Deployment", Metadata: &v1.ObjectMeta{Generation: 2}, Status: &v1.ObjectStatus{ObservedGeneration: 2, Replicas: 3, ReadyReplicas: 3, UpdatedReplicas: 1}}, false},
		{"deployment unseen", &v1.Object{Kind: "Deployment", Metadata: &v1.ObjectMeta{Generation: 2}, Status: &v1.ObjectStatus{ObservedGeneration: 1}}, false},
		{"statefulset revision", &v1.Object{Kind: "StatefulSet", Metadata: &v1.ObjectMeta{}, Status: &v1.ObjectStatus{Replicas: 3, ReadyReplicas: 3, UpdatedReplicas: 3, CurrentRevision: "a", UpdateRevision: "b"}}, false},
		{"pod ready", &v1.Object{Kind: "Pod", Status: &v1.ObjectStatus{Conditions: []*v1.Condition{{Type: "Ready", Status: "True"}}}}, true},
		{"pod not ready", &v1.Object{Kind: "Pod", Status: &v1.ObjectStatus{Conditions: []*v1.Condition{{Type: "Ready", Status: "False"}}}}, false},
		{"job complete", &v1.Object{Kind: "Job", Status: &v1.ObjectStatus{Conditions: []*v1.Condition{{Type: "Complete", Status: "True"}}}}, true},
		{"job failed", &v1.Object{Kind: "Job", Status: &v1.ObjectStatus{Conditions: []*v1.Condition{{Type: "Failed", Status: "True"}}}}, false},
		{"claim bound", &v1.Object{Kind: "PersistentVolumeClaim", Status: &v1.ObjectStatus{Phase: "Bound"}}, true},
		{"claim pending", &v1.Object{Kind: "PersistentVolumeClaim", Status: &v1.ObjectStatus{Phase: "Pending"}}, false},
		{"service", &v1.Object{Kind: "Service"}, true},
		{"being deleted", &v1.Object{Kind: "Service", Metadata: &v1.ObjectMeta{DeletionTimestamp: "2026-01-01T00:00:00Z"}}, false},
		{"vitess kind updating", &v1.Object{ApiVersion: api, Kind: "VitessShard", Status: &v1.ObjectStatus{Conditions: []*v1.Condition{{Type: "Ready", Status: "True"}, {Type: "Updated", Status: "False"}}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, why := Healthy(tt.o); got != tt.want || (!got && why == "") {
				t.Errorf("Healthy = %v (%q), want %v", got, why, tt.want)
			}
		})
	}
}

func TestStampEqualsEncoding(t *testing.T) {
	o := &v1.VitessCell{ApiVersion: api, Kind: "VitessCell", Metadata: &v1.ObjectMeta{Name: "a"}, Spec: &v1.VitessCellSpec{Name: "a"}}
	c, err := FromProto(o)
	if err != nil {
		t.Fatal(err)
	}
	again, err := kjson.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(c.JSON) || o.GetMetadata().GetAnnotations()[observed.HashAnnotation] != c.Hash {
		t.Errorf("stamped bytes differ from the object's encoding:\n%s\n%s", c.JSON, again)
	}
}

func TestStampRefusesTheHashKeyElsewhere(t *testing.T) {
	tests := []struct {
		name string
		meta *v1.ObjectMeta
	}{
		{"a label of the key and the placeholder", &v1.ObjectMeta{Name: "a", Labels: map[string]string{observed.HashAnnotation: hashPlaceholder}}},
		{"a label of the key and another value", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := tt.meta
			if md == nil {
				md = &v1.ObjectMeta{Name: "a", Labels: map[string]string{observed.HashAnnotation: "x"}}
			}
			o := &v1.VitessCell{ApiVersion: api, Kind: "VitessCell", Metadata: md, Spec: &v1.VitessCellSpec{Name: "a"}}
			c, err := FromProto(o)
			if md.Labels[observed.HashAnnotation] == hashPlaceholder {
				if !errors.Is(err, ErrReservedKey) {
					t.Fatalf("FromProto = %v, want ErrReservedKey", err)
				}
				return
			}
			// Another value cannot be taken for the stamp: the stamp lands
			// in the annotation.
			if err != nil || c.Hash == "" || o.GetMetadata().GetAnnotations()[observed.HashAnnotation] != c.Hash || md.Labels[observed.HashAnnotation] != "x" {
				t.Fatalf("FromProto = %v, %v; the hash must land in the annotation alone", c, err)
			}
		})
	}
}

func TestWalkRefusesTwinChildren(t *testing.T) {
	_, err := Walk([]Child{cell(t, "a", "x"), cell(t, "b", "x"), cell(t, "a", "y")}, observed.Children{}, Options{})
	if err == nil || !strings.Contains(err.Error(), "VitessCell a is desired twice") {
		t.Errorf("Walk = %v, want an error naming the twin", err)
	}
}
