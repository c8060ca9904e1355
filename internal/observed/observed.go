// Package observed indexes the children Metacontroller reports in a hook
// request, whichever hook version keyed them, and reads what vtmeta and
// Metacontroller annotate on them.
package observed

import (
	"slices"
	"strings"

	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// LastAppliedAnnotation is where Metacontroller keeps the child exactly as it
// last applied it.
const LastAppliedAnnotation = "metacontroller.k8s.io/last-applied-configuration"

// HashAnnotation is where vtmeta stamps the hash of a child's desired state.
const HashAnnotation = "vitess.io/desired-hash"

// TypeKey is Metacontroller's key of a child type: Kind.apiVersion, for
// example "Pod.v1" or "VitessShard.vitess.io/v1alpha1".
func TypeKey(kind, apiVersion string) string { return kind + "." + apiVersion }

// Children is an index of observed children by type and name.
type Children map[string]map[string]*v1.Object

// Index indexes the children of a request. Hook v1 keys objects by name and
// v2 by namespace/name; both are indexed by name, the identity of a child in
// its parent's namespace.
func Index(children map[string]*v1.ObjectMap) Children {
	out := make(Children, len(children))
	for typ, m := range children {
		byName := make(map[string]*v1.Object, len(m.GetObjects()))
		for key, obj := range m.GetObjects() {
			name := obj.GetMetadata().GetName()
			if name == "" {
				name = key[strings.LastIndexByte(key, '/')+1:]
			}
			byName[name] = obj
		}
		out[typ] = byName
	}
	return out
}

// Get returns the observed child of the type and name, or nil.
func (c Children) Get(kind, apiVersion, name string) *v1.Object {
	return c[TypeKey(kind, apiVersion)][name]
}

// Names returns the sorted names of the observed children of a type.
func (c Children) Names(kind, apiVersion string) []string {
	m := c[TypeKey(kind, apiVersion)]
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Hash returns the desired-state hash vtmeta stamped on the child.
func Hash(o *v1.Object) string {
	return o.GetMetadata().GetAnnotations()[HashAnnotation]
}

// Condition returns the child's condition of the type, or nil.
func Condition(o *v1.Object, typ string) *v1.Condition {
	for _, c := range o.GetStatus().GetConditions() {
		if c.GetType() == typ {
			return c
		}
	}
	return nil
}
