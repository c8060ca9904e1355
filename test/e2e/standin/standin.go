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
// It costs the apiserver what Metacontroller costs it, at Metacontroller's
// client rate. Metacontroller reads parents and children from its
// informers' caches, so a sync reads nothing from the apiserver but the
// parent (its status update reads the live object before comparing, even
// when nothing changed); every write and that read go through one
// client-go token bucket, 5 QPS with a burst of 10 unless its
// --client-go-qps and --client-go-burst say otherwise. The stand-in takes a
// token from the same bucket (Limiter) for the same requests, and, like
// Metacontroller, syncs a parent only when it or one of its children
// changed since its last sync, or when its controller's resync period has
// passed: so a test sees the API requests vtmeta causes as time, as on a
// stock install.
//
// One stand-in serves two stores: the real apiserver (package plane) and an
// in-memory one (package sim). Where it and the real Metacontroller could
// differ (the real one adopts orphans, runs finalize hooks, retries with
// backoff, runs several workers at once and watches instead of polling),
// the real one is right; the end-to-end suite runs against it when
// METACONTROLLER_BIN is set.
package standin

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
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
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/utils/clock"

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
	"jobs": "Job", "cronjobs": "CronJob", "poddisruptionbudgets": "PodDisruptionBudget", "pods": "Pod", "persistentvolumeclaims": "PersistentVolumeClaim",
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
	// Resync is the controller's resyncPeriodSeconds: every parent is
	// synced at least this often, changed or not (0: never).
	Resync time.Duration
	// IgnoreStatusChanges is its parentResource.ignoreStatusChanges: a
	// change of the parent's status alone does not sync it.
	IgnoreStatusChanges bool
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
					ResyncPeriodSeconds float64 `json:"resyncPeriodSeconds"`
					ParentResource      struct {
						Resource
						IgnoreStatusChanges bool `json:"ignoreStatusChanges"`
					} `json:"parentResource"`
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
			c := Controller{Layer: l, Raw: o.Object, Parent: cc.Spec.ParentResource.Resource,
				Resync:              time.Duration(cc.Spec.ResyncPeriodSeconds * float64(time.Second)),
				IgnoreStatusChanges: cc.Spec.ParentResource.IgnoreStatusChanges}
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
	// Get reads one object.
	Get(ctx context.Context, r Resource, namespace, name string) (*unstructured.Unstructured, error)
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
	// Limiter is Metacontroller's client: each request the stand-in sends
	// the Store but a List (Metacontroller's caches answer those) first
	// takes a token from it. Nil is client-go's default token bucket on
	// Clock, StockQPS with a burst of StockBurst; Unlimited() turns the
	// limit off.
	Limiter flowcontrol.RateLimiter
	// Clock is the stand-in's time: for resync periods, and for Limiter
	// when that is nil. Nil is the wall clock; package sim passes a
	// VirtualClock.
	Clock flowcontrol.Clock

	mu       sync.Mutex
	errors   []string
	init     sync.Once
	synced   map[string]syncedParent
	requests map[string]int
	syncs    int
}

// Metacontroller's stock client rate: its --client-go-qps and
// --client-go-burst defaults (pkg/cmd/metacontroller/main.go, v4.17.2),
// which are client-go's defaults too.
const (
	StockQPS   = 5
	StockBurst = 10
)

// Limit is a client rate: QPS requests a second on average, Burst at once.
// A QPS below zero is no limit at all.
type Limit struct {
	QPS   float32
	Burst int
}

// Stock is Metacontroller's stock client rate.
var Stock = Limit{QPS: StockQPS, Burst: StockBurst}

// Unlimited is a client without a rate limit.
var Unlimited = Limit{QPS: -1}

// IsUnlimited says whether l puts no limit on a client.
func (l Limit) IsUnlimited() bool { return l.QPS < 0 }

// String says what the limit is, for logs and reports.
func (l Limit) String() string {
	if l.IsUnlimited() {
		return "no client rate limit"
	}
	return fmt.Sprintf("%g QPS, burst %d", l.QPS, l.Burst)
}

// Limiter returns a token bucket for l on clock c (nil: the wall clock).
func (l Limit) Limiter(c flowcontrol.Clock) flowcontrol.RateLimiter {
	if l.IsUnlimited() {
		return flowcontrol.NewFakeAlwaysRateLimiter()
	}
	if c == nil {
		c = clock.RealClock{}
	}
	return flowcontrol.NewTokenBucketRateLimiterWithClock(l.QPS, l.Burst, c)
}

// syncedParent is what a parent's last successful sync saw.
type syncedParent struct {
	request [sha256.Size]byte
	at      time.Time
}

func (m *Metacontroller) setup() {
	m.init.Do(func() {
		if m.Clock == nil {
			m.Clock = clock.RealClock{}
		}
		if m.Limiter == nil {
			m.Limiter = Stock.Limiter(m.Clock)
		}
		m.synced = map[string]syncedParent{}
		m.requests = map[string]int{}
	})
}

// Requests returns how many requests of each kind the stand-in sent the
// apiserver ("GET vitessshards", "PUT vitessshards/status", "POST pods",
// ...), each of which took a token from Limiter; Syncs how many times it
// called a sync hook.
func (m *Metacontroller) Requests() (requests map[string]int, syncs int) {
	m.setup()
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]int, len(m.requests))
	for k, v := range m.requests {
		out[k] = v
	}
	return out, m.syncs
}

// take waits for a token for one request to the apiserver, and counts it.
func (m *Metacontroller) take(ctx context.Context, verb string, r Resource) error {
	m.mu.Lock()
	m.requests[verb+" "+r.Resource]++
	m.mu.Unlock()
	if _, real := m.Clock.(clock.RealClock); real {
		return m.Limiter.Wait(ctx)
	}
	m.Limiter.Accept() // a virtual clock moves instead of sleeping
	return nil
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

// Sync runs every controller once over every parent that needs it, in the
// controllers' order: a parent is synced when it or one of its children
// changed since its last successful sync, or when its controller's resync
// period has passed. A hook that does not answer 200 is recorded and
// skipped, as Metacontroller would (and retried on the next Sync); any
// other failure (an answer Metacontroller would act on wrongly, a store
// error) is returned.
func (m *Metacontroller) Sync(ctx context.Context) error {
	m.setup()
	var errs []error
	v := &view{store: m.Store, lists: map[string][]*unstructured.Unstructured{}}
	for _, c := range m.Controllers {
		parents, err := v.list(ctx, c.Parent, "", nil)
		if err != nil {
			errs = append(errs, fmt.Errorf("list %s: %w", c.Parent.Resource, err))
			continue
		}
		for _, p := range parents {
			err := m.syncParent(ctx, v, c, p.DeepCopy())
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

// Run syncs every parent that needs it every period until ctx is done,
// recording failures (see Errors).
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

// view is the store as Metacontroller's informer caches show it during one
// Sync: each resource listed once, listed again after the stand-in wrote
// to it. Reading it costs no token.
type view struct {
	store Store
	lists map[string][]*unstructured.Unstructured
}

func (v *view) list(ctx context.Context, r Resource, namespace string, selector map[string]string) ([]*unstructured.Unstructured, error) {
	all, ok := v.lists[r.Resource]
	if !ok {
		var err error
		if all, err = v.store.List(ctx, r, "", nil); err != nil {
			return nil, err
		}
		v.lists[r.Resource] = all
	}
	var out []*unstructured.Unstructured
	for _, o := range all {
		if namespace != "" && o.GetNamespace() != namespace {
			continue
		}
		match := true
		for k, val := range selector {
			if o.GetLabels()[k] != val {
				match = false
				break
			}
		}
		if match {
			out = append(out, o)
		}
	}
	return out, nil
}

// changed forgets what the view listed of r: the stand-in wrote to it.
func (v *view) changed(r Resource) { delete(v.lists, r.Resource) }

func (m *Metacontroller) syncParent(ctx context.Context, v *view, c Controller, parent *unstructured.Unstructured) error {
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
		list, err := v.list(ctx, ch, ns, sel)
		if err != nil {
			return fmt.Errorf("list %s: %w", ch.Resource, err)
		}
		for _, o := range list {
			if ref := metav1.GetControllerOf(o); ref == nil || ref.UID != parent.GetUID() {
				continue
			}
			o = o.DeepCopy()
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
	// Metacontroller syncs a parent when an event about it or a child
	// arrives, or at its resync period.
	key := c.Layer + "/" + ns + "/" + parent.GetName()
	seen, err := fingerprint(c, parent, children, body)
	if err != nil {
		return err
	}
	now := m.Clock.Now()
	if last, ok := m.synced[key]; ok && last.request == seen && (c.Resync <= 0 || now.Sub(last.at) < c.Resync) {
		return nil
	}
	m.mu.Lock()
	m.syncs++
	m.mu.Unlock()
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
		if err := m.apply(ctx, v, rule, parent, owned[key], d); err != nil {
			return fmt.Errorf("apply %s %s: %w", d.GetKind(), d.GetName(), err)
		}
	}
	for key, o := range owned {
		if keep[key] || o.GetDeletionTimestamp() != nil {
			continue
		}
		rule := rules[o.GetKind()+"."+o.GetAPIVersion()]
		if err := m.take(ctx, "DELETE", rule); err != nil {
			return err
		}
		v.changed(rule)
		if err := m.Store.Delete(ctx, rule, ns, o.GetName()); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete %s %s: %w", o.GetKind(), o.GetName(), err)
		}
	}
	if err := m.updateStatus(ctx, v, c.Parent, parent, answer.Status); err != nil {
		return err
	}
	m.synced[key] = syncedParent{request: seen, at: now}
	return nil
}

// fingerprint identifies what a sync of parent sees: the whole request, or,
// when the controller ignores status changes, the request but for the
// parent's status and what writing it changes.
func fingerprint(c Controller, parent *unstructured.Unstructured, children map[string]any, body []byte) ([sha256.Size]byte, error) {
	if !c.IgnoreStatusChanges {
		return sha256.Sum256(body), nil
	}
	p := parent.DeepCopy()
	delete(p.Object, "status")
	p.SetResourceVersion("")
	p.SetManagedFields(nil)
	b, err := json.Marshal([]any{p.Object, children})
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	return sha256.Sum256(b), nil
}

// updateStatus writes the hook's status as Metacontroller does: it reads
// the live parent (a token, even when nothing changed), stamps the
// parent's generation as observedGeneration, and writes the status
// subresource only when the status differs.
func (m *Metacontroller) updateStatus(ctx context.Context, v *view, r Resource, parent *unstructured.Unstructured, status map[string]any) error {
	status["observedGeneration"] = parent.GetGeneration()
	if err := m.take(ctx, "GET", r); err != nil {
		return err
	}
	live, err := m.Store.Get(ctx, r, parent.GetNamespace(), parent.GetName())
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s %s: %w", r.Kind(), parent.GetName(), err)
	}
	if live.GetUID() != parent.GetUID() {
		return nil // deleted and created again meanwhile
	}
	if st, _, _ := unstructured.NestedFieldNoCopy(live.Object, "status"); equalJSON(st, status) {
		return nil
	}
	live.Object["status"] = status
	if err := m.take(ctx, "PUT", Resource{APIVersion: r.APIVersion, Resource: r.Resource + "/status"}); err != nil {
		return err
	}
	v.changed(r)
	if err := m.Store.UpdateStatus(ctx, r, live); err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
		return fmt.Errorf("update status: %w", err)
	}
	return nil
}

// apply creates a missing child, or updates an existing one by its rule
// when Metacontroller's merge of the answer would change it.
func (m *Metacontroller) apply(ctx context.Context, v *view, rule Resource, parent, current, desired *unstructured.Unstructured) error {
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
		if err := m.take(ctx, "POST", rule); err != nil {
			return err
		}
		v.changed(rule)
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
		if err := m.take(ctx, "DELETE", rule); err != nil {
			return err
		}
		v.changed(rule)
		if err := m.Store.Delete(ctx, rule, current.GetNamespace(), current.GetName()); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		return nil // created on a later sync, once it is gone
	}
	if err := m.take(ctx, "PUT", rule); err != nil {
		return err
	}
	v.changed(rule)
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
