package golden

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/vtmeta/vtmeta/internal/hook"
	"github.com/vtmeta/vtmeta/internal/kjson"
	"github.com/vtmeta/vtmeta/internal/observed"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// Cluster is a simulated apiserver for rollout tests: it applies a hook's
// children as Metacontroller would (recording the last-applied annotation,
// bumping generation on change, deleting what is left out) and lets the test
// decide which children have become ready.
type Cluster struct {
	objs map[string]*v1.Object // by Kind.apiVersion/name
	raw  map[string]string
}

// NewCluster returns an empty simulated apiserver.
func NewCluster() *Cluster {
	return &Cluster{objs: map[string]*v1.Object{}, raw: map[string]string{}}
}

// Apply applies children and returns the keys ("Kind name") of those that
// were created or changed.
func (c *Cluster) Apply(children []*v1.Raw) ([]string, error) {
	var changed []string
	seen := map[string]bool{}
	for _, ch := range children {
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name        string            `json:"name"`
				Namespace   string            `json:"namespace"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(ch.GetJson(), &head); err != nil {
			return nil, fmt.Errorf("child is not JSON: %w", err)
		}
		key := observed.TypeKey(head.Kind, head.APIVersion) + "/" + head.Metadata.Name
		seen[key] = true
		if c.raw[key] == string(ch.GetJson()) {
			continue
		}
		o := c.objs[key]
		if o == nil {
			o = &v1.Object{ApiVersion: head.APIVersion, Kind: head.Kind, Metadata: &v1.ObjectMeta{}, Status: &v1.ObjectStatus{}}
			c.objs[key] = o
		}
		ann := map[string]string{}
		for k, v := range head.Metadata.Annotations {
			ann[k] = v
		}
		ann[observed.LastAppliedAnnotation] = string(ch.GetJson())
		// What a request carries of the child's spec, read as the
		// runtime reads a request.
		var read v1.Object
		if err := kjson.Unmarshal(ch.GetJson(), &read); err != nil {
			return nil, fmt.Errorf("child %s: %w", key, err)
		}
		o.Spec = read.GetSpec()
		o.Metadata.Name, o.Metadata.Namespace = head.Metadata.Name, head.Metadata.Namespace
		o.Metadata.Labels, o.Metadata.Annotations = head.Metadata.Labels, ann
		o.Metadata.Generation++
		if head.Kind == "Pod" {
			// Pods are recreated (the Recreate strategy): the new one has
			// not reported anything yet.
			o.Status = &v1.ObjectStatus{Phase: "Pending"}
		}
		c.raw[key] = string(ch.GetJson())
		changed = append(changed, head.Kind+" "+head.Metadata.Name)
	}
	for key := range c.objs {
		if !seen[key] {
			delete(c.objs, key)
			delete(c.raw, key)
		}
	}
	return changed, nil
}

// SetReady makes the child with the name report (or stop reporting) that it
// is ready and settled on its current generation.
func (c *Cluster) SetReady(name string, ready bool) {
	for _, o := range c.objs {
		if o.GetMetadata().GetName() != name {
			continue
		}
		st := "False"
		if ready {
			st = "True"
		}
		o.Status = &v1.ObjectStatus{
			ObservedGeneration: o.GetMetadata().GetGeneration(),
			Conditions:         []*v1.Condition{{Type: "Ready", Status: st}, {Type: "Updated", Status: "True"}, {Type: "Available", Status: st}},
			Phase:              "Bound",
		}
		if o.GetKind() == "Job" {
			// A Job is done, not ready: Complete is what a layer waits for.
			o.Status.Conditions = append(o.Status.Conditions, &v1.Condition{Type: "Complete", Status: st})
		}
	}
}

// ReadyAll makes every child ready.
func (c *Cluster) ReadyAll() {
	for _, o := range c.objs {
		c.SetReady(o.GetMetadata().GetName(), true)
	}
}

// Children returns the children as a hook request carries them (hook v2
// keys: namespace/name).
func (c *Cluster) Children() map[string]*v1.ObjectMap {
	out := map[string]*v1.ObjectMap{}
	for _, o := range c.objs {
		typ := observed.TypeKey(o.GetKind(), o.GetApiVersion())
		if out[typ] == nil {
			out[typ] = &v1.ObjectMap{Objects: map[string]*v1.Object{}}
		}
		out[typ].Objects[o.GetMetadata().GetNamespace()+"/"+o.GetMetadata().GetName()] = o
	}
	return out
}

// Raw returns the JSON last applied for the child with the kind and name.
func (c *Cluster) Raw(kind, name string) string {
	for key, o := range c.objs {
		if o.GetKind() == kind && o.GetMetadata().GetName() == name {
			return c.raw[key]
		}
	}
	return ""
}

// Clone returns an independent copy, to try an apply without keeping it.
func (c *Cluster) Clone() *Cluster {
	out := NewCluster()
	for k, o := range c.objs {
		out.objs[k] = proto.Clone(o).(*v1.Object)
		out.raw[k] = c.raw[k]
	}
	return out
}

// Loop drives a layer's sync against a simulated apiserver, as
// Metacontroller would: each Sync sends the current children, each Apply
// applies the answer.
type Loop[Req hook.Request, Resp hook.Response] struct {
	// T fails the test on errors.
	T testing.TB
	// Req is the request; its parent is what the test edits.
	Req Req
	// API is the simulated apiserver.
	API *Cluster
	// Hook is the layer's sync function.
	Hook func(context.Context, Req) (Resp, error)
}

// NewLoop starts a loop on an empty apiserver.
func NewLoop[Req hook.Request, Resp hook.Response](t testing.TB, req Req, sync func(context.Context, Req) (Resp, error)) *Loop[Req, Resp] {
	return &Loop[Req, Resp]{T: t, Req: req, API: NewCluster(), Hook: sync}
}

// Sync calls the hook with the apiserver's children.
func (l *Loop[Req, Resp]) Sync() Resp {
	l.T.Helper()
	m := l.Req.ProtoReflect()
	fd := m.Descriptor().Fields().ByName("children")
	m.Clear(fd)
	mp := m.Mutable(fd).Map()
	for k, v := range l.API.Children() {
		mp.Set(protoreflect.ValueOfString(k).MapKey(), protoreflect.ValueOfMessage(v.ProtoReflect()))
	}
	resp, err := l.Hook(Context(), l.Req)
	if err != nil {
		l.T.Fatal(err)
	}
	return resp
}

// Apply syncs and applies the answer; it returns what changed.
func (l *Loop[Req, Resp]) Apply() []string {
	l.T.Helper()
	changed, err := l.API.Apply(l.Sync().GetChildren())
	if err != nil {
		l.T.Fatal(err)
	}
	return changed
}
