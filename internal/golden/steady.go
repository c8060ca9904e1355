package golden

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/vtmeta/vtmeta/internal/observed"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// SteadyRequest builds a hook request body in steady state, shaped like what
// Metacontroller sends from a real apiserver: every child in children
// exists, applied as is, and carries what the apiserver adds — uid,
// resourceVersion, ownerReferences, managedFields mirroring its fields, the
// last-applied annotation and a Ready, Updated status. Benchmarks use it to
// size requests realistically (a real VitessCell is about 25 KB). As
// Metacontroller does, it sends a map for each of the layer's child types
// (hook.Layer.ChildTypes), empty when no child of the type exists.
func SteadyRequest(parent map[string]any, children []*v1.Raw, types []string) ([]byte, error) {
	objs := map[string]map[string]any{}
	for _, t := range types {
		objs[t] = map[string]any{}
	}
	meta, _ := parent["metadata"].(map[string]any)
	for i, c := range children {
		var o map[string]any
		if err := json.Unmarshal(c.GetJson(), &o); err != nil {
			return nil, fmt.Errorf("child %d: %w", i, err)
		}
		md, _ := o["metadata"].(map[string]any)
		ann, _ := md["annotations"].(map[string]any)
		if ann == nil {
			ann = map[string]any{}
		}
		ann[observed.LastAppliedAnnotation] = string(c.GetJson())
		md["annotations"] = ann
		md["uid"] = fmt.Sprintf("5b0c7a52-%04x-4c1e-9d3a-%012x", i, i)
		md["resourceVersion"] = fmt.Sprint(1000 + i)
		md["generation"] = 1
		md["creationTimestamp"] = "2026-11-24T11:00:00Z"
		md["ownerReferences"] = []any{map[string]any{
			"apiVersion": parent["apiVersion"], "kind": parent["kind"], "name": meta["name"],
			"uid": meta["uid"], "controller": true, "blockOwnerDeletion": true,
		}}
		md["managedFields"] = []any{
			map[string]any{"manager": "metacontroller", "operation": "Update", "apiVersion": o["apiVersion"],
				"time": "2026-11-24T11:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": fieldsV1(o)},
			map[string]any{"manager": "metacontroller", "operation": "Update", "apiVersion": o["apiVersion"],
				"time": "2026-11-24T11:00:05Z", "fieldsType": "FieldsV1", "subresource": "status",
				"fieldsV1": map[string]any{"f:status": map[string]any{".": map[string]any{}, "f:conditions": map[string]any{}, "f:observedGeneration": map[string]any{}}}},
		}
		o["status"] = map[string]any{
			"observedGeneration": 1,
			"conditions": []any{
				map[string]any{"type": "Ready", "status": "True", "reason": "AllReady", "message": "all ready", "lastTransitionTime": "2026-11-24T11:00:05Z", "observedGeneration": 1},
				map[string]any{"type": "Updated", "status": "True", "reason": "AllUpdated", "message": "all updated", "lastTransitionTime": "2026-11-24T11:00:05Z", "observedGeneration": 1},
				map[string]any{"type": "Progressing", "status": "False", "reason": "Complete", "message": "rollout complete", "lastTransitionTime": "2026-11-24T11:00:05Z", "observedGeneration": 1},
			},
		}
		typ := observed.TypeKey(fmt.Sprint(o["kind"]), fmt.Sprint(o["apiVersion"]))
		if objs[typ] == nil {
			objs[typ] = map[string]any{}
		}
		objs[typ][fmt.Sprint(md["name"])] = o
	}
	return json.Marshal(map[string]any{
		"controller": map[string]any{"apiVersion": "metacontroller.k8s.io/v1alpha1", "kind": "CompositeController",
			"metadata": map[string]any{"name": "vtmeta", "uid": "c0ffee00-0000-4000-8000-000000000000", "generation": 1}},
		"parent":     parent,
		"children":   objs,
		"related":    map[string]any{},
		"finalizing": false,
	})
}

// fieldsV1 mirrors an object's fields the way server-side apply records
// them in managedFields.
func fieldsV1(v any) map[string]any {
	out := map[string]any{}
	m, ok := v.(map[string]any)
	if !ok {
		return out
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "apiVersion" || k == "kind" || k == "status" {
			continue
		}
		child := fieldsV1(m[k])
		if len(child) > 0 {
			child["."] = map[string]any{}
		}
		out["f:"+k] = child
	}
	return out
}
