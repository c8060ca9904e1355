// Package standin is a minimal stand-in for Metacontroller, test and demo
// code that is never shipped. It plays the documented role of a
// CompositeController: it claims a parent's children (objects matching the
// parent's selector whose controller owner reference is the parent), POSTs
// the sync hook with the v2 request shape, creates missing children with an
// owner reference and the last-applied annotation, updates changed ones by
// their update strategy (InPlace replaces, Recreate deletes and creates once
// the old one is gone, OnDelete leaves them), deletes the children a hook
// leaves out, and writes the returned status through the status
// subresource. A hook that answers anything but 200 changes nothing. It
// decides whether a child changed as Metacontroller's apply does: by
// merging the answer into the stored object (see Merge), so a child written
// differently from how the apiserver stores it is rewritten here too.
//
// One stand-in serves two stores: the real apiserver (package plane) and an
// in-memory one (package sim). Where it and the real Metacontroller could
// differ (the real one adopts orphans, runs finalize hooks, retries with
// backoff and watches instead of polling), the real one is right; the
// end-to-end suite runs against it when METACONTROLLER_BIN is set.
package standin

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kubejson "k8s.io/apimachinery/pkg/util/json"

	"github.com/vtmeta/vtmeta/test/e2e/manifests"
)

// LastApplied is where Metacontroller records what it applied.
const LastApplied = "metacontroller.k8s.io/last-applied-configuration"

// Kinds maps the resources vtmeta's CompositeControllers name to their
// kinds (the stand-in has no discovery).
var Kinds = map[string]string{
	"vitessclusters": "VitessCluster", "vitesscells": "VitessCell", "vitesskeyspaces": "VitessKeyspace",
	"vitessshards": "VitessShard", "vitesstablets": "VitessTablet",
	"statefulsets": "StatefulSet", "deployments": "Deployment", "services": "Service", "configmaps": "ConfigMap",
	"jobs": "Job", "poddisruptionbudgets": "PodDisruptionBudget", "pods": "Pod", "persistentvolumeclaims": "PersistentVolumeClaim",
}

// Update strategies of a child resource.
const (
	InPlace  = "InPlace"
	Recreate = "Recreate"
	OnDelete = "OnDelete"
)

// Resource is a parent or child resource of a CompositeController, with
// the child's update strategy.
type Resource struct {
	APIVersion string `json:"apiVersion"`
	Resource   string `json:"resource"`
	Method     string `json:"-"`
}

// Kind is the resource's kind.
func (r Resource) Kind() string { return Kinds[r.Resource] }

// Type is "Kind.apiVersion", the key of a child group in a hook request.
func (r Resource) Type() string { return r.Kind() + "." + r.APIVersion }

// GVR is the resource for a dynamic client.
func (r Resource) GVR() schema.GroupVersionResource {
	gv, _ := schema.ParseGroupVersion(r.APIVersion)
	return gv.WithResource(r.Resource)
}

// Controller is one CompositeController as deploy/ installs it.
type Controller struct {
	// Layer is the layer whose service serves its hooks.
	Layer string
	// Raw is the CompositeController object, sent as "controller".
	Raw map[string]any
	// Parent is the parent resource; Children are the child rules.
	Parent   Resource
	Children []Resource
}

// Load renders each layer's overlay in deploy/ and returns its
// CompositeController, parent layers first.
func Load() ([]Controller, error) {
	var out []Controller
	for _, l := range manifests.Layers {
		objs, err := manifests.Render("overlays/" + l)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if o.GetKind() != "CompositeController" {
				continue
			}
			var cc struct {
				Spec struct {
					ParentResource Resource `json:"parentResource"`
					ChildResources []struct {
						Resource
						UpdateStrategy struct{ Method string } `json:"updateStrategy"`
					} `json:"childResources"`
				} `json:"spec"`
			}
			b, err := json.Marshal(o.Object)
			if err != nil {
				return nil, err
			}
			if err := json.Unmarshal(b, &cc); err != nil {
				return nil, fmt.Errorf("CompositeController %s: %w", o.GetName(), err)
			}
			c := Controller{Layer: l, Raw: o.Object, Parent: cc.Spec.ParentResource}
			for _, r := range cc.Spec.ChildResources {
				ch := r.Resource
				ch.Method = cmp.Or(r.UpdateStrategy.Method, OnDelete) // Metacontroller's default
				if ch.Kind() == "" {
					return nil, fmt.Errorf("CompositeController %s: the stand-in does not know the kind of %q", o.GetName(), ch.Resource)
				}
				c.Children = append(c.Children, ch)
			}
			out = append(out, c)
		}
	}
	if len(out) != len(manifests.Layers) {
		return nil, fmt.Errorf("found %d CompositeControllers in deploy/overlays, want one per layer (%d)", len(out), len(manifests.Layers))
	}
	return out, nil
}

// Store is the apiserver as the stand-in sees it. Its errors follow the
// apiserver's (NotFound, AlreadyExists, Conflict from k8s.io/apimachinery).
type Store interface {
	// List returns the objects of a resource in a namespace ("" for every
	// namespace) whose labels match selector.
	List(ctx context.Context, r Resource, namespace string, selector map[string]string) ([]*unstructured.Unstructured, error)
	// Create, Update and Delete write an object; UpdateStatus writes its
	// status subresource.
	Create(ctx context.Context, r Resource, o *unstructured.Unstructured) error
	Update(ctx context.Context, r Resource, o *unstructured.Unstructured) error
	Delete(ctx context.Context, r Resource, namespace, name string) error
	UpdateStatus(ctx context.Context, r Resource, o *unstructured.Unstructured) error
}

// Hook answers a sync request with an HTTP status and a body.
type Hook func(ctx context.Context, request []byte) (int, []byte, error)

// URL is a hook served at a URL.
func URL(url string) Hook {
	client := &http.Client{Timeout: 10 * time.Second}
	return func(ctx context.Context, request []byte) (int, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(request))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		return resp.StatusCode, out, err
	}
}

// Handler is a hook served in process.
func Handler(h http.Handler) Hook {
	return func(ctx context.Context, request []byte) (int, []byte, error) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/sync", bytes.NewReader(request))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.Bytes(), nil
	}
}

// Metacontroller runs Controllers against a Store.
type Metacontroller struct {
	Store       Store
	Controllers []Controller
	// Hooks serve each controller's sync hook, by layer.
	Hooks map[string]Hook
	// Log, when set, receives every failure as it happens.
	Log func(format string, args ...any)

	mu     sync.Mutex
	errors []string
}

// HookError is a hook that did not answer 200: Metacontroller changes
// nothing and retries.
type HookError struct {
	// Parent names the parent whose sync failed.
	Parent string
	// Code is the HTTP status, 0 when the hook was not reached.
	Code int
	// Body is the answer, or the error reaching the hook.
	Body string
}

func (e *HookError) Error() string {
	if e.Code == 0 {
		return fmt.Sprintf("hook for %s unreachable: %s", e.Parent, e.Body)
	}
	return fmt.Sprintf("hook for %s answered %d: %s", e.Parent, e.Code, e.Body)
}

func (m *Metacontroller) fail(err error) {
	m.mu.Lock()
	m.errors = append(m.errors, err.Error())
	if len(m.errors) > 200 {
		m.errors = m.errors[len(m.errors)-200:]
	}
	m.mu.Unlock()
	if m.Log != nil {
		m.Log("%v", err)
	}
}

// Errors returns the last failures, oldest first, for test messages.
func (m *Metacontroller) Errors(n int) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.errors[max(0, len(m.errors)-n):]...)
}

// Sync runs every controller once over every parent, in the controllers'
// order. A hook that does not answer 200 is recorded and skipped, as
// Metacontroller would; any other failure (an answer Metacontroller would
// act on wrongly, a store error) is returned.
func (m *Metacontroller) Sync(ctx context.Context) error {
	var errs []error
	for _, c := range m.Controllers {
		parents, err := m.Store.List(ctx, c.Parent, "", nil)
		if err != nil {
			errs = append(errs, fmt.Errorf("list %s: %w", c.Parent.Resource, err))
			continue
		}
		for _, p := range parents {
			err := m.syncParent(ctx, c, p)
			var hookErr *HookError
			switch {
			case err == nil:
			case errors.As(err, &hookErr):
				m.fail(err)
			default:
				errs = append(errs, fmt.Errorf("sync %s %s/%s: %w", c.Parent.Kind(), p.GetNamespace(), p.GetName(), err))
			}
		}
	}
	return errors.Join(errs...)
}

// Run syncs every parent every period until ctx is done, recording
// failures (see Errors).
func (m *Metacontroller) Run(ctx context.Context, every time.Duration) {
	for ctx.Err() == nil {
		if err := m.Sync(ctx); err != nil && ctx.Err() == nil {
			m.fail(err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(every):
		}
	}
}

func (m *Metacontroller) syncParent(ctx context.Context, c Controller, parent *unstructured.Unstructured) error {
	hook := m.Hooks[c.Layer]
	if hook == nil {
		return fmt.Errorf("no hook for layer %s", c.Layer)
	}
	ns := parent.GetNamespace()
	sel, _, _ := unstructured.NestedStringMap(parent.Object, "spec", "selector", "matchLabels")
	children := map[string]any{}
	owned := map[string]*unstructured.Unstructured{}
	rules := map[string]Resource{}
	for _, ch := range c.Children {
		rules[ch.Type()] = ch
		group := map[string]any{}
		children[ch.Type()] = group
		list, err := m.Store.List(ctx, ch, ns, sel)
		if err != nil {
			return fmt.Errorf("list %s: %w", ch.Resource, err)
		}
		for _, o := range list {
			if ref := metav1.GetControllerOf(o); ref == nil || ref.UID != parent.GetUID() {
				continue
			}
			o.SetAPIVersion(ch.APIVersion)
			o.SetKind(ch.Kind())
			group[ns+"/"+o.GetName()] = o.Object
			owned[ch.Type()+"/"+o.GetName()] = o
		}
	}
	body, err := json.Marshal(map[string]any{"controller": c.Raw, "parent": parent.Object, "children": children, "related": map[string]any{}, "finalizing": false})
	if err != nil {
		return err
	}
	code, out, err := hook(ctx, body)
	if err != nil {
		return &HookError{Parent: parent.GetKind() + " " + ns + "/" + parent.GetName(), Body: err.Error()}
	}
	if code != http.StatusOK {
		return &HookError{Parent: parent.GetKind() + " " + ns + "/" + parent.GetName(), Code: code, Body: strings.TrimSpace(string(out))}
	}
	var answer struct {
		Status   map[string]any   `json:"status"`
		Children []map[string]any `json:"children"`
	}
	// Numbers decode as Kubernetes clients decode them (int64 when whole),
	// so the answer compares equal to what the apiserver returns.
	if err := kubejson.Unmarshal(out, &answer); err != nil {
		return fmt.Errorf("hook answer: %w", err)
	}
	if answer.Status == nil || answer.Children == nil {
		return errors.New("hook sent no status or no children: Metacontroller would wipe them")
	}
	keep := map[string]bool{}
	for _, desired := range answer.Children {
		d := &unstructured.Unstructured{Object: desired}
		rule, ok := rules[d.GetKind()+"."+d.GetAPIVersion()]
		if !ok {
			return fmt.Errorf("hook returned a %s.%s, which its controller does not manage", d.GetKind(), d.GetAPIVersion())
		}
		for k, v := range sel {
			if d.GetLabels()[k] != v {
				return fmt.Errorf("hook returned %s %s, whose labels do not match the parent's selector (%s=%s)", d.GetKind(), d.GetName(), k, v)
			}
		}
		key := rule.Type() + "/" + d.GetName()
		keep[key] = true
		if err := m.apply(ctx, rule, parent, owned[key], d); err != nil {
			return fmt.Errorf("apply %s %s: %w", d.GetKind(), d.GetName(), err)
		}
	}
	for key, o := range owned {
		if keep[key] || o.GetDeletionTimestamp() != nil {
			continue
		}
		if err := m.Store.Delete(ctx, rules[o.GetKind()+"."+o.GetAPIVersion()], ns, o.GetName()); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete %s %s: %w", o.GetKind(), o.GetName(), err)
		}
	}
	if st, _, _ := unstructured.NestedMap(parent.Object, "status"); !equalJSON(st, answer.Status) {
		parent.Object["status"] = answer.Status
		if err := m.Store.UpdateStatus(ctx, c.Parent, parent); err != nil && !apierrors.IsConflict(err) {
			return fmt.Errorf("update status: %w", err)
		}
	}
	return nil
}

// apply creates a missing child, or updates an existing one by its rule
// when Metacontroller's merge of the answer would change it.
func (m *Metacontroller) apply(ctx context.Context, rule Resource, parent, current, desired *unstructured.Unstructured) error {
	delete(desired.Object, "status")
	desired.SetNamespace(parent.GetNamespace())
	last, err := json.Marshal(desired.Object)
	if err != nil {
		return err
	}
	if current == nil {
		ann := desired.GetAnnotations()
		if ann == nil {
			ann = map[string]string{}
		}
		ann[LastApplied] = string(last)
		desired.SetAnnotations(ann)
		t := true
		desired.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: parent.GetAPIVersion(), Kind: parent.GetKind(),
			Name: parent.GetName(), UID: parent.GetUID(), Controller: &t, BlockOwnerDeletion: &t}})
		err := m.Store.Create(ctx, rule, desired)
		if apierrors.IsAlreadyExists(err) {
			// Not ours, or the one Recreate deleted is still going: the
			// real Metacontroller would adopt an orphan or retry later.
			return fmt.Errorf("exists and is not a child of %s %s: %w", parent.GetKind(), parent.GetName(), err)
		}
		return err
	}
	if rule.Method == OnDelete || current.GetDeletionTimestamp() != nil {
		return nil
	}
	var lastApplied map[string]any
	if s, ok := current.GetAnnotations()[LastApplied]; ok {
		_ = kubejson.Unmarshal([]byte(s), &lastApplied) // unreadable: merge as if nothing was applied
	}
	obj := update(current.Object, lastApplied, desired.Object, string(last))
	if obj == nil {
		return nil
	}
	if rule.Method == Recreate {
		if err := m.Store.Delete(ctx, rule, current.GetNamespace(), current.GetName()); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		return nil // created on a later sync, once it is gone
	}
	err = m.Store.Update(ctx, rule, &unstructured.Unstructured{Object: obj})
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
