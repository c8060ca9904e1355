// Package plan says what an edit of a VitessCluster will do: which objects
// the layers create, change, retire or delete, field by field, and the
// rollout they perform, step by step in their order, with the steps that
// touch data marked.
package plan

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Diff is one field that differs.
type Diff struct {
	// Path is the field: spec.template.spec.containers[vttablet].image.
	// Items of a list whose every item has a name are named by it.
	Path string `json:"path"`
	// Old and New are its values; nil when absent.
	Old any `json:"old,omitempty"`
	New any `json:"new,omitempty"`
}

// String is "path: old → new".
func (d Diff) String() string {
	return fmt.Sprintf("%s: %s → %s", d.Path, show(d.Old), show(d.New))
}

// ignored are fields that change with every change and say nothing.
var ignored = []string{"metadata.annotations[vitess.io/desired-hash]"}

// Compare returns every field that differs between two JSON values, by
// path, leaves only: a map or list appears whole only when it is added or
// removed.
func Compare(old, new any) []Diff {
	var out []Diff
	walk("", old, new, &out)
	out = slices.DeleteFunc(out, func(d Diff) bool { return slices.Contains(ignored, d.Path) })
	slices.SortStableFunc(out, func(a, b Diff) int { return strings.Compare(a.Path, b.Path) })
	return out
}

func walk(path string, a, b any, out *[]Diff) {
	am, aIsMap := a.(map[string]any)
	bm, bIsMap := b.(map[string]any)
	if aIsMap && bIsMap {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		for _, k := range sortedKeys(keys) {
			walk(join(path, k), am[k], bm[k], out)
		}
		return
	}
	al, aIsList := a.([]any)
	bl, bIsList := b.([]any)
	if aIsList && bIsList {
		if named(al) && named(bl) {
			byName := func(l []any) map[string]any {
				m := map[string]any{}
				for _, it := range l {
					m[it.(map[string]any)["name"].(string)] = it
				}
				return m
			}
			an, bn := byName(al), byName(bl)
			keys := map[string]bool{}
			for k := range an {
				keys[k] = true
			}
			for k := range bn {
				keys[k] = true
			}
			for _, k := range sortedKeys(keys) {
				walk(path+"["+k+"]", an[k], bn[k], out)
			}
			return
		}
		for i := range max(len(al), len(bl)) {
			var x, y any
			if i < len(al) {
				x = al[i]
			}
			if i < len(bl) {
				y = bl[i]
			}
			walk(fmt.Sprintf("%s[%d]", path, i), x, y, out)
		}
		return
	}
	// A large object or list added or removed whole: its fields, one by
	// one, read better than its JSON cut short.
	if a == nil && big(b) || b == nil && big(a) {
		walk(path, empty(a, b), empty(b, a), out)
		return
	}
	if !equal(a, b) {
		*out = append(*out, Diff{Path: path, Old: a, New: b})
	}
}

// big says whether v is an object or list too long to show whole.
func big(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		b, _ := json.Marshal(v)
		return len(b) > 60
	}
	return false
}

// empty is v, or when v is nil an empty value of other's shape whose
// entries are all absent.
func empty(v, other any) any {
	if v != nil {
		return v
	}
	switch other.(type) {
	case map[string]any:
		return map[string]any{}
	case []any:
		return []any{}
	}
	return nil
}

// named says whether every item of a list is an object with a name.
func named(l []any) bool {
	if len(l) == 0 {
		return false
	}
	for _, it := range l {
		m, ok := it.(map[string]any)
		if !ok {
			return false
		}
		if _, ok := m["name"].(string); !ok {
			return false
		}
	}
	return true
}

func join(path, key string) string {
	if strings.ContainsAny(key, "./[]") {
		return path + "[" + key + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func equal(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// show writes a value briefly: strings bare, objects and lists as JSON cut
// at 60 characters, an absent value as (none).
func show(v any) string {
	switch x := v.(type) {
	case nil:
		return "(none)"
	case string:
		if x == "" || strings.TrimSpace(x) != x {
			return fmt.Sprintf("%q", x)
		}
		return x
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 60 {
		return string(b[:57]) + "..."
	}
	return string(b)
}
