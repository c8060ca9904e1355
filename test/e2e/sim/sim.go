// Package sim is a simulated control plane for the five vtmeta layers, in
// one process: an object store standing in for the apiserver, a stand-in
// for Metacontroller that plays its documented CompositeController role
// against the layers' real HTTP hooks, and stand-ins for the controllers
// that make Pods ready, bind claims, roll Deployments and complete Jobs.
//
// It is test and demo code, never shipped. Where it and the real
// Metacontroller could differ, the real one is right: it claims children
// by owner only (no adoption), applies a child by replacing what the hook
// last sent (the last-applied annotation is recorded as Metacontroller
// records it), honours InPlace, Recreate and OnDelete, deletes the
// children a hook leaves out (and, like the garbage collector, what they
// own), and writes the status the hook returns.
package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
)

// LastApplied is where Metacontroller records what it applied.
const LastApplied = "metacontroller.k8s.io/last-applied-configuration"

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
	// Body is the object as the hook last sent it (or the user wrote it).
	Body map[string]any
	// Status is its status.
	Status map[string]any
}

// Key is an object's identity: Kind/namespace/name.
func (o *Object) Key() string { return o.Kind + "/" + o.Namespace + "/" + o.Name }

// Strategy is how Metacontroller updates an existing child of a type.
type Strategy string

// The update strategies vtmeta's CompositeControllers use.
const (
	InPlace  Strategy = "InPlace"
	Recreate Strategy = "Recreate"
	OnDelete Strategy = "OnDelete"
)

// Controller is one CompositeController: a parent kind, its hook, and the
// update strategy of each child type ("Kind.apiVersion").
type Controller struct {
	Parent   string
	Hook     http.Handler
	Children map[string]Strategy
}

// World is the simulated control plane.
type World struct {
	objs        map[string]*Object
	controllers []Controller
	nextUID     int
	// Log receives one line per change, when set.
	Log func(format string, args ...any)
	// Events records every change in order: "create Pod ns/name", ...
	Events []string
}

// New returns an empty world with the controllers, synced in their order.
func New(controllers ...Controller) *World {
	return &World{objs: map[string]*Object{}, controllers: controllers}
}

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
		old.Body = body
		old.Generation++
		w.event("update %s", old.Key())
		return old
	}
	w.put(o)
	return o
}

// Delete removes an object and, like the garbage collector, what it owns.
func (w *World) Delete(key string) {
	if _, ok := w.objs[key]; !ok {
		return
	}
	delete(w.objs, key)
	w.event("delete %s", key)
	for _, k := range w.keys() {
		if o := w.objs[k]; o != nil && o.Owner == key {
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

func (w *World) fromBody(body map[string]any) *Object {
	md, _ := body["metadata"].(map[string]any)
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

func (w *World) put(o *Object) {
	w.nextUID++
	o.UID = w.nextUID
	w.objs[o.Key()] = o
	w.event("create %s", o.Key())
}

// render is the object as the apiserver would return it to Metacontroller.
func (w *World) render(o *Object) map[string]any {
	b, _ := json.Marshal(o.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	md, _ := out["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		out["metadata"] = md
	}
	md["uid"] = fmt.Sprintf("uid-%d", o.UID)
	md["generation"] = o.Generation
	if o.Owner != "" {
		ann, _ := md["annotations"].(map[string]any)
		if ann == nil {
			ann = map[string]any{}
			md["annotations"] = ann
		}
		last, _ := json.Marshal(o.Body)
		ann[LastApplied] = string(last)
	}
	out["status"] = o.Status
	return out
}

// Sync runs every controller once over every parent, in the controllers'
// order, and returns how many objects changed.
func (w *World) Sync() (int, error) {
	before := len(w.Events)
	for _, c := range w.controllers {
		for _, p := range w.List(c.Parent) {
			if err := w.syncParent(c, p); err != nil {
				return len(w.Events) - before, err
			}
		}
	}
	return len(w.Events) - before, nil
}

func (w *World) syncParent(c Controller, p *Object) error {
	children := map[string]any{}
	for typ := range c.Children {
		children[typ] = map[string]any{}
	}
	for _, k := range w.keys() {
		o := w.objs[k]
		if o.Owner != p.Key() {
			continue
		}
		typ := o.Kind + "." + o.APIVersion
		if m, ok := children[typ].(map[string]any); ok {
			m[o.Namespace+"/"+o.Name] = w.render(o)
		}
	}
	req, err := json.Marshal(map[string]any{
		"controller": map[string]any{"apiVersion": "metacontroller.k8s.io/v1alpha1", "kind": "CompositeController"},
		"parent":     w.render(p), "children": children, "related": map[string]any{}, "finalizing": false,
	})
	if err != nil {
		return err
	}
	rec := httptest.NewRecorder()
	c.Hook.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/sync", bytes.NewReader(req)))
	if rec.Code != http.StatusOK {
		// Non-200: Metacontroller changes nothing.
		w.event("hook for %s answered %d: %s", p.Key(), rec.Code, strings.TrimSpace(rec.Body.String()))
		return nil
	}
	var resp struct {
		Status   map[string]any   `json:"status"`
		Children []map[string]any `json:"children"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		return fmt.Errorf("hook for %s: %w", p.Key(), err)
	}
	if resp.Status == nil || resp.Children == nil {
		return fmt.Errorf("hook for %s sent no status or no children: Metacontroller would wipe them", p.Key())
	}
	if !equalJSON(p.Status, resp.Status) {
		p.Status = resp.Status
	}
	keep := map[string]bool{}
	for _, body := range resp.Children {
		o := w.fromBody(body)
		typ := o.Kind + "." + o.APIVersion
		strategy, ok := c.Children[typ]
		if !ok {
			return fmt.Errorf("hook for %s returned a %s, which its controller does not manage", p.Key(), typ)
		}
		if !matches(body, p.Body) {
			return fmt.Errorf("hook for %s returned %s, whose labels do not match the parent's selector", p.Key(), o.Key())
		}
		keep[o.Key()] = true
		old := w.objs[o.Key()]
		switch {
		case old == nil:
			o.Owner = p.Key()
			w.put(o)
		case old.Owner != p.Key():
			return fmt.Errorf("%s exists and belongs to %q, not %s", o.Key(), old.Owner, p.Key())
		case equalJSON(old.Body, body):
		case strategy == OnDelete:
		case strategy == Recreate:
			delete(w.objs, o.Key())
			w.event("delete %s (recreate)", o.Key())
			o.Owner = p.Key()
			w.put(o)
		default:
			old.Body = body
			old.Generation++
			w.event("update %s", o.Key())
		}
	}
	for _, k := range w.keys() {
		if o := w.objs[k]; o != nil && o.Owner == p.Key() && !keep[k] {
			w.Delete(k)
		}
	}
	return nil
}

// matches says whether a child's labels satisfy the parent's
// spec.selector.matchLabels.
func matches(child, parent map[string]any) bool {
	spec, _ := parent["spec"].(map[string]any)
	sel, _ := spec["selector"].(map[string]any)
	want, _ := sel["matchLabels"].(map[string]any)
	md, _ := child["metadata"].(map[string]any)
	have, _ := md["labels"].(map[string]any)
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
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
