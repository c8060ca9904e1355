package operator

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/vtmeta/vtmeta/internal/hookctx"
	"github.com/vtmeta/vtmeta/internal/observed"
)

// Strategy is how Metacontroller updates a child whose desired state
// changed: the childResources' updateStrategy.method.
type Strategy string

// The update strategies vtmeta's CompositeControllers use.
const (
	InPlace  Strategy = "InPlace"
	Recreate Strategy = "Recreate"
	OnDelete Strategy = "OnDelete"
)

// Strategies are the update strategies of deploy/overlays'
// CompositeControllers by child kind; every other kind is InPlace.
var Strategies = map[string]Strategy{"Pod": Recreate, "Job": Recreate}

// Object is one stored object.
type Object struct {
	// Kind, APIVersion, Namespace and Name identify it.
	Kind, APIVersion, Namespace, Name string
	// UID changes when it is recreated.
	UID string
	// Generation counts changes to what it asks for (not metadata, not
	// status), as the apiserver counts them.
	Generation int64
	// Owner is the key of its controller; "" for what a user applied.
	Owner string
	// Applied is the object exactly as last applied by its controller (or
	// the user).
	Applied json.RawMessage
	// Body is the object as stored, without status.
	Body map[string]any
	// Status is its status.
	Status map[string]any
	// Seq orders objects by creation.
	Seq int

	// pending is a change its strategy (OnDelete) keeps from being applied.
	pending string
}

// Key is the object's identity in its namespace: Kind/name.
func (o *Object) Key() string { return Key(o.Kind, o.Name) }

// Key is the identity of an object in a namespace: Kind/name.
func Key(kind, name string) string { return kind + "/" + name }

// Op is what a write did to an object.
type Op string

// The writes a World records.
const (
	// Create creates an object.
	Create Op = "create"
	// Update changes an object in place.
	Update Op = "update"
	// Replace deletes an object and creates it again (strategy Recreate).
	Replace Op = "replace"
	// Delete deletes an object: its controller left it out, or its owner
	// was deleted (Event.Cascade).
	Delete Op = "delete"
	// Withheld is a change the child's strategy (OnDelete) does not apply.
	Withheld Op = "withheld"
)

// Event is one write, in the order the operator makes them.
type Event struct {
	// Op is the write.
	Op Op
	// Kind and Name are the object written.
	Kind, Name string
	// Owner is the key of its controller, "" for the user's object.
	Owner string
	// Layer is the layer whose answer made the write; "" for the user's
	// apply and the garbage collector.
	Layer string
	// Before and After are the object as stored before and after (nil for
	// a create, resp. a delete).
	Before, After map[string]any
	// Cascade names the deleted owner a garbage-collected object went with.
	Cascade string
}

// World is an in-memory apiserver with Metacontroller and the five layers
// running against it. One World holds one namespace.
type World struct {
	// Store, when set, returns an object as the apiserver stores it (for
	// example pruned and defaulted by its CRD); it must not modify obj.
	Store func(obj map[string]any) map[string]any
	// Now is the clock the layers run at in this process.
	Now time.Time
	// MaxSyncs bounds the hook calls of one Run: a layer that never
	// settles is a bug to report, not a reason to spin.
	MaxSyncs int
	// Events are the writes so far, in order.
	Events []Event
	// Syncs counts hook calls.
	Syncs int

	layers map[string]Layer
	objs   map[string]*Object
	queue  []string
	queued map[string]bool
	seq    int
}

// New returns an empty World whose parents of each layer's kind are synced
// by that layer.
func New(layers ...Layer) *World {
	w := &World{
		Now:      time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		MaxSyncs: 100000,
		layers:   map[string]Layer{},
		objs:     map[string]*Object{},
		queued:   map[string]bool{},
	}
	for _, l := range layers {
		w.layers[l.ParentKind()] = l
	}
	return w
}

// Get returns the stored object of the kind and name, or nil.
func (w *World) Get(kind, name string) *Object { return w.objs[Key(kind, name)] }

// Objects returns every stored object in creation order.
func (w *World) Objects() []*Object {
	out := slices.Collect(maps.Values(w.objs))
	slices.SortFunc(out, func(a, b *Object) int { return a.Seq - b.Seq })
	return out
}

// Snapshot returns a deep copy of every stored object, by key.
func (w *World) Snapshot() map[string]*Object {
	out := make(map[string]*Object, len(w.objs))
	for k, o := range w.objs {
		c := *o
		c.Body, c.Status = deepCopy(o.Body), deepCopy(o.Status)
		out[k] = &c
	}
	return out
}

// Apply writes an object as a user does (kubectl apply): it creates it or
// replaces what it asks for, keeping its status.
func (w *World) Apply(obj map[string]any) (*Object, error) {
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encode the object: %w", err)
	}
	kind, apiVersion, ns, name := identity(obj)
	if kind == "" || name == "" {
		return nil, fmt.Errorf("the object needs a kind and metadata.name")
	}
	o := w.objs[Key(kind, name)]
	stored := w.store(obj)
	if o == nil {
		o = w.create(kind, apiVersion, ns, name, "", raw, stored)
		w.record(Event{Op: Create, Kind: kind, Name: name, After: o.Body})
	} else {
		before := o.Body
		o.Applied = raw
		o.Body = stored
		if specChanged(before, stored) {
			o.Generation++
		}
		w.record(Event{Op: Update, Kind: kind, Name: name, Before: before, After: o.Body})
	}
	w.enqueue(o.Key())
	return o, nil
}

// Run syncs every parent that needs it, as Metacontroller does on every
// change to a parent or its children, until nothing changes any more.
func (w *World) Run(ctx context.Context) error {
	ctx = hookctx.WithNow(ctx, w.Now)
	start := w.Syncs
	for len(w.queue) > 0 {
		key := w.queue[0]
		w.queue = w.queue[1:]
		delete(w.queued, key)
		p := w.objs[key]
		if p == nil {
			continue
		}
		l := w.layers[p.Kind]
		if l == nil {
			continue
		}
		if w.Syncs-start >= w.MaxSyncs {
			return fmt.Errorf("the layers did not settle after %d syncs (last: %s)", w.MaxSyncs, key)
		}
		if err := w.sync(ctx, l, p); err != nil {
			return err
		}
	}
	return nil
}

// sync calls a parent's layer and applies its answer as Metacontroller
// does: children created, updated by their strategy, or deleted when left
// out; the parent's status written.
func (w *World) sync(ctx context.Context, l Layer, p *Object) error {
	w.Syncs++
	req, err := json.Marshal(w.request(l, p))
	if err != nil {
		return fmt.Errorf("encode the request for %s: %w", p.Key(), err)
	}
	ans, err := l.Sync(ctx, req)
	if err != nil {
		return fmt.Errorf("sync %s %s: %w", p.Kind, p.Name, err)
	}
	changed := false
	seen := map[string]bool{}
	for i, raw := range ans.Children {
		child, err := decode(raw)
		if err != nil {
			return fmt.Errorf("%s %s: child %d: %w", p.Kind, p.Name, i, err)
		}
		kind, apiVersion, _, name := identity(child)
		key := Key(kind, name)
		if seen[key] {
			return fmt.Errorf("%s %s: the %s layer returned %s twice", p.Kind, p.Name, l.Name(), key)
		}
		seen[key] = true
		c, err := w.applyChild(l, p, kind, apiVersion, name, raw, child)
		if err != nil {
			return err
		}
		changed = changed || c
	}
	for _, o := range w.Objects() {
		if o.Owner == p.Key() && !seen[o.Key()] {
			w.delete(o, l.Name(), "")
			changed = true
		}
	}
	if status, err := decodeStatus(ans.Status); err != nil {
		return fmt.Errorf("%s %s: status: %w", p.Kind, p.Name, err)
	} else if status != nil && !equalJSON(status, p.Status) {
		p.Status = status
		if p.Owner != "" {
			w.enqueue(p.Owner)
		}
	}
	if changed {
		w.enqueue(p.Key())
	}
	return nil
}

// applyChild applies one desired child and says whether anything changed.
func (w *World) applyChild(l Layer, p *Object, kind, apiVersion, name string, raw json.RawMessage, child map[string]any) (bool, error) {
	o := w.objs[Key(kind, name)]
	if o != nil && o.Owner != p.Key() {
		return false, fmt.Errorf("%s %s: the %s layer asks for %s %s, which %s controls", p.Kind, p.Name, l.Name(), kind, name, cmp.Or(o.Owner, "a user"))
	}
	stored := w.store(child)
	switch {
	case o == nil:
		o = w.create(kind, apiVersion, p.Namespace, name, p.Key(), raw, stored)
		w.record(Event{Op: Create, Kind: kind, Name: name, Owner: p.Key(), Layer: l.Name(), After: o.Body})
	case sameJSON(raw, o.Applied):
		return false, nil
	case Strategies[kind] == OnDelete:
		if o.pending == canonical(raw) {
			return false, nil
		}
		o.pending = canonical(raw)
		w.record(Event{Op: Withheld, Kind: kind, Name: name, Owner: p.Key(), Layer: l.Name(), Before: o.Body, After: stored})
		return false, nil
	case Strategies[kind] == Recreate:
		before := o.Body
		w.seq++
		o.UID = uid(w.seq)
		o.Generation = 1
		o.Applied, o.Body, o.Status = raw, stored, nil
		w.record(Event{Op: Replace, Kind: kind, Name: name, Owner: p.Key(), Layer: l.Name(), Before: before, After: o.Body})
	default:
		before := o.Body
		o.Applied, o.Body = raw, stored
		if specChanged(before, stored) {
			o.Generation++
		}
		w.record(Event{Op: Update, Kind: kind, Name: name, Owner: p.Key(), Layer: l.Name(), Before: before, After: o.Body})
	}
	o.pending = ""
	if w.layers[kind] != nil {
		w.enqueue(o.Key())
	} else {
		o.Status = ReadyStatus(o)
	}
	return true, nil
}

func (w *World) create(kind, apiVersion, ns, name, owner string, raw json.RawMessage, body map[string]any) *Object {
	w.seq++
	o := &Object{Kind: kind, APIVersion: apiVersion, Namespace: cmp.Or(ns, "default"), Name: name, UID: uid(w.seq),
		Generation: 1, Owner: owner, Applied: raw, Body: body, Seq: w.seq}
	w.objs[o.Key()] = o
	return o
}

// delete deletes an object and, as the garbage collector does, everything
// it owns.
func (w *World) delete(o *Object, layer, cascade string) {
	delete(w.objs, o.Key())
	w.record(Event{Op: Delete, Kind: o.Kind, Name: o.Name, Owner: o.Owner, Layer: layer, Before: o.Body, Cascade: cascade})
	for _, c := range w.Objects() {
		if c.Owner == o.Key() {
			w.delete(c, "", o.Key())
		}
	}
}

func (w *World) record(e Event) { w.Events = append(w.Events, e) }

func (w *World) enqueue(key string) {
	if !w.queued[key] {
		w.queued[key] = true
		w.queue = append(w.queue, key)
	}
}

func (w *World) store(obj map[string]any) map[string]any {
	if w.Store == nil {
		return deepCopy(obj)
	}
	return w.Store(obj)
}

// request is the hook request Metacontroller sends for a parent.
func (w *World) request(l Layer, p *Object) map[string]any {
	// A map for every child type, even an empty one, as Metacontroller
	// sends them.
	children := map[string]any{}
	for _, t := range l.ChildTypes() {
		children[t] = map[string]any{}
	}
	for _, o := range w.Objects() {
		if o.Owner != p.Key() {
			continue
		}
		typ := observed.TypeKey(o.Kind, o.APIVersion)
		group, _ := children[typ].(map[string]any)
		if group == nil {
			group = map[string]any{}
			children[typ] = group
		}
		group[o.Namespace+"/"+o.Name] = w.View(o)
	}
	return map[string]any{
		"controller": map[string]any{"apiVersion": "metacontroller.k8s.io/v1alpha1", "kind": "CompositeController",
			"metadata": map[string]any{"name": "vtmeta-" + l.Name()}},
		"parent":     w.View(p),
		"children":   children,
		"related":    map[string]any{},
		"finalizing": false,
	}
}

// View returns an object as the apiserver serves it: as stored, with the
// metadata the apiserver and Metacontroller add, and its status.
func (w *World) View(o *Object) map[string]any {
	v := deepCopy(o.Body)
	md, _ := v["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		v["metadata"] = md
	}
	md["namespace"] = o.Namespace
	md["uid"] = o.UID
	md["generation"] = o.Generation
	md["creationTimestamp"] = w.Now.Format(time.RFC3339)
	if o.Owner != "" {
		owner := w.objs[o.Owner]
		if owner != nil {
			md["ownerReferences"] = []any{map[string]any{"apiVersion": owner.APIVersion, "kind": owner.Kind, "name": owner.Name,
				"uid": owner.UID, "controller": true, "blockOwnerDeletion": true}}
		}
		ann, _ := md["annotations"].(map[string]any)
		if ann == nil {
			ann = map[string]any{}
			md["annotations"] = ann
		}
		ann[observed.LastAppliedAnnotation] = string(o.Applied)
	}
	if o.Status != nil {
		v["status"] = deepCopy(o.Status)
	}
	return v
}

// ReadyStatus is the status of a Kubernetes object (not one of vtmeta's
// kinds, whose layers write their status) once its controller has made it
// ready at its current generation.
func ReadyStatus(o *Object) map[string]any {
	spec, _ := o.Body["spec"].(map[string]any)
	replicas := any(json.Number("1"))
	if r, ok := spec["replicas"]; ok {
		replicas = r
	}
	switch o.Kind {
	case "Pod":
		return map[string]any{"phase": "Running", "conditions": []any{
			map[string]any{"type": "Ready", "status": "True"}, map[string]any{"type": "ContainersReady", "status": "True"}}}
	case "PersistentVolumeClaim":
		return map[string]any{"phase": "Bound"}
	case "Deployment", "StatefulSet", "ReplicaSet":
		rev := fmt.Sprintf("%s-%d", o.Name, o.Generation)
		return map[string]any{"observedGeneration": o.Generation, "replicas": replicas, "readyReplicas": replicas,
			"updatedReplicas": replicas, "availableReplicas": replicas, "currentRevision": rev, "updateRevision": rev}
	case "Job":
		return map[string]any{"succeeded": 1, "conditions": []any{map[string]any{"type": "Complete", "status": "True"}}}
	}
	return nil
}

// specChanged says whether anything but metadata and status differs: what
// makes the apiserver bump an object's generation.
func specChanged(a, b map[string]any) bool {
	strip := func(m map[string]any) map[string]any {
		out := maps.Clone(m)
		delete(out, "metadata")
		delete(out, "status")
		return out
	}
	return !equalJSON(strip(a), strip(b))
}

func identity(obj map[string]any) (kind, apiVersion, namespace, name string) {
	kind, _ = obj["kind"].(string)
	apiVersion, _ = obj["apiVersion"].(string)
	md, _ := obj["metadata"].(map[string]any)
	namespace, _ = md["namespace"].(string)
	name, _ = md["name"].(string)
	return
}

func uid(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

// decode reads JSON with numbers kept as written.
func decode(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("not a JSON object")
	}
	return m, nil
}

func decodeStatus(b json.RawMessage) (map[string]any, error) {
	if len(bytes.TrimSpace(b)) == 0 || string(bytes.TrimSpace(b)) == "null" {
		return nil, nil
	}
	return decode(b)
}

func canonical(b []byte) string {
	m, err := decode(b)
	if err != nil {
		return string(b)
	}
	out, _ := json.Marshal(m)
	return string(out)
}

func sameJSON(a, b []byte) bool { return canonical(a) == canonical(b) }

func equalJSON(a, b map[string]any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func deepCopy(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	b, _ := json.Marshal(m)
	out, _ := decode(b)
	return out
}

// KindOf returns the kind of a key: "VitessShard/x" → "VitessShard".
func KindOf(key string) string {
	kind, _, _ := strings.Cut(key, "/")
	return kind
}

// ByKey returns the stored object of a key (Kind/name), or nil.
func (w *World) ByKey(key string) *Object { return w.objs[key] }
