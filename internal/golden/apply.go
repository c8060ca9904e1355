package golden

import (
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/proto"

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
			Conditions:         []*v1.Condition{{Type: "Ready", Status: st}, {Type: "Updated", Status: "True"}},
			Phase:              "Bound",
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
