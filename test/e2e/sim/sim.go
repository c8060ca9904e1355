// Package sim is a simulated control plane for the five vtmeta layers, in
// one process: an object store standing in for the apiserver, the
// Metacontroller stand-in of package standin running the
// CompositeControllers of deploy/overlays against the layers' real HTTP
// hooks, and stand-ins for the controllers that make Pods ready, bind
// claims, roll Deployments and complete Jobs.
//
// It is test and demo code, never shipped. It is fast and deterministic
// (one Sync is one pass over every parent that needs a sync, parents
// first); package plane runs the same stand-in, or the real
// Metacontroller, on a real apiserver. Time is virtual (Clock): it passes
// only while the stand-in waits for its client's tokens, at
// Metacontroller's stock rate unless Limit says otherwise, so a scenario
// measures in Clock how long the API requests it causes take on a stock
// install, without waiting for them.
package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	kubejson "k8s.io/apimachinery/pkg/util/json"

	"github.com/vtmeta/vtmeta/test/e2e/standin"
)

// Object is one stored object.
type Object struct {
	// Kind and APIVersion are its type.
	Kind, APIVersion string
	// Name and Namespace identify it.
	Name, Namespace string
	// UID changes when the object is recreated.
	UID int
	// Generation increments when its spec changes.
	Generation int64
	// Owner is the key of its controller, "" for none.
	Owner string
	// Body is the object as last written, without its status.
	Body map[string]any
	// Status is its status.
	Status map[string]any
}

// Key is an object's identity: Kind/namespace/name.
func (o *Object) Key() string { return o.Kind + "/" + o.Namespace + "/" + o.Name }

// World is the simulated control plane.
type World struct {
	objs    map[string]*Object
	byUID   map[string]string
	mc      *standin.Metacontroller
	nextUID int
	// Log receives one line per change, when set.
	Log func(format string, args ...any)
	// Events records every change in order: "create Pod/ns/name", ...
	Events []string
	// StatusWrites counts the status writes that changed each object,
	// by key.
	StatusWrites map[string]int
	// Clock is the world's time.
	Clock *standin.VirtualClock
}

// New returns an empty world whose Metacontroller runs deploy/'s
// CompositeControllers, each hook served in process by its layer's real
// HTTP handler. wrap, when set, stands between Metacontroller and each hook
// (to take a service down, for example).
func New(wrap func(layer string, h http.Handler) http.Handler) (*World, error) {
	ctrls, err := standin.Load()
	if err != nil {
		return nil, err
	}
	hooks, err := Hooks(wrap)
	if err != nil {
		return nil, err
	}
	w := &World{objs: map[string]*Object{}, byUID: map[string]string{}, StatusWrites: map[string]int{}, Clock: &standin.VirtualClock{}}
	w.mc = &standin.Metacontroller{Store: store{w}, Controllers: ctrls, Hooks: hooks, Log: w.event, Clock: w.Clock}
	return w, nil
}

// Limit sets the client rate of the world's Metacontroller (stock by
// default); call it before the first Sync.
func (w *World) Limit(l standin.Limit) { w.mc.Limiter = l.Limiter(w.Clock) }

// Requests returns the requests the world's Metacontroller sent, by verb
// and resource, and how many syncs it ran (see standin's Requests).
func (w *World) Requests() (map[string]int, int) { return w.mc.Requests() }

func (w *World) event(format string, args ...any) {
	e := fmt.Sprintf(format, args...)
	w.Events = append(w.Events, e)
	if w.Log != nil {
		w.Log("%s", e)
	}
}

// Apply creates or replaces an object a user writes (kubectl apply).
func (w *World) Apply(body map[string]any) *Object {
	o := w.fromBody(body)
	if old := w.objs[o.Key()]; old != nil {
		w.replace(old, body)
		return old
	}
	w.put(o)
	return o
}

// Delete removes an object and, like the garbage collector, what it owns.
func (w *World) Delete(key string) {
	o, ok := w.objs[key]
	if !ok {
		return
	}
	delete(w.objs, key)
	delete(w.byUID, uid(o))
	w.event("delete %s", key)
	for _, k := range w.keys() {
		if c := w.objs[k]; c != nil && c.Owner == key {
			w.Delete(k)
		}
	}
}

// Get returns an object by kind, namespace and name.
func (w *World) Get(kind, namespace, name string) *Object {
	return w.objs[kind+"/"+namespace+"/"+name]
}

// List returns the objects of a kind, by name.
func (w *World) List(kind string) []*Object {
	var out []*Object
	for _, k := range w.keys() {
		if o := w.objs[k]; o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

func (w *World) keys() []string {
	keys := slices.Collect(maps.Keys(w.objs))
	sort.Strings(keys)
	return keys
}

func uid(o *Object) string { return "uid-" + strconv.Itoa(o.UID) }

func (w *World) fromBody(body map[string]any) *Object {
	body = clean(body)
	md, _ := body["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		body["metadata"] = md
	}
	ns, _ := md["namespace"].(string)
	if ns == "" {
		ns = "default"
		md["namespace"] = ns
	}
	name, _ := md["name"].(string)
	kind, _ := body["kind"].(string)
	av, _ := body["apiVersion"].(string)
	return &Object{Kind: kind, APIVersion: av, Name: name, Namespace: ns, Generation: 1, Body: body, Status: map[string]any{}}
}

// clean copies a body without its status and the fields the apiserver
// owns.
func clean(body map[string]any) map[string]any {
	var out map[string]any
	b, _ := json.Marshal(body)
	_ = kubejson.Unmarshal(b, &out)
	delete(out, "status")
	if md, ok := out["metadata"].(map[string]any); ok {
		for _, k := range []string{"uid", "generation", "resourceVersion", "creationTimestamp"} {
			delete(md, k)
		}
	}
	return out
}

func (w *World) put(o *Object) {
	w.nextUID++
	o.UID = w.nextUID
	w.objs[o.Key()] = o
	w.byUID[uid(o)] = o.Key()
	w.event("create %s", o.Key())
}

// replace writes a new body over an object; its generation moves when
// anything but its metadata changed.
func (w *World) replace(o *Object, body map[string]any) {
	body = clean(body)
	if md, ok := body["metadata"].(map[string]any); ok && md["namespace"] == nil {
		md["namespace"] = o.Namespace
	}
	if equalJSON(o.Body, body) {
		return
	}
	if !equalJSON(withoutMetadata(o.Body), withoutMetadata(body)) {
		o.Generation++
	}
	o.Body = body
	w.event("update %s", o.Key())
}

func withoutMetadata(body map[string]any) map[string]any {
	out := maps.Clone(body)
	delete(out, "metadata")
	return out
}

// render is the object as the apiserver would return it.
func (w *World) render(o *Object) *unstructured.Unstructured {
	var out map[string]any
	b, _ := json.Marshal(o.Body)
	_ = kubejson.Unmarshal(b, &out)
	u := &unstructured.Unstructured{Object: out}
	u.SetUID(types.UID(uid(o)))
	u.SetGeneration(o.Generation)
	st, _ := json.Marshal(o.Status)
	var status map[string]any
	_ = kubejson.Unmarshal(st, &status)
	out["status"] = status
	return u
}

// listStore is the Store's list: the objects of a type matching a namespace
// and a label selector, as the apiserver returns them.
func (w *World) listStore(r standin.Resource, namespace string, selector map[string]string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, k := range w.keys() {
		o := w.objs[k]
		if o.Kind != r.Kind() || o.APIVersion != r.APIVersion || (namespace != "" && o.Namespace != namespace) {
			continue
		}
		u := w.render(o)
		labels := u.GetLabels()
		match := true
		for k, v := range selector {
			if labels[k] != v {
				match = false
			}
		}
		if match {
			out = append(out, u)
		}
	}
	return out
}

// Sync runs every controller once over every parent, parents first, and
// returns how many objects changed.
func (w *World) Sync() (int, error) {
	before := len(w.Events)
	err := w.mc.Sync(context.Background())
	return len(w.Events) - before, err
}

// store is the world seen as an apiserver, for the Metacontroller
// stand-in. Its errors are the apiserver's.
type store struct{ w *World }

var _ standin.Store = store{}

func (s store) List(_ context.Context, r standin.Resource, namespace string, selector map[string]string) ([]*unstructured.Unstructured, error) {
	return s.w.listStore(r, namespace, selector), nil
}

func (s store) Get(_ context.Context, r standin.Resource, namespace, name string) (*unstructured.Unstructured, error) {
	o := s.w.objs[r.Kind()+"/"+namespace+"/"+name]
	if o == nil {
		return nil, apierrors.NewNotFound(r.GVR().GroupResource(), name)
	}
	return s.w.render(o), nil
}

func (s store) Create(_ context.Context, r standin.Resource, u *unstructured.Unstructured) error {
	o := s.w.fromBody(u.Object)
	if s.w.objs[o.Key()] != nil {
		return apierrors.NewAlreadyExists(r.GVR().GroupResource(), o.Name)
	}
	if ref := metav1.GetControllerOf(u); ref != nil {
		o.Owner = s.w.byUID[string(ref.UID)]
	}
	s.w.put(o)
	return nil
}

func (s store) Update(_ context.Context, r standin.Resource, u *unstructured.Unstructured) error {
	o := s.w.objs[u.GetKind()+"/"+u.GetNamespace()+"/"+u.GetName()]
	if o == nil {
		return apierrors.NewNotFound(r.GVR().GroupResource(), u.GetName())
	}
	if string(u.GetUID()) != uid(o) {
		return apierrors.NewConflict(r.GVR().GroupResource(), u.GetName(), fmt.Errorf("uid %s is not %s", u.GetUID(), uid(o)))
	}
	s.w.replace(o, u.Object)
	return nil
}

func (s store) Delete(_ context.Context, r standin.Resource, namespace, name string) error {
	key := r.Kind() + "/" + namespace + "/" + name
	if s.w.objs[key] == nil {
		return apierrors.NewNotFound(r.GVR().GroupResource(), name)
	}
	s.w.Delete(key)
	return nil
}

func (s store) UpdateStatus(_ context.Context, r standin.Resource, u *unstructured.Unstructured) error {
	o := s.w.objs[r.Kind()+"/"+u.GetNamespace()+"/"+u.GetName()]
	if o == nil {
		return apierrors.NewNotFound(r.GVR().GroupResource(), u.GetName())
	}
	st, _, _ := unstructured.NestedMap(u.Object, "status")
	if !equalJSON(o.Status, st) {
		s.w.StatusWrites[o.Key()]++
	}
	o.Status = st
	return nil
}

// Controllers plays the Kubernetes controllers: Deployments and
// StatefulSets roll out, Pods become ready unless ready says no, claims
// bind, Jobs complete.
func (w *World) Controllers(ready func(*Object) bool) {
	for _, k := range w.keys() {
		o := w.objs[k]
		var st map[string]any
		switch o.Kind {
		case "Deployment", "StatefulSet":
			spec, _ := o.Body["spec"].(map[string]any)
			n := spec["replicas"]
			st = map[string]any{"observedGeneration": o.Generation, "replicas": n, "readyReplicas": n, "updatedReplicas": n, "availableReplicas": n}
			if o.Kind == "StatefulSet" {
				st["currentRevision"], st["updateRevision"] = "r", "r"
			}
		case "Pod":
			cond := "False"
			if ready == nil || ready(o) {
				cond = "True"
			}
			st = map[string]any{"phase": "Running", "conditions": []any{map[string]any{"type": "Ready", "status": cond}}}
		case "PersistentVolumeClaim":
			st = map[string]any{"phase": "Bound"}
		case "Job":
			st = map[string]any{"succeeded": 1, "conditions": []any{map[string]any{"type": "Complete", "status": "True"}}}
		default:
			continue
		}
		o.Status = st
	}
}

// Converge runs sync rounds until nothing changes and done says so, at
// most rounds times.
func (w *World) Converge(rounds int, ready func(*Object) bool, done func() bool) error {
	for i := 0; i < rounds; i++ {
		changed, err := w.Sync()
		if err != nil {
			return err
		}
		w.Controllers(ready)
		if changed == 0 && done() {
			return nil
		}
	}
	return fmt.Errorf("did not converge in %d rounds", rounds)
}

// Condition returns the status of a condition of an object, "" if absent.
func Condition(o *Object, typ string) string {
	if o == nil {
		return ""
	}
	conds, _ := o.Status["conditions"].([]any)
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == typ {
			s, _ := m["status"].(string)
			return s
		}
	}
	return ""
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
