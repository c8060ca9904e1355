package plane

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/vtmeta/vtmeta/test/e2e/manifests"
)

// TestOriginalExampleOnARealControlPlane applies the original example to a
// real kube-apiserver with kwok nodes, the five services and the
// Metacontroller stand-in, and checks that it comes up Ready with every
// expected object, that deletion protection holds, that kubectl's printer
// columns and explain text are there, and that kubectl vtmeta tree shows
// a stuck Pod.
func TestOriginalExampleOnARealControlPlane(t *testing.T) {
	if os.Getenv("VTMETA_E2E") == "" {
		t.Skip("set VTMETA_E2E=1 (make test-e2e) to run against a real control plane")
	}
	// The binaries first: a cold build takes long on a busy machine, and
	// the scenario's bound is for the scenario.
	if err := Build(t.Logf); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	dir := t.TempDir()
	e, err := Up(ctx, Options{Dir: dir, Metacontroller: os.Getenv("METACONTROLLER_BIN"), Log: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	defer keepLogs(t, dir)
	t.Logf("Metacontroller: %s", e.Driver)
	c := e.Client

	vc, err := Decode(mustRead(t, filepath.Join(manifests.Repo(), "deploy", "examples", "original", "my-vitess.yaml")))
	if err != nil {
		t.Fatal(err)
	}
	vc.SetNamespace("default")
	_, created, err := e.Audit(0)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := e.CreateAll(ctx, []*unstructured.Unstructured{vc}); err != nil {
		t.Fatal(err)
	}
	vcsGVR, _ := Resource("VitessCluster")
	vcs := c.Resource(vcsGVR).Namespace("default")
	deadline := time.Now().Add(4 * time.Minute)
	for {
		got, err := vcs.Get(ctx, "vitess", metav1.GetOptions{})
		if err == nil {
			if st, _ := Condition(got, "Ready"); st == "True" {
				break
			}
		}
		if time.Now().After(deadline) {
			_, msg := Condition(got, "Ready")
			t.Fatalf("the original example did not become Ready: %s\n%s\nkube-controller-manager: %s\nkube-scheduler: %s",
				msg, e.Failures(), e.Logs("kube-controller-manager", 12), e.Logs("kube-scheduler", 6))
		}
		time.Sleep(time.Second)
	}
	t.Logf("Ready after %.1f s (%s)", time.Since(start).Seconds(), e.Driver)
	path(t, e, "create → Ready", created, nil)
	for res, want := range map[string]int{"vitesscells": 2, "vitesskeyspaces": 1, "vitessshards": 2, "vitesstablets": 6} {
		l, err := c.Resource(schema.GroupVersionResource{Group: "vitess.io", Version: "v1alpha1", Resource: res}).Namespace("default").List(ctx, metav1.ListOptions{})
		if err != nil || len(l.Items) != want {
			t.Errorf("%s: %d, want %d (%v)", res, len(l.Items), want, err)
		}
	}
	pods, _ := c.Resource(schema.GroupVersionResource{Version: "v1", Resource: "pods"}).Namespace("default").List(ctx, metav1.ListOptions{LabelSelector: "vitess.io/component=vttablet"})
	if len(pods.Items) != 6 {
		t.Errorf("%d tablet Pods, want 6", len(pods.Items))
	}
	claims, _ := c.Resource(schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumeclaims"}).Namespace("default").List(ctx, metav1.ListOptions{})
	bound := 0
	for _, cl := range claims.Items {
		if ph, _, _ := unstructured.NestedString(cl.Object, "status", "phase"); ph == "Bound" {
			bound++
		}
	}
	if bound < 9 { // six tablets, three etcd members
		t.Errorf("%d claims Bound, want 9", bound)
	}
	quiet(t, ctx, e)

	// kubectl get vitess: the printer columns, every kind in the category.
	out, err := e.Kubectl(ctx, "get", "vitess")
	if err != nil {
		t.Error(err)
	}
	for _, want := range []string{"vitesscluster.vitess.io/vitess", "READY-CELLS", "vitesstablet.vitess.io/vitess-vttablet-zone1-1700000200", "True"} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl get vitess does not show %q:\n%s", want, out)
		}
	}
	// kubectl explain: the proto comments in the published schema.
	out, err = e.Kubectl(ctx, "explain", "vitesscluster.spec")
	if err != nil || !strings.Contains(out, "cells are the cluster's cells") || !strings.Contains(out, "deletionProtection") {
		t.Errorf("kubectl explain vitesscluster.spec: %v\n%s", err, out)
	}

	t.Run("kubectl vtmeta tree shows a stuck Pod", func(t *testing.T) { stuckPod(t, ctx, e, vcs) })
	t.Run("image edit rolls through every layer", func(t *testing.T) { rollout(t, ctx, e, vcs) })
	t.Run("scale down and up keeps the volume", func(t *testing.T) { scale(t, ctx, c, vcs) })
	t.Run("a volume grows in place and keeps its class", func(t *testing.T) { grow(t, ctx, c, vcs) })
	t.Run("invalid edits are refused", func(t *testing.T) { invalid(t, ctx, vcs) })
	t.Run("old Vitess images are warned about", func(t *testing.T) { oldImages(t, ctx, e, vc) })
	t.Run("a hook restarted mid-rollout", func(t *testing.T) { restart(t, ctx, c, vcs, e.Services["shard"]) })

	// Deletion protection.
	patch := func(on bool) {
		if _, err := vcs.Patch(ctx, "vitess", types.MergePatchType, []byte(fmt.Sprintf(`{"spec":{"deletionProtection":%v}}`, on)), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	patch(true)
	time.Sleep(2 * time.Second) // the policy is in force once its binding is seen
	if err := vcs.Delete(ctx, "vitess", metav1.DeleteOptions{}); !apierrors.IsForbidden(err) && !apierrors.IsInvalid(err) {
		t.Errorf("deleting a protected cluster: %v, want refused", err)
	}
	patch(false)
	if err := vcs.Delete(ctx, "vitess", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("deleting an unprotected cluster: %v", err)
	}
	// Garbage collection (after Metacontroller's finalize hook, with the
	// real one) removes the whole tree.
	left := func() []string {
		var out []string
		for _, r := range []schema.GroupVersionResource{vcsGVR, tabletsGVR, podsGVR, claimsGVR, deployGVR} {
			l, err := c.Resource(r).Namespace("default").List(ctx, metav1.ListOptions{})
			if err != nil {
				return []string{err.Error()}
			}
			for _, o := range l.Items {
				out = append(out, r.Resource+"/"+o.GetName())
			}
		}
		return out
	}
	deadline = time.Now().Add(2 * time.Minute)
	for len(left()) > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Second)
	}
	if l := left(); len(l) > 0 {
		t.Errorf("the deleted cluster's tree is still there: %v\n%s", l, e.Failures())
	}
}

// childResources are the resources vtmeta's layers write.
var childResources = map[string]bool{
	"vitesscells": true, "vitesskeyspaces": true, "vitessshards": true, "vitesstablets": true,
	"statefulsets": true, "deployments": true, "services": true, "configmaps": true, "jobs": true, "cronjobs": true,
	"poddisruptionbudgets": true, "pods": true, "persistentvolumeclaims": true,
}

// writes counts the apiserver's create, update and delete requests on the
// children's resources (not their status), by resource and verb.
func writes(t *testing.T, e *Env) map[string]float64 {
	t.Helper()
	all, err := e.APIRequests()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for r, n := range all {
		if childResources[r.Resource] && r.Subresource == "" && (r.Verb == "POST" || r.Verb == "PUT" || r.Verb == "DELETE") {
			out[r.Resource+" "+r.Verb] += n
		}
	}
	return out
}

// quiet checks the steady state: with the cluster Ready, syncing every
// parent again writes nothing. A child the apiserver stores differently
// from how its layer wrote it would be rewritten on every sync (or, with
// Recreate, deleted and created again).
func quiet(t *testing.T, ctx context.Context, e *Env) {
	t.Helper()
	before := writes(t, e)
	// Touch every parent so that Metacontroller syncs it now rather than at
	// its next resync; the stand-in syncs everything every 300ms anyway.
	for _, r := range []string{"vitessclusters", "vitesscells", "vitesskeyspaces", "vitessshards", "vitesstablets"} {
		gvr := schema.GroupVersionResource{Group: "vitess.io", Version: "v1alpha1", Resource: r}
		l, err := e.Client.Resource(gvr).Namespace("default").List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range l.Items {
			patch := fmt.Sprintf(`{"metadata":{"annotations":{"e2e.vtmeta.io/poke":%q}}}`, time.Now().Format(time.RFC3339Nano))
			if _, err := e.Client.Resource(gvr).Namespace("default").Patch(ctx, o.GetName(), types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	time.Sleep(5 * time.Second)
	after := writes(t, e)
	for k, n := range after {
		if n != before[k] {
			t.Errorf("steady state: %v %s requests while nothing changed (%s)", n-before[k], k, e.Driver)
		}
	}
}

// path is the steady-state check extended to the path of a convergence:
// from the audit log at mark on, Metacontroller wrote no child twice, and
// updated (or, for Pods, deleted and created again) exactly the children
// moved says, by resource; none when moved is nil. A child written twice
// on the way would be a write the apiserver already held.
func path(t *testing.T, e *Env, phase string, mark int64, moved map[string]int) {
	t.Helper()
	reqs, _, err := e.Audit(mark)
	if err != nil {
		t.Fatal(err)
	}
	writes := map[string]int{}
	rewritten := map[string]map[string]bool{}
	for _, r := range reqs {
		if r.Code >= 300 || r.Object.Subresource != "" || !childResources[r.Object.Resource] || r.Verb == "get" {
			continue
		}
		key := r.Verb + " " + r.Object.Resource + "/" + r.Object.Name
		writes[key]++
		if r.Verb == "update" || r.Verb == "delete" {
			if rewritten[r.Object.Resource] == nil {
				rewritten[r.Object.Resource] = map[string]bool{}
			}
			rewritten[r.Object.Resource][r.Object.Name] = true
		}
	}
	for k, n := range writes {
		if n > 1 {
			t.Errorf("%s: %s %d times (%s)", phase, k, n, e.Driver)
		}
	}
	for res, names := range rewritten {
		if len(names) != moved[res] {
			t.Errorf("%s: %d %s updated or replaced, want %d: %v (%s)", phase, len(names), res, moved[res], names, e.Driver)
		}
	}
	for res, n := range moved {
		if len(rewritten[res]) == 0 && n > 0 {
			t.Errorf("%s: no %s moved, want %d", phase, res, n)
		}
	}
}

// keepLogs copies every component's log to $VTMETA_E2E_LOGS when the test
// failed, for a look after the plane is gone.
func keepLogs(t *testing.T, dir string) {
	keep := os.Getenv("VTMETA_E2E_LOGS")
	if !t.Failed() || keep == "" {
		return
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if err := os.MkdirAll(keep, 0o755); err != nil {
		t.Log(err)
		return
	}
	for _, l := range logs {
		if b, err := os.ReadFile(l); err == nil {
			_ = os.WriteFile(filepath.Join(keep, filepath.Base(l)), b, 0o644)
		}
	}
	t.Logf("logs kept in %s", keep)
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var (
	podsGVR    = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	claimsGVR  = schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumeclaims"}
	deployGVR  = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	tabletsGVR = schema.GroupVersionResource{Group: "vitess.io", Version: "v1alpha1", Resource: "vitesstablets"}
)

// edit changes the VitessCluster and waits until it is Ready and Updated
// on its new generation; watch is called at every poll.
func edit(t *testing.T, ctx context.Context, vcs dynamic.ResourceInterface, change func(spec map[string]any), watch func()) {
	t.Helper()
	vc, err := vcs.Get(ctx, "vitess", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	spec := vc.Object["spec"].(map[string]any)
	change(spec)
	if vc, err = vcs.Update(ctx, vc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	gen := vc.GetGeneration()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if watch != nil {
			watch()
		}
		got, err := vcs.Get(ctx, "vitess", metav1.GetOptions{})
		if err == nil {
			og, _, _ := unstructured.NestedInt64(got.Object, "status", "observedGeneration")
			r, _ := Condition(got, "Ready")
			u, _ := Condition(got, "Updated")
			if og == gen && r == "True" && u == "True" {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	got, _ := vcs.Get(ctx, "vitess", metav1.GetOptions{})
	og, _, _ := unstructured.NestedInt64(got.Object, "status", "observedGeneration")
	_, ready := Condition(got, "Ready")
	_, updated := Condition(got, "Updated")
	t.Fatalf("the edit (generation %d, observed %d) did not roll out: Ready: %s; Updated: %s", gen, og, ready, updated)
}

func tabletPods(t *testing.T, ctx context.Context, c dynamic.Interface) []unstructured.Unstructured {
	t.Helper()
	l, err := c.Resource(podsGVR).Namespace("default").List(ctx, metav1.ListOptions{LabelSelector: "vitess.io/component=vttablet"})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

func claimUIDs(t *testing.T, ctx context.Context, c dynamic.Interface) map[string]types.UID {
	t.Helper()
	l, err := c.Resource(claimsGVR).Namespace("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]types.UID{}
	for _, cl := range l.Items {
		out[cl.GetName()] = cl.GetUID()
	}
	return out
}

func podReady(p unstructured.Unstructured) bool {
	s, _ := Condition(&p, "Ready")
	return s == "True"
}

// rollout is scenario 2: an image edit replaces tablet Pods one at a time,
// rdonly first in each shard, vtgate after the tablets; claims keep their
// identity. It watches Pods and Deployments, so every step is seen in order
// however fast Metacontroller moves.
func rollout(t *testing.T, ctx context.Context, e *Env, vcs dynamic.ResourceInterface) {
	c := e.Client
	_, mark, err := e.Audit(0)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	claims := claimUIDs(t, ctx, c)
	pods, err := c.Resource(podsGVR).Namespace("default").List(ctx, metav1.ListOptions{LabelSelector: "vitess.io/component=vttablet"})
	if err != nil {
		t.Fatal(err)
	}
	deploys, err := c.Resource(deployGVR).Namespace("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	watchCtx, stop := context.WithCancel(ctx)
	defer stop()
	podEvents, err := c.Resource(podsGVR).Namespace("default").Watch(watchCtx, metav1.ListOptions{
		LabelSelector: "vitess.io/component=vttablet", ResourceVersion: pods.GetResourceVersion()})
	if err != nil {
		t.Fatal(err)
	}
	gateEvents, err := c.Resource(deployGVR).Namespace("default").Watch(watchCtx, metav1.ListOptions{
		FieldSelector: "metadata.name=vitess-zone1-vtgate", ResourceVersion: deploys.GetResourceVersion()})
	if err != nil {
		t.Fatal(err)
	}
	// up: whether each tablet Pod serves (exists, Ready, not being deleted).
	up := map[string]bool{}
	old := map[string]types.UID{}
	for _, p := range pods.Items {
		up[p.GetName()] = podReady(p) && p.GetDeletionTimestamp() == nil
		old[p.GetName()] = p.GetUID()
	}
	var (
		replaced      []string // in order
		mostDown      int
		gateMovedWith = -1
		done          = make(chan struct{})
	)
	go func() {
		defer close(done)
		podCh, gateCh := podEvents.ResultChan(), gateEvents.ResultChan()
		for podCh != nil || gateCh != nil {
			select {
			case ev, ok := <-podCh:
				if !ok {
					podCh = nil
					continue
				}
				p, isObj := ev.Object.(*unstructured.Unstructured)
				if !isObj {
					continue
				}
				name := p.GetName()
				switch ev.Type {
				case "DELETED":
					up[name] = false
				case "ADDED", "MODIFIED":
					up[name] = podReady(*p) && p.GetDeletionTimestamp() == nil
					if p.GetUID() != old[name] && !slices.Contains(replaced, name) {
						replaced = append(replaced, name)
					}
				}
				down := 0
				for n := range old {
					if !up[n] {
						down++
					}
				}
				mostDown = max(mostDown, down)
			case ev, ok := <-gateCh:
				if !ok {
					gateCh = nil
					continue
				}
				if d, isObj := ev.Object.(*unstructured.Unstructured); isObj && gateMovedWith < 0 && strings.Contains(fmt.Sprint(d.Object["spec"]), "v24.0.3") {
					gateMovedWith = len(replaced)
				}
			}
		}
	}()
	// A healthy rolling update is Available (and Progressing) throughout:
	// one tablet per shard down at a time, vtgates rolled one Pod at a time.
	var unavailable []string
	edit(t, ctx, vcs, func(spec map[string]any) {
		ks := spec["keyspaces"].([]any)[0].(map[string]any)
		ks["tablets"].(map[string]any)["defaults"].(map[string]any)["image"] = "vitess/lite:v24.0.3"
		spec["cells"].([]any)[1].(map[string]any)["vtgate"].(map[string]any)["image"] = "vitess/lite:v24.0.3"
	}, func() {
		if got, err := vcs.Get(ctx, "vitess", metav1.GetOptions{}); err == nil {
			if st, msg := Condition(got, "Available"); st != "True" {
				unavailable = append(unavailable, fmt.Sprintf("%s %s", st, msg))
			}
		}
	})
	if len(unavailable) > 0 {
		t.Errorf("the cluster was not Available during the rollout: %v", unavailable[:min(len(unavailable), 5)])
	}
	t.Logf("rolled out after %.1f s (%s)", time.Since(start).Seconds(), e.Driver)
	// Each child the rollout moves is written once; a Pod is deleted once
	// and created once; nothing else is written.
	path(t, e, "image rollout", mark, map[string]int{"vitesscells": 1, "vitesskeyspaces": 1, "vitessshards": 2, "vitesstablets": 6, "deployments": 1, "pods": 6})
	stop()
	podEvents.Stop()
	gateEvents.Stop()
	<-done
	if len(replaced) != 6 {
		t.Errorf("replaced %v, want all 6 tablet Pods", replaced)
	}
	if mostDown > 1 {
		t.Errorf("%d tablet Pods down at once (order %v)", mostDown, replaced)
	}
	if gateMovedWith != 6 {
		t.Errorf("vtgate moved after %d of 6 tablets, want after all of them (-1: never)", gateMovedWith)
	}
	// In each shard the rdonly tablet goes first.
	first := map[string]string{}
	for _, name := range replaced {
		for _, p := range pods.Items {
			if shard := p.GetLabels()["vitess.io/shard"]; p.GetName() == name && first[shard] == "" {
				first[shard] = name
				if !strings.Contains(fmt.Sprint(p.Object["spec"]), "--init-tablet-type=rdonly") {
					t.Errorf("shard %s replaced %s first, not its rdonly tablet (order %v)", shard, name, replaced)
				}
			}
		}
	}
	for _, p := range tabletPods(t, ctx, c) {
		if !strings.Contains(fmt.Sprint(p.Object["spec"]), "v24.0.3") {
			t.Errorf("%s still runs the old image", p.GetName())
		}
	}
	for name, uid := range claimUIDs(t, ctx, c) {
		if claims[name] != "" && claims[name] != uid {
			t.Errorf("claim %s was recreated", name)
		}
	}
}

// scale is scenario 3: a tablet that leaves the spec keeps its claim, and
// comes back on it.
func scale(t *testing.T, ctx context.Context, c dynamic.Interface, vcs dynamic.ResourceInterface) {
	const gone = "vitess-vttablet-zone1-1700000001"
	claim := claimUIDs(t, ctx, c)[gone]
	if claim == "" {
		t.Fatalf("no claim %s", gone)
	}
	set := func(n int) func(map[string]any) {
		return func(spec map[string]any) {
			ks := spec["keyspaces"].([]any)[0].(map[string]any)
			ks["tablets"].(map[string]any)["masterEligible"].(map[string]any)["replicas"] = n
		}
	}
	edit(t, ctx, vcs, set(1), nil)
	if _, err := c.Resource(podsGVR).Namespace("default").Get(ctx, gone, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the retired tablet's Pod is still there (%v)", err)
	}
	if claimUIDs(t, ctx, c)[gone] != claim {
		t.Fatal("the retired tablet's claim is gone")
	}
	edit(t, ctx, vcs, set(2), nil)
	if _, err := c.Resource(podsGVR).Namespace("default").Get(ctx, gone, metav1.GetOptions{}); err != nil {
		t.Errorf("the tablet did not come back: %v", err)
	}
	if claimUIDs(t, ctx, c)[gone] != claim {
		t.Error("the tablet came back on a new claim")
	}
}

// grow edits the tablets' volume size: every claim grows in place (the
// same claim, no Pod restarted); then it edits their storage class, which
// no claim can change: the claims stay, and each tablet says so.
func grow(t *testing.T, ctx context.Context, c dynamic.Interface, vcs dynamic.ResourceInterface) {
	claims := claimUIDs(t, ctx, c)
	pods := map[string]types.UID{}
	for _, p := range tabletPods(t, ctx, c) {
		pods[p.GetName()] = p.GetUID()
	}
	claim := func(spec map[string]any) map[string]any {
		ks := spec["keyspaces"].([]any)[0].(map[string]any)
		return ks["tablets"].(map[string]any)["defaults"].(map[string]any)["volumeClaim"].(map[string]any)
	}
	edit(t, ctx, vcs, func(spec map[string]any) {
		claim(spec)["resources"] = map[string]any{"requests": map[string]any{"storage": "8Gi"}}
	}, nil)
	l, err := c.Resource(claimsGVR).Namespace("default").List(ctx, metav1.ListOptions{LabelSelector: "vitess.io/component=vttablet"})
	if err != nil {
		t.Fatal(err)
	}
	grown := 0
	for _, cl := range l.Items {
		if size, _, _ := unstructured.NestedString(cl.Object, "spec", "resources", "requests", "storage"); size == "8Gi" {
			grown++
		}
		if claims[cl.GetName()] != cl.GetUID() {
			t.Errorf("claim %s was replaced", cl.GetName())
		}
	}
	if grown != 6 {
		t.Errorf("%d of 6 tablet claims ask for 8Gi", grown)
	}
	for _, p := range tabletPods(t, ctx, c) {
		if pods[p.GetName()] != p.GetUID() {
			t.Errorf("Pod %s was replaced for a volume size", p.GetName())
		}
	}
	edit(t, ctx, vcs, func(spec map[string]any) { claim(spec)["storageClassName"] = "elsewhere" }, nil)
	l, _ = c.Resource(claimsGVR).Namespace("default").List(ctx, metav1.ListOptions{LabelSelector: "vitess.io/component=vttablet"})
	for _, cl := range l.Items {
		if class, _, _ := unstructured.NestedString(cl.Object, "spec", "storageClassName"); class != StorageClass || claims[cl.GetName()] != cl.GetUID() {
			t.Errorf("claim %s: class %q, uid kept %v", cl.GetName(), class, claims[cl.GetName()] == cl.GetUID())
		}
	}
	tablets, err := c.Resource(schema.GroupVersionResource{Group: "vitess.io", Version: "v1alpha1", Resource: "vitesstablets"}).Namespace("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tablets.Items {
		if st, msg := Condition(&tb, "VolumeMatchesSpec"); st != "False" || !strings.Contains(msg, "storageClassName") {
			t.Errorf("VitessTablet %s: VolumeMatchesSpec %s %q, want False naming storageClassName", tb.GetName(), st, msg)
		}
	}
	// Back to the spec the claims have.
	edit(t, ctx, vcs, func(spec map[string]any) { delete(claim(spec), "storageClassName") }, nil)
}

// invalid is scenario 4 for what admission refuses: nothing changes.
func invalid(t *testing.T, ctx context.Context, vcs dynamic.ResourceInterface) {
	edits := map[string]func(spec map[string]any){
		"overlapping key ranges": func(spec map[string]any) {
			ks := spec["keyspaces"].([]any)[0].(map[string]any)
			ks["shards"] = []any{map[string]any{"keyRange": map[string]any{"start": "", "end": "80"}}, map[string]any{"keyRange": map[string]any{"start": "40", "end": ""}}}
		},
		"a keyspace in an unknown cell": func(spec map[string]any) {
			spec["keyspaces"].([]any)[0].(map[string]any)["cells"] = []any{"mars"}
		},
		"a negative replica count": func(spec map[string]any) {
			spec["cells"].([]any)[1].(map[string]any)["vtgate"].(map[string]any)["replicas"] = -1
		},
		"a vtgate load balancer without credentials": func(spec map[string]any) {
			spec["cells"].([]any)[1].(map[string]any)["vtgate"].(map[string]any)["service"] = map[string]any{"type": "LoadBalancer"}
		},
		"semi_sync with two primary-eligible tablets": func(spec map[string]any) {
			spec["keyspaces"].([]any)[0].(map[string]any)["durabilityPolicy"] = "semi_sync"
		},
	}
	for name, change := range edits {
		vc, err := vcs.Get(ctx, "vitess", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		gen := vc.GetGeneration()
		change(vc.Object["spec"].(map[string]any))
		if _, err := vcs.Update(ctx, vc, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) {
			t.Errorf("%s: update answered %v, want refused at admission", name, err)
		}
		if now, _ := vcs.Get(ctx, "vitess", metav1.GetOptions{}); now.GetGeneration() != gen {
			t.Errorf("%s changed the cluster", name)
		}
	}
}

// oldImages applies (dry run) the original example, whose vitess/lite:v2.1.1
// cannot run current flags, and a copy on v24: the first is accepted with
// a warning naming each old image, the second without one.
func oldImages(t *testing.T, ctx context.Context, e *Env, vc *unstructured.Unstructured) {
	warnings := &collect{}
	cfg := rest.CopyConfig(e.Config)
	cfg.WarningHandler = warnings
	c, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	vcsGVR, _ := Resource("VitessCluster")
	vcs := c.Resource(vcsGVR).Namespace("default")
	try := func(edit func(spec map[string]any)) []string {
		obj := vc.DeepCopy()
		obj.SetName("images-check")
		if edit != nil {
			edit(obj.Object["spec"].(map[string]any))
		}
		warnings.got = nil
		if _, err := vcs.Create(ctx, obj, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
			t.Fatalf("dry-run create: %v", err)
		}
		return warnings.got
	}
	got := strings.Join(try(nil), "\n")
	for _, want := range []string{"Vitess images older than v23", "vitess/lite:v2.1.1"} {
		if !strings.Contains(got, want) {
			t.Errorf("applying the original example warned %q, want it to mention %q", got, want)
		}
	}
	current := try(func(spec map[string]any) {
		for _, c := range spec["cells"].([]any) {
			for _, comp := range []string{"vtctld", "vtgate"} {
				if m, ok := c.(map[string]any)[comp].(map[string]any); ok {
					m["image"] = "vitess/lite:v24.0.4"
				}
			}
		}
		spec["keyspaces"].([]any)[0].(map[string]any)["tablets"].(map[string]any)["defaults"].(map[string]any)["image"] = "vitess/lite:v24.0.4"
	})
	if len(current) != 0 {
		t.Errorf("a cluster on v24 warned %q", current)
	}
}

// collect keeps the warnings the apiserver answers with.
type collect struct{ got []string }

// HandleWarningHeader records one warning.
func (c *collect) HandleWarningHeader(_ int, _ string, text string) { c.got = append(c.got, text) }

// restart is scenario 6: the shard service dies in the middle of a
// rollout; nothing is lost while it is down, and once it is back the
// rollout resumes and completes.
func restart(t *testing.T, ctx context.Context, c dynamic.Interface, vcs dynamic.ResourceInterface, shard *Service) {
	claims := claimUIDs(t, ctx, c)
	old := map[string]types.UID{}
	for _, p := range tabletPods(t, ctx, c) {
		old[p.GetName()] = p.GetUID()
	}
	killed := false
	edit(t, ctx, vcs, func(spec map[string]any) {
		spec["keyspaces"].([]any)[0].(map[string]any)["tablets"].(map[string]any)["defaults"].(map[string]any)["image"] = "vitess/lite:v24.0.4"
	}, func() {
		if killed {
			return
		}
		moved := 0
		for _, p := range tabletPods(t, ctx, c) {
			if p.GetUID() != old[p.GetName()] {
				moved++
			}
		}
		if moved < 2 {
			return
		}
		killed = true
		shard.Stop()
		time.Sleep(3 * time.Second) // Metacontroller's calls to it fail meanwhile
		if n := len(claimUIDs(t, ctx, c)); n < len(claims) {
			t.Errorf("claims went missing while the shard service was down: %d of %d", n, len(claims))
		}
		if err := shard.Start(ctx); err != nil {
			t.Fatalf("restart the shard service: %v", err)
		}
	})
	if !killed {
		t.Fatal("the rollout finished before the service could be killed")
	}
	for _, p := range tabletPods(t, ctx, c) {
		if !strings.Contains(fmt.Sprint(p.Object["spec"]), "v24.0.4") {
			t.Errorf("%s did not get the new image after the restart", p.GetName())
		}
	}
	for name, uid := range claimUIDs(t, ctx, c) {
		if claims[name] != "" && claims[name] != uid {
			t.Errorf("claim %s was recreated", name)
		}
	}
}
