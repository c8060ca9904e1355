package standin

import (
	"fmt"
	"reflect"

	"k8s.io/apimachinery/pkg/runtime"
)

// mergeKeys are the field names by which Metacontroller's apply treats a
// list of objects as a map, in its documented order of precedence (its
// docs, api/apply.md: "conventional merge keys").
var mergeKeys = []string{"containerPort", "port", "mountPath", "name", "uid", "ip", "path"}

// Merge is the object Metacontroller's apply writes when a child's hook
// answer (desired) differs from what it applied last time (lastApplied) on
// the object as stored (observed), as its documentation describes the
// apply: fields in desired overwrite the stored ones, fields dropped from
// desired since lastApplied are removed, other stored fields (defaults,
// fields other controllers set) are kept. Lists whose items are all
// objects sharing a conventional merge key are merged item by item; every
// other list is replaced whole by desired's. observed is not modified.
func Merge(observed, lastApplied, desired map[string]any) map[string]any {
	out, _ := mergeValue(runtime.DeepCopyJSON(observed), lastApplied, desired).(map[string]any)
	return out
}

func mergeValue(observed, lastApplied, desired any) any {
	switch d := desired.(type) {
	case map[string]any:
		o, ok := observed.(map[string]any)
		if !ok {
			return runtime.DeepCopyJSONValue(d)
		}
		l, _ := lastApplied.(map[string]any)
		return mergeMap(o, l, d)
	case []any:
		o, ok := observed.([]any)
		if !ok {
			return runtime.DeepCopyJSONValue(d)
		}
		l, _ := lastApplied.([]any)
		if key := listKey(o, l, d); key != "" {
			return mergeList(key, o, l, d)
		}
		return runtime.DeepCopyJSONValue(d)
	default:
		return runtime.DeepCopyJSONValue(desired)
	}
}

// mergeMap applies the change from lastApplied to desired onto observed.
func mergeMap(observed, lastApplied, desired map[string]any) map[string]any {
	for k := range lastApplied {
		if _, ok := desired[k]; !ok {
			delete(observed, k)
		}
	}
	for k, v := range desired {
		observed[k] = mergeValue(observed[k], lastApplied[k], v)
	}
	return observed
}

// listKey is the merge key every item of every list has, "" when the lists
// are not lists of objects sharing one.
func listKey(lists ...[]any) string {
	var common map[string]bool
	for _, l := range lists {
		for _, item := range l {
			obj, ok := item.(map[string]any)
			if !ok {
				return ""
			}
			if common == nil {
				common = map[string]bool{}
				for k := range obj {
					common[k] = true
				}
				continue
			}
			for k := range common {
				if _, ok := obj[k]; !ok {
					delete(common, k)
				}
			}
		}
	}
	for _, k := range mergeKeys {
		if common[k] {
			return k
		}
	}
	return ""
}

// mergeList merges lists of objects as maps by key: stored items first in
// their order, then new ones in desired's.
func mergeList(key string, observed, lastApplied, desired []any) []any {
	byKey := func(l []any) map[string]any {
		m := make(map[string]any, len(l))
		for _, item := range l {
			m[fmt.Sprint(item.(map[string]any)[key])] = item
		}
		return m
	}
	merged := mergeMap(byKey(observed), byKey(lastApplied), byKey(desired))
	out := make([]any, 0, len(merged))
	seen := map[string]bool{}
	for _, l := range [][]any{observed, desired} {
		for _, item := range l {
			k := fmt.Sprint(item.(map[string]any)[key])
			if v, ok := merged[k]; ok && !seen[k] {
				out = append(out, v)
				seen[k] = true
			}
		}
	}
	return out
}

// systemFields are the metadata fields the apiserver owns; a child is never
// updated for them.
var systemFields = []string{"uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
	"deletionGracePeriodSeconds", "managedFields", "selfLink", "ownerReferences", "finalizers"}

// update is the object Metacontroller would write over the observed child
// to apply desired (recorded as last applied, in JSON, under last): the
// merge, keeping the observed status and system metadata. It is nil when
// the merge changes nothing, so the child is left alone.
func update(observed, lastApplied, desired map[string]any, last string) map[string]any {
	merged := Merge(observed, lastApplied, desired)
	if st, ok := observed["status"]; ok {
		merged["status"] = runtime.DeepCopyJSONValue(st)
	} else {
		delete(merged, "status")
	}
	md, _ := merged["metadata"].(map[string]any)
	obsMD, _ := observed["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		merged["metadata"] = md
	}
	for _, f := range systemFields {
		if v, ok := obsMD[f]; ok {
			md[f] = runtime.DeepCopyJSONValue(v)
		} else {
			delete(md, f)
		}
	}
	if reflect.DeepEqual(merged, observed) {
		return nil
	}
	ann, _ := md["annotations"].(map[string]any)
	if ann == nil {
		ann = map[string]any{}
		md["annotations"] = ann
	}
	ann[LastApplied] = last
	return merged
}
