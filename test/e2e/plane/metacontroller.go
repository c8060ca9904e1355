package plane

// This file is a minimal stand-in for Metacontroller, test code that is
// never shipped. It plays the documented role of a CompositeController
// against the real apiserver: it claims children by controller owner
// reference, POSTs the sync hook (hook v2 request shape), creates missing
// children with an owner reference and the last-applied annotation,
// updates changed ones by their update strategy (InPlace replaces, Recreate
// deletes and creates, OnDelete leaves them), deletes children the hook
// leaves out, and writes status through the status subresource. Where it
// and the real Metacontroller could differ (the real one three-way-merges
// and adopts orphans), the real one is right.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// LastApplied is where Metacontroller records what it applied.
const LastApplied = "metacontroller.k8s.io/last-applied-configuration"

// Kinds maps the resources vtmeta's CompositeControllers name to kinds.
var Kinds = map[string]string{
	"vitessclusters": "VitessCluster", "vitesscells": "VitessCell", "vitesskeyspaces": "VitessKeyspace",
	"vitessshards": "VitessShard", "vitesstablets": "VitessTablet",
	"statefulsets": "StatefulSet", "deployments": "Deployment", "services": "Service", "configmaps": "ConfigMap",
	"jobs": "Job", "poddisruptionbudgets": "PodDisruptionBudget", "pods": "Pod", "persistentvolumeclaims": "PersistentVolumeClaim",
}

// Child is one child rule of a CompositeController.
type Child struct {
	APIVersion, Resource, Method string
}

// Composite is one CompositeController as the stand-in runs it.
type Composite struct {
	// Raw is the CompositeController object, sent as "controller".
	Raw map[string]any
	// ParentAPIVersion and ParentResource name the parent type.
	ParentAPIVersion, ParentResource string
	// Children are its child rules.
	Children []Child
	// Hook is the sync hook's URL.
	Hook string
}

// Metacontroller runs Composites against an apiserver.
type Metacontroller struct {
	Client      dynamic.Interface
	Controllers []Composite
	// Errors collects hook and apply failures, for test messages.
	mu     sync.Mutex
	Errors []string
}

func gvr(apiVersion, resource string) schema.GroupVersionResource {
	gv, _ := schema.ParseGroupVersion(apiVersion)
	return gv.WithResource(resource)
}

func (m *Metacontroller) fail(format string, args ...any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.Errors = append(m.Errors, fmt.Sprintf(format, args...))
	if len(m.Errors) > 200 {
		m.Errors = m.Errors[len(m.Errors)-200:]
	}
}

// Run syncs every parent of every controller until ctx is done.
func (m *Metacontroller) Run(ctx context.Context, every time.Duration) {
	for ctx.Err() == nil {
		for _, c := range m.Controllers {
			list, err := m.Client.Resource(gvr(c.ParentAPIVersion, c.ParentResource)).List(ctx, metav1.ListOptions{})
			if err != nil {
				m.fail("list %s: %v", c.ParentResource, err)
				continue
			}
			for i := range list.Items {
				if err := m.sync(ctx, c, &list.Items[i]); err != nil && ctx.Err() == nil {
					m.fail("sync %s %s/%s: %v", c.ParentResource, list.Items[i].GetNamespace(), list.Items[i].GetName(), err)
				}
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(every):
		}
	}
}

func (m *Metacontroller) sync(ctx context.Context, c Composite, parent *unstructured.Unstructured) error {
	ns := parent.GetNamespace()
	sel, _, _ := unstructured.NestedStringMap(parent.Object, "spec", "selector", "matchLabels")
	children := map[string]any{}
	owned := map[string]*unstructured.Unstructured{}
	for _, ch := range c.Children {
		kind := Kinds[ch.Resource]
		group := map[string]any{}
		children[kind+"."+ch.APIVersion] = group
		list, err := m.Client.Resource(gvr(ch.APIVersion, ch.Resource)).Namespace(ns).List(ctx,
			metav1.ListOptions{LabelSelector: labels.SelectorFromSet(sel).String()})
		if err != nil {
			return fmt.Errorf("list %s: %w", ch.Resource, err)
		}
		for i := range list.Items {
			o := &list.Items[i]
			if ref := metav1.GetControllerOf(o); ref == nil || ref.UID != parent.GetUID() {
				continue
			}
			o.SetAPIVersion(ch.APIVersion)
			o.SetKind(kind)
			group[ns+"/"+o.GetName()] = o.Object
			owned[kind+"/"+o.GetName()] = o
		}
	}
	body, err := json.Marshal(map[string]any{"controller": c.Raw, "parent": parent.Object, "children": children, "related": map[string]any{}, "finalizing": false})
	if err != nil {
		return err
	}
	resp, err := http.Post(c.Hook, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("hook answered %d: %s", resp.StatusCode, strings.TrimSpace(string(out)))
	}
	var answer struct {
		Status   map[string]any   `json:"status"`
		Children []map[string]any `json:"children"`
	}
	if err := json.Unmarshal(out, &answer); err != nil {
		return fmt.Errorf("hook answer: %w", err)
	}
	if answer.Status == nil || answer.Children == nil {
		return fmt.Errorf("hook sent no status or no children")
	}
	strategy := map[string]Child{}
	for _, ch := range c.Children {
		strategy[Kinds[ch.Resource]+"."+ch.APIVersion] = ch
	}
	keep := map[string]bool{}
	for _, desired := range answer.Children {
		d := &unstructured.Unstructured{Object: desired}
		rule, ok := strategy[d.GetKind()+"."+d.GetAPIVersion()]
		if !ok {
			return fmt.Errorf("hook returned a %s.%s its controller does not manage", d.GetKind(), d.GetAPIVersion())
		}
		keep[d.GetKind()+"/"+d.GetName()] = true
		if err := m.apply(ctx, rule, parent, owned[d.GetKind()+"/"+d.GetName()], d); err != nil {
			return fmt.Errorf("apply %s %s: %w", d.GetKind(), d.GetName(), err)
		}
	}
	for key, o := range owned {
		if keep[key] {
			continue
		}
		rule := strategy[o.GetKind()+"."+o.GetAPIVersion()]
		bg := metav1.DeletePropagationBackground
		if err := m.Client.Resource(gvr(rule.APIVersion, rule.Resource)).Namespace(ns).Delete(ctx, o.GetName(),
			metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	if st, _, _ := unstructured.NestedMap(parent.Object, "status"); !equalJSON(st, answer.Status) {
		parent.Object["status"] = answer.Status
		if _, err := m.Client.Resource(gvr(c.ParentAPIVersion, c.ParentResource)).Namespace(ns).UpdateStatus(ctx, parent, metav1.UpdateOptions{}); err != nil && !apierrors.IsConflict(err) {
			return fmt.Errorf("update status: %w", err)
		}
	}
	return nil
}

func (m *Metacontroller) apply(ctx context.Context, rule Child, parent, current, desired *unstructured.Unstructured) error {
	client := m.Client.Resource(gvr(rule.APIVersion, rule.Resource)).Namespace(parent.GetNamespace())
	last, err := json.Marshal(desired.Object)
	if err != nil {
		return err
	}
	ann := desired.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[LastApplied] = string(last)
	desired.SetAnnotations(ann)
	desired.SetNamespace(parent.GetNamespace())
	if current == nil {
		t := true
		desired.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: parent.GetAPIVersion(), Kind: parent.GetKind(),
			Name: parent.GetName(), UID: parent.GetUID(), Controller: &t, BlockOwnerDeletion: &t}})
		_, err := client.Create(ctx, desired, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil // not ours (yet): the real Metacontroller would adopt it
		}
		return err
	}
	if current.GetAnnotations()[LastApplied] == string(last) || rule.Method == "OnDelete" {
		return nil
	}
	if rule.Method == "Recreate" {
		if err := client.Delete(ctx, current.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		return nil // created on a later sync, once it is gone
	}
	desired.SetOwnerReferences(current.GetOwnerReferences())
	desired.SetResourceVersion(current.GetResourceVersion())
	desired.SetUID(current.GetUID())
	if st, ok := current.Object["status"]; ok {
		desired.Object["status"] = st
	}
	_, err = client.Update(ctx, desired, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		return nil // retried on the next sync
	}
	return err
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
