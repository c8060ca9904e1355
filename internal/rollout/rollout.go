// Package rollout is the one piece of code every layer uses to move its
// children to a new desired state safely: one child at a time, in the
// layer's order, each only after every child before it is up to date and
// healthy; every other child is held exactly as Metacontroller last applied
// it. The same hold freezes all children while a parent's spec is invalid.
package rollout

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/vtmeta/vtmeta/internal/kjson"
	"github.com/vtmeta/vtmeta/internal/observed"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// Child is one desired child of a layer.
type Child struct {
	// Kind and APIVersion are the child's type, as in the childResources rule.
	Kind, APIVersion string
	// Name is the child's name.
	Name string
	// JSON is the whole desired object, hash annotation included.
	JSON []byte
	// Hash is the hash of the desired object stamped in its annotations.
	Hash string
}

// String names the child for messages: "VitessCell vitess-zone1".
func (c Child) String() string { return c.Kind + " " + c.Name }

// hashPlaceholder stands in for the hash while the object is encoded.
const hashPlaceholder = "0000000000000000"

// Stamp builds a Child. setHash must put its argument in the object's
// annotations under observed.HashAnnotation; Stamp sets a placeholder,
// encodes the object once with marshal (which must be deterministic and
// write compact JSON), hashes that encoding and writes the hash over the
// placeholder, so the stamped bytes equal a second encoding without paying
// for one.
func Stamp(kind, apiVersion, name string, marshal func() ([]byte, error), setHash func(string)) (Child, error) {
	setHash(hashPlaceholder)
	b, err := marshal()
	if err != nil {
		return Child{}, fmt.Errorf("encode %s %s: %w", kind, name, err)
	}
	sum := sha256.Sum256(b)
	h := hex.EncodeToString(sum[:8])
	entry := []byte(`"` + observed.HashAnnotation + `":"` + hashPlaceholder + `"`)
	at := bytes.Index(b, entry)
	if at < 0 {
		return Child{}, fmt.Errorf("encode %s %s: hash annotation missing from the encoding", kind, name)
	}
	// The stamp is vtmeta's alone: were the placeholder entry found twice
	// (a label or a spec field of that key and value), the hash could land
	// in the wrong one and the child would look out of date for ever.
	if bytes.Contains(b[at+len(entry):], entry) {
		return Child{}, fmt.Errorf("encode %s %s: %w", kind, name, ErrReservedKey)
	}
	copy(b[at+len(entry)-len(hashPlaceholder)-1:], h)
	setHash(h)
	return Child{Kind: kind, APIVersion: apiVersion, Name: name, JSON: b, Hash: h}, nil
}

// ErrReservedKey means a child carries vtmeta's hash key where only the
// stamp may: the spec it was built from let a reserved key through.
var ErrReservedKey = errors.New("the key " + observed.HashAnnotation + " appears more than once in the child: it is vtmeta's, and no label, annotation or spec value may use it")

// Object is one of vtmeta's own kinds, as generated from the proto.
type Object interface {
	proto.Message
	GetApiVersion() string
	GetKind() string
	GetMetadata() *v1.ObjectMeta
}

// FromProto builds a Child from one of vtmeta's kinds; its metadata must be
// set, and gets the hash annotation.
func FromProto(o Object) (Child, error) {
	md := o.GetMetadata()
	if md == nil {
		return Child{}, errors.New("child without metadata")
	}
	return Stamp(o.GetKind(), o.GetApiVersion(), md.GetName(),
		func() ([]byte, error) { return kjson.Marshal(o) },
		func(h string) {
			if md.Annotations == nil {
				md.Annotations = map[string]string{}
			}
			md.Annotations[observed.HashAnnotation] = h
		})
}

// Held is an observed child as a desired one, exactly as Metacontroller
// last applied it: a child a layer keeps as it is for good (a Job that has
// run). Its hash is the one it carries, so a walk finds it up to date.
func Held(o *v1.Object) (Child, error) {
	b, err := observed.LastApplied(o)
	if err != nil {
		return Child{}, err
	}
	return Child{Kind: o.GetKind(), APIVersion: o.GetApiVersion(), Name: o.GetMetadata().GetName(), JSON: b, Hash: observed.Hash(o)}, nil
}

// Type is a child type a layer manages.
type Type struct {
	// Kind and APIVersion are as in the childResources rule.
	Kind, APIVersion string
}

// Key is the type's key in a hook request's children: Kind.apiVersion.
func (t Type) Key() string { return observed.TypeKey(t.Kind, t.APIVersion) }

// Keys are the keys of types, for a layer's hook.Layer.ChildTypes.
func Keys(types []Type) []string {
	out := make([]string, len(types))
	for i, t := range types {
		out[i] = t.Key()
	}
	return out
}

// Options steer a walk.
type Options struct {
	// Freeze holds every observed child as last applied and creates nothing;
	// a layer sets it when its parent's spec is invalid.
	Freeze bool
	// Owned are the child types the layer manages; observed children of these
	// types that are not desired have left the spec.
	Owned []Type
	// Retain keeps children that left the spec, held as last applied, and
	// lists them in Result.Retired; otherwise they are left out, and
	// Metacontroller deletes them.
	Retain bool
	// Ephemeral are types whose children go when they leave the spec, even
	// under Retain: they hold no data (a Job or Pod that has run).
	Ephemeral []Type
}

// Result is what a walk decided.
type Result struct {
	// Children is every child to send to Metacontroller, in order.
	Children []*v1.Raw
	// Desired is the number of desired children.
	Desired int
	// Updated counts desired children that run their desired state and have
	// finished rolling it out themselves.
	Updated int
	// Ready counts desired children that exist and are healthy.
	Ready int
	// Moving names the child advanced to its new state in this sync.
	Moving string
	// Waiting says which child the rollout waits for, and why.
	Waiting string
	// NotReady says, per desired child that is not ready, why.
	NotReady []string
	// Retired names observed children kept although they left the spec.
	Retired []string
	// Held counts children re-sent exactly as last applied.
	Held int
	// States says, per desired child in order, what the walk saw of it,
	// for layers whose counts cover only some of their children.
	States []State
}

// State is what a walk saw of one desired child.
type State struct {
	// Child is the desired child.
	Child Child
	// Exists says whether the child was observed.
	Exists bool
	// Updated says whether it runs its desired state and has finished
	// rolling it out to its own children.
	Updated bool
	// Healthy says whether it is ready to serve.
	Healthy bool
	// Observed is the child as observed, nil when it does not exist.
	Observed *v1.Object
}

// ErrCannotHold means a child had to be held but carries no trustworthy
// record of how it was last applied; the layer must answer non-200 so
// nothing changes.
var ErrCannotHold = observed.ErrCannotHold

// Walk decides, for each desired child in rollout order, whether it advances
// to its desired state or is held as last applied.
//
// A child that does not exist yet is created: there is nothing to hold. A
// child whose observed hash equals its desired hash is up to date. The first
// child that is out of date advances only when every child before it is up
// to date and healthy; every other out-of-date child is held. At most one
// child advances per walk.
func Walk(desired []Child, obs observed.Children, opts Options) (Result, error) {
	var r Result
	if opts.Freeze {
		return freeze(obs, opts)
	}
	want := map[string]bool{}
	gate := true
	for _, c := range desired {
		key := observed.TypeKey(c.Kind, c.APIVersion) + "/" + c.Name
		if want[key] {
			// Metacontroller would apply one and drop the other; whatever
			// the spec, it must not get such an answer.
			return Result{}, fmt.Errorf("%s is desired twice: two children of one parent may not share a kind and a name", c)
		}
		want[key] = true
		r.Desired++
		o := obs.Get(c.Kind, c.APIVersion, c.Name)
		if o == nil {
			r.Children = append(r.Children, &v1.Raw{Json: c.JSON})
			r.NotReady = append(r.NotReady, c.String()+": not created yet")
			r.States = append(r.States, State{Child: c})
			gate = false
			continue
		}
		healthy, why := Healthy(o)
		st := State{Child: c, Exists: true, Healthy: healthy, Observed: o}
		if healthy {
			r.Ready++
		} else {
			r.NotReady = append(r.NotReady, c.String()+": "+why)
		}
		if observed.Hash(o) == c.Hash {
			r.Children = append(r.Children, &v1.Raw{Json: c.JSON})
			st.Updated = settled(o)
			r.States = append(r.States, st)
			if st.Updated {
				r.Updated++
			}
			if gate && !healthy {
				r.Waiting = c.String() + ": " + why
			}
			gate = gate && healthy
			continue
		}
		r.States = append(r.States, st)
		if gate && r.Moving == "" {
			r.Children = append(r.Children, &v1.Raw{Json: c.JSON})
			r.Moving = c.String()
			gate = false
			continue
		}
		held, err := hold(o)
		if err != nil {
			return Result{}, err
		}
		r.Children = append(r.Children, held)
		r.Held++
		gate = false
	}
	for _, t := range opts.Owned {
		for _, name := range obs.Names(t.Kind, t.APIVersion) {
			if want[observed.TypeKey(t.Kind, t.APIVersion)+"/"+name] || !opts.Retain || slices.Contains(opts.Ephemeral, t) {
				continue
			}
			held, err := hold(obs.Get(t.Kind, t.APIVersion, name))
			if err != nil {
				return Result{}, err
			}
			r.Children = append(r.Children, held)
			r.Retired = append(r.Retired, name)
			r.Held++
		}
	}
	return r, nil
}

// freeze holds every observed child of the owned types.
func freeze(obs observed.Children, opts Options) (Result, error) {
	var r Result
	for _, t := range opts.Owned {
		for _, name := range obs.Names(t.Kind, t.APIVersion) {
			o := obs.Get(t.Kind, t.APIVersion, name)
			held, err := hold(o)
			if err != nil {
				return Result{}, err
			}
			r.Children = append(r.Children, held)
			r.Held++
			r.Desired++
			ok, why := Healthy(o)
			if ok {
				r.Ready++
			} else {
				r.NotReady = append(r.NotReady, t.Kind+" "+name+": "+why)
			}
			r.States = append(r.States, State{Child: Child{Kind: t.Kind, APIVersion: t.APIVersion, Name: name},
				Exists: true, Updated: true, Healthy: ok, Observed: o})
		}
	}
	return r, nil
}

// hold is the child exactly as Metacontroller last applied it.
func hold(o *v1.Object) (*v1.Raw, error) {
	b, err := observed.LastApplied(o)
	if err != nil {
		return nil, err
	}
	return &v1.Raw{Json: b}, nil
}

// NotReadyMessage lists up to three children that are not ready.
func (r Result) NotReadyMessage() string {
	const most = 3
	list := r.NotReady
	more := ""
	if len(list) > most {
		more = fmt.Sprintf(" and %d more", len(list)-most)
		list = list[:most]
	}
	return strings.Join(list, "; ") + more
}

// Healthy says whether an observed child is ready to serve on the spec its
// controller has seen, and if not, why.
func Healthy(o *v1.Object) (bool, string) {
	md, st := o.GetMetadata(), o.GetStatus()
	if md.GetDeletionTimestamp() != "" {
		return false, "being deleted"
	}
	switch {
	case strings.HasPrefix(o.GetApiVersion(), "vitess.io/"):
		if st.GetObservedGeneration() != md.GetGeneration() {
			return false, fmt.Sprintf("status is for generation %d, not %d yet", st.GetObservedGeneration(), md.GetGeneration())
		}
		if ok, why := conditionTrue(o, "Ready"); !ok {
			return false, why
		}
		if c := observed.Condition(o, "Updated"); c != nil && c.GetStatus() != "True" {
			return false, describe(c)
		}
		return true, ""
	}
	switch o.GetKind() {
	case "Deployment", "StatefulSet", "ReplicaSet":
		if st.GetObservedGeneration() < md.GetGeneration() {
			return false, fmt.Sprintf("controller has not seen generation %d yet", md.GetGeneration())
		}
		if st.GetReadyReplicas() < st.GetReplicas() || st.GetUpdatedReplicas() < st.GetReplicas() {
			return false, fmt.Sprintf("%d of %d Pods ready, %d updated", st.GetReadyReplicas(), st.GetReplicas(), st.GetUpdatedReplicas())
		}
		if o.GetKind() == "StatefulSet" && st.GetUpdateRevision() != "" && st.GetCurrentRevision() != st.GetUpdateRevision() {
			return false, "revision " + st.GetUpdateRevision() + " still rolling out"
		}
		return true, ""
	case "Pod":
		if st.GetPhase() == "Succeeded" {
			return true, "" // a Pod that runs once (restartPolicy OnFailure), and did
		}
		return conditionTrue(o, "Ready")
	case "Job":
		if c := observed.Condition(o, "Failed"); c != nil && c.GetStatus() == "True" {
			return false, "failed: " + describe(c)
		}
		if c := observed.Condition(o, "Complete"); (c != nil && c.GetStatus() == "True") || st.GetSucceeded() > 0 {
			return true, ""
		}
		return false, "not complete yet"
	case "PersistentVolumeClaim":
		if st.GetPhase() != "Bound" {
			return false, "claim is " + cmp.Or(st.GetPhase(), "Pending")
		}
		return true, ""
	}
	return true, ""
}

// settled says whether a child that runs its desired state has also finished
// rolling that state out to its own children.
func settled(o *v1.Object) bool {
	if !strings.HasPrefix(o.GetApiVersion(), "vitess.io/") {
		return true
	}
	if o.GetStatus().GetObservedGeneration() != o.GetMetadata().GetGeneration() {
		return false
	}
	c := observed.Condition(o, "Updated")
	return c == nil || c.GetStatus() == "True"
}

func conditionTrue(o *v1.Object, typ string) (bool, string) {
	c := observed.Condition(o, typ)
	if c == nil {
		return false, "no " + typ + " condition yet"
	}
	if c.GetStatus() != "True" {
		return false, describe(c)
	}
	return true, ""
}

func describe(c *v1.Condition) string {
	parts := []string{c.GetType() + "=" + c.GetStatus()}
	if c.GetReason() != "" {
		parts = append(parts, c.GetReason())
	}
	if c.GetMessage() != "" {
		parts = append(parts, c.GetMessage())
	}
	return strings.Join(parts, ": ")
}
