// Package tree reads a live VitessCluster and everything under it —
// cells, keyspaces, shards, tablets, their Pods and claims, and the
// workloads the cell layer runs — through a dynamic client, and prints it
// as a tree by owner: Ready, Updated, age, and for anything not ready the
// condition that says why and since when. The vtmeta CLI's tree command
// and the demo print with it.
package tree

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// Resource is a resource the tree reads.
type Resource struct {
	schema.GroupVersionResource
	// Kind is its kind.
	Kind string
	// Detail says it is shown only with Options.All.
	Detail bool
	// Hidden says it is read only to link Pods to their Deployment.
	Hidden bool
}

func vitess(resource, kind string) Resource {
	return Resource{GroupVersionResource: schema.GroupVersionResource{Group: "vitess.io", Version: "v1alpha1", Resource: resource}, Kind: kind}
}

func core(resource, kind string) Resource {
	return Resource{GroupVersionResource: schema.GroupVersionResource{Version: "v1", Resource: resource}, Kind: kind}
}

func group(g, resource, kind string) Resource {
	return Resource{GroupVersionResource: schema.GroupVersionResource{Group: g, Version: "v1", Resource: resource}, Kind: kind}
}

// Resources are what the tree reads, by kind.
var Resources = []Resource{
	vitess("vitessclusters", "VitessCluster"), vitess("vitesscells", "VitessCell"), vitess("vitesskeyspaces", "VitessKeyspace"),
	vitess("vitessshards", "VitessShard"), vitess("vitesstablets", "VitessTablet"),
	group("apps", "statefulsets", "StatefulSet"), group("apps", "deployments", "Deployment"), group("batch", "jobs", "Job"),
	core("pods", "Pod"), core("persistentvolumeclaims", "PersistentVolumeClaim"),
	{GroupVersionResource: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}, Kind: "ReplicaSet", Hidden: true},
	{GroupVersionResource: schema.GroupVersionResource{Group: "policy", Version: "v1", Resource: "poddisruptionbudgets"}, Kind: "PodDisruptionBudget", Detail: true},
	{GroupVersionResource: schema.GroupVersionResource{Version: "v1", Resource: "services"}, Kind: "Service", Detail: true},
	{GroupVersionResource: schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, Kind: "ConfigMap", Detail: true},
}

// Node is an object and what it controls.
type Node struct {
	// Object is the object as read.
	Object *unstructured.Unstructured
	// Children are the objects it controls, by kind order then name.
	Children []*Node
}

// Options choose what Build reads.
type Options struct {
	// Namespace is where the clusters are.
	Namespace string
	// Name is the VitessCluster; "" reads every one in the namespace.
	Name string
	// All also reads Services, ConfigMaps and PodDisruptionBudgets.
	All bool
}

// Build reads the clusters and everything they control, by owner.
func Build(ctx context.Context, c dynamic.Interface, opts Options) ([]*Node, error) {
	nodes := map[types.UID]*Node{}
	var all []*Node
	rsOwner := map[types.UID]types.UID{} // ReplicaSet → its Deployment
	for _, r := range Resources {
		if r.Detail && !opts.All {
			continue
		}
		l, err := c.Resource(r.GroupVersionResource).Namespace(opts.Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			if r.Kind != "VitessCluster" && (apierrors.IsNotFound(err) || apierrors.IsForbidden(err)) {
				continue // not installed, or not ours to read: show the rest
			}
			return nil, fmt.Errorf("list %s in %s: %w", r.Resource, opts.Namespace, err)
		}
		for i := range l.Items {
			o := &l.Items[i]
			if o.GetKind() == "" {
				o.SetKind(r.Kind)
			}
			if r.Hidden {
				if ref := metav1.GetControllerOf(o); ref != nil {
					rsOwner[o.GetUID()] = ref.UID
				}
				continue
			}
			n := &Node{Object: o}
			nodes[o.GetUID()] = n
			all = append(all, n)
		}
	}
	var roots []*Node
	for _, n := range all {
		o := n.Object
		ref := metav1.GetControllerOf(o)
		if ref == nil {
			if o.GetKind() == "VitessCluster" && (opts.Name == "" || o.GetName() == opts.Name) {
				roots = append(roots, n)
			}
			continue
		}
		owner := ref.UID
		if d, ok := rsOwner[owner]; ok {
			owner = d // a Deployment's Pod: show it under the Deployment
		}
		if p := nodes[owner]; p != nil {
			p.Children = append(p.Children, n)
		}
	}
	if opts.Name != "" && len(roots) == 0 {
		return nil, fmt.Errorf("no VitessCluster %s in namespace %s", opts.Name, opts.Namespace)
	}
	order := map[string]int{}
	for i, r := range Resources {
		order[r.Kind] = i
	}
	var sortTree func([]*Node)
	sortTree = func(ns []*Node) {
		slices.SortFunc(ns, func(a, b *Node) int {
			return cmp.Or(cmp.Compare(order[a.Object.GetKind()], order[b.Object.GetKind()]), strings.Compare(a.Object.GetName(), b.Object.GetName()))
		})
		for _, n := range ns {
			sortTree(n.Children)
		}
	}
	sortTree(roots)
	return roots, nil
}

// Health is what the tree says of one object.
type Health struct {
	// Ready is "True", "False", a count such as "2/3", or "" when the kind
	// has no readiness.
	Ready string
	// OK says whether it is ready.
	OK bool
	// Updated is "True", "False", a count, or "".
	Updated string
	// Rolling says a rollout moves (Progressing=True).
	Rolling bool
	// Why is, for an object not ready, the condition that says so; for a
	// rolling one, where the rollout stands.
	Why string
	// Since is when Why became true; zero when unknown.
	Since time.Time
}

// Assess reads an object's health by its kind.
func Assess(o *unstructured.Unstructured) Health {
	h := Health{OK: true}
	if ts := o.GetDeletionTimestamp(); ts != nil {
		return Health{Ready: "False", Why: "being deleted", Since: ts.Time}
	}
	switch o.GetKind() {
	case "VitessCluster", "VitessCell", "VitessKeyspace", "VitessShard", "VitessTablet":
		ready, upd, prog := Condition(o, "Ready"), Condition(o, "Updated"), Condition(o, "Progressing")
		h.Ready, h.Updated = cmp.Or(ready.Status, "-"), cmp.Or(upd.Status, "-")
		gen, og := o.GetGeneration(), nested(o, "status", "observedGeneration")
		switch {
		case og < gen:
			h.OK, h.Why, h.Since = false, fmt.Sprintf("its layer has not answered for generation %d yet (status is for %d)", gen, og), ready.Since
		case ready.Status != "True":
			h.OK, h.Why, h.Since = false, ready.describe("Ready"), ready.Since
		case prog.Status == "True":
			h.Rolling, h.Why, h.Since = true, prog.Message, prog.Since
		case upd.Status != "" && upd.Status != "True":
			h.Why, h.Since = upd.describe("Updated"), upd.Since
		}
	case "Pod":
		ready := Condition(o, "Ready")
		phase := str(o, "status", "phase")
		h.Ready = cmp.Or(ready.Status, "False")
		if ready.Status != "True" {
			h.OK = false
			switch sched := Condition(o, "PodScheduled"); {
			case sched.Status == "False":
				h.Why, h.Since = sched.describe("PodScheduled"), sched.Since
			case ready.Status != "":
				h.Why, h.Since = ready.describe("Ready")+" (phase "+cmp.Or(phase, "Pending")+")", ready.Since
			default:
				h.Why = "phase " + cmp.Or(phase, "Pending") + ", no Ready condition yet"
			}
		}
	case "PersistentVolumeClaim":
		phase := cmp.Or(str(o, "status", "phase"), "Pending")
		h.Ready = phase
		if phase != "Bound" {
			h.OK, h.Why = false, "claim is "+phase
		}
	case "Deployment", "StatefulSet":
		want := nested(o, "spec", "replicas")
		if _, found, _ := unstructured.NestedFieldNoCopy(o.Object, "spec", "replicas"); !found {
			want = 1
		}
		ready, updated := nested(o, "status", "readyReplicas"), nested(o, "status", "updatedReplicas")
		h.Ready, h.Updated = fmt.Sprintf("%d/%d", ready, want), fmt.Sprintf("%d/%d", updated, want)
		switch {
		case nested(o, "status", "observedGeneration") < o.GetGeneration():
			h.OK, h.Why = false, fmt.Sprintf("its controller has not seen generation %d yet", o.GetGeneration())
		case ready < want:
			h.OK, h.Why = false, fmt.Sprintf("%d of %d Pods ready", ready, want)
			if c := Condition(o, "Available"); c.Status == "False" {
				h.Since = c.Since
			}
		case updated < want:
			h.Rolling, h.Why = true, fmt.Sprintf("%d of %d Pods updated", updated, want)
		}
	case "Job":
		switch failed, complete := Condition(o, "Failed"), Condition(o, "Complete"); {
		case failed.Status == "True":
			h.Ready, h.OK, h.Why, h.Since = "Failed", false, failed.describe("Failed"), failed.Since
		case complete.Status == "True" || nested(o, "status", "succeeded") > 0:
			h.Ready = "Complete"
		default:
			h.Ready, h.OK, h.Why = "Running", false, "not complete yet"
		}
	}
	return h
}

// Cond is one status condition.
type Cond struct {
	Status, Reason, Message string
	// Since is its lastTransitionTime.
	Since time.Time
}

func (c Cond) describe(typ string) string {
	if c.Status == "" {
		return "no " + typ + " condition yet"
	}
	parts := []string{typ + "=" + c.Status}
	if c.Reason != "" {
		parts = append(parts, c.Reason)
	}
	if c.Message != "" {
		parts = append(parts, c.Message)
	}
	return strings.Join(parts, ": ")
}

// Condition returns an object's condition of the type; its Status is ""
// when absent.
func Condition(o *unstructured.Unstructured, typ string) Cond {
	conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] != typ {
			continue
		}
		s := func(k string) string { v, _ := m[k].(string); return v }
		out := Cond{Status: s("status"), Reason: s("reason"), Message: s("message")}
		if t, err := time.Parse(time.RFC3339, s("lastTransitionTime")); err == nil {
			out.Since = t
		}
		return out
	}
	return Cond{}
}

func nested(o *unstructured.Unstructured, path ...string) int64 {
	v, _, _ := unstructured.NestedFieldNoCopy(o.Object, path...)
	switch x := v.(type) {
	case int64:
		return x
	case int:
		return int64(x)
	case float64:
		return int64(x)
	}
	return 0
}

func str(o *unstructured.Unstructured, path ...string) string {
	s, _, _ := unstructured.NestedString(o.Object, path...)
	return s
}
