package observed

import (
	"fmt"
	"slices"
	"strings"

	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// Check refuses observed children a layer cannot read safely. Metacontroller
// sends one map per child type of its CompositeController, even an empty
// one, keyed Kind.apiVersion; each entry is the child object, keyed by its
// name (hook v1) or namespace/name (hook v2). A type missing, null or
// unknown, or an entry that is not an object of that type with that name,
// would make the layer take existing children for absent ones and move
// them all at once; so would one child listed under both keys, which
// Index could read either way from call to call. None of that can come
// from Metacontroller.
//
// types are the type keys the layer manages (TypeKey), namespace the
// parent's.
func Check(children map[string]*v1.ObjectMap, types []string, namespace string) error {
	for _, t := range types {
		if children[t] == nil {
			return fmt.Errorf("children[%q] is missing or null: Metacontroller sends a map for every child type, even an empty one; check the CompositeController's childResources", t)
		}
	}
	for _, t := range sortedKeys(children) {
		if !slices.Contains(types, t) {
			return fmt.Errorf("children[%q]: not a child type of this layer (it manages %s); check the CompositeController's childResources", t, strings.Join(types, ", "))
		}
		keyOf := map[string]string{} // the key each name was found under
		for _, key := range sortedKeys(children[t].GetObjects()) {
			o := children[t].GetObjects()[key]
			if err := checkEntry(t, key, o, namespace); err != nil {
				return fmt.Errorf("children[%q][%q]: %w", t, key, err)
			}
			name := o.GetMetadata().GetName()
			if other, ok := keyOf[name]; ok {
				return fmt.Errorf("children[%q]: %s %q is listed twice, under %q and %q: Metacontroller keys each child once, by name (hook v1) or namespace/name (v2), never both", t, o.GetKind(), name, other, key)
			}
			keyOf[name] = key
		}
	}
	return nil
}

// checkEntry checks one observed child against its keys.
func checkEntry(typ, key string, o *v1.Object, namespace string) error {
	if got := TypeKey(o.GetKind(), o.GetApiVersion()); got != typ {
		return fmt.Errorf("the object is a %s (kind %q, apiVersion %q), not a %s", got, o.GetKind(), o.GetApiVersion(), typ)
	}
	md := o.GetMetadata()
	if md.GetName() == "" {
		return fmt.Errorf("metadata.name is missing")
	}
	if md.GetNamespace() != "" && md.GetNamespace() != namespace {
		return fmt.Errorf("metadata.namespace is %q, not the parent's %q", md.GetNamespace(), namespace)
	}
	if key != md.GetName() && key != md.GetNamespace()+"/"+md.GetName() {
		return fmt.Errorf("the key is neither the child's name %q nor namespace/name", md.GetName())
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
