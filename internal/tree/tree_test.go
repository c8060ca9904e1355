package tree

import (
	"bytes"
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic/fake"

	"github.com/vtmeta/vtmeta/internal/golden"
)

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// ago is a timestamp d before now.
func ago(d time.Duration) string { return now.Add(-d).Format(time.RFC3339) }

// obj builds an object controlled by owner (nil for none).
func obj(apiVersion, kind, name string, owner *unstructured.Unstructured, status map[string]any) *unstructured.Unstructured {
	o := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": apiVersion, "kind": kind,
		"metadata": map[string]any{"name": name, "namespace": "default", "uid": kind + "-" + name,
			"creationTimestamp": ago(time.Hour), "generation": int64(2)},
	}}
	if owner != nil {
		yes := true
		o.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: owner.GetAPIVersion(), Kind: owner.GetKind(),
			Name: owner.GetName(), UID: owner.GetUID(), Controller: &yes}})
	}
	if status != nil {
		o.Object["status"] = status
	}
	return o
}

func cond(typ, st, reason, msg string, since time.Duration) any {
	return map[string]any{"type": typ, "status": st, "reason": reason, "message": msg, "lastTransitionTime": ago(since)}
}

// vt is one of vtmeta's kinds, ready or not.
func vt(kind, name string, owner *unstructured.Unstructured, ready bool, msg string) *unstructured.Unstructured {
	st, reason := "True", "AllReady"
	if !ready {
		st, reason = "False", "ChildrenNotReady"
	}
	return obj("vitess.io/v1alpha1", kind, name, owner, map[string]any{
		"observedGeneration": int64(2),
		"conditions": []any{cond("Ready", st, reason, msg, 3*time.Minute), cond("Updated", "True", "AllUpdated", "all on the current spec", time.Hour),
			cond("Progressing", "False", "Complete", "rollout complete", time.Hour)},
	})
}

func pod(name string, owner *unstructured.Unstructured, ready bool) *unstructured.Unstructured {
	c := cond("Ready", "True", "", "", 50*time.Minute)
	if !ready {
		c = cond("Ready", "False", "ContainersNotReady", "containers with unready status: [vttablet]", 2*time.Minute)
	}
	return obj("v1", "Pod", name, owner, map[string]any{"phase": "Running", "conditions": []any{c, cond("PodScheduled", "True", "", "", time.Hour)}})
}

// fixture is a small cluster: one cell, one keyspace, one shard, two
// tablets, one of whose Pods is not ready; a vtgate Deployment with its
// ReplicaSet and Pod; a Service; and another cluster.
func fixture() []runtime.Object {
	vc := vt("VitessCluster", "vitess", nil, false, "0 of 1 ready; VitessCell vitess-zone1: Ready=False")
	cell := vt("VitessCell", "vitess-zone1", vc, false, "0 of 1 keyspaces ready")
	ks := vt("VitessKeyspace", "vitess-zone1-main", cell, false, "0 of 1 ready")
	shard := vt("VitessShard", "vitess-zone1-main-0", ks, false, "1 of 2 ready; VitessTablet vitess-vttablet-zone1-0000000101: PodNotReady")
	t1 := vt("VitessTablet", "vitess-vttablet-zone1-0000000100", shard, true, "Pod is Ready")
	t2 := vt("VitessTablet", "vitess-vttablet-zone1-0000000101", shard, false, "Pod vitess-vttablet-zone1-0000000101 is not Ready")
	gate := obj("apps/v1", "Deployment", "vitess-zone1-vtgate", cell, map[string]any{
		"observedGeneration": int64(2), "readyReplicas": int64(2), "updatedReplicas": int64(2), "replicas": int64(2)})
	gate.Object["spec"] = map[string]any{"replicas": int64(2)}
	rs := obj("apps/v1", "ReplicaSet", "vitess-zone1-vtgate-5d8f", gate, nil)
	other := vt("VitessCluster", "other", nil, true, "all ready")
	return []runtime.Object{
		vc, cell, ks, shard, t1, t2, gate, rs, other,
		pod("vitess-vttablet-zone1-0000000100", t1, true), pod("vitess-vttablet-zone1-0000000101", t2, false),
		obj("v1", "PersistentVolumeClaim", "vitess-vttablet-zone1-0000000100", t1, map[string]any{"phase": "Bound"}),
		obj("v1", "PersistentVolumeClaim", "vitess-vttablet-zone1-0000000101", t2, map[string]any{"phase": "Bound"}),
		pod("vitess-zone1-vtgate-5d8f-abcde", rs, true),
		obj("v1", "Service", "vitess-zone1-vtgate", cell, nil),
	}
}

func client(objs ...runtime.Object) *fake.FakeDynamicClient {
	kinds := map[schema.GroupVersionResource]string{}
	for _, r := range Resources {
		kinds[r.GroupVersionResource] = r.Kind + "List"
	}
	return fake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), kinds, objs...)
}

func print(t *testing.T, opts Options, color bool, objs ...runtime.Object) string {
	t.Helper()
	roots, err := Build(context.Background(), client(objs...), opts)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Print(&b, roots, PrintOptions{Now: now, Color: color}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// compareText compares text with a reviewed golden file (-update rewrites).
func compareText(t *testing.T, path, got string) {
	t.Helper()
	if golden.Updating() {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("output differs from %s (run with -update and review the diff):\n%s", path, got)
	}
}

func TestTree(t *testing.T) {
	tests := []struct {
		name   string
		opts   Options
		golden string
		want   []string
		not    []string
	}{
		{"one cluster", Options{Namespace: "default", Name: "vitess"}, "testdata/one-cluster.txt",
			[]string{
				"├─ Pod/vitess-vttablet-zone1-0000000101                    False",
				"Ready=False: ContainersNotReady: containers with unready status: [vttablet] (phase Running) (since 2026-11-24T11:58:00Z, 2m ago)",
				"Not ready, holding up the rest:\n  Pod/vitess-vttablet-zone1-0000000101: Ready=False",
				"Pod/vitess-zone1-vtgate-5d8f-abcde", // under its Deployment, past the ReplicaSet
				"Deployment/vitess-zone1-vtgate", "2/2",
			},
			[]string{"VitessCluster/other", "Service/", "ReplicaSet/"}},
		{"every cluster, every kind", Options{Namespace: "default", All: true}, "testdata/all.txt",
			[]string{"VitessCluster/other", "Service/vitess-zone1-vtgate"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := print(t, tt.opts, false, fixture()...)
			compareText(t, tt.golden, got)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("tree lacks %q", w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(got, n) {
					t.Errorf("tree shows %q", n)
				}
			}
			if strings.Contains(got, "\x1b[") {
				t.Error("colours without a terminal")
			}
		})
	}
}

func TestTreeColours(t *testing.T) {
	got := print(t, Options{Namespace: "default", Name: "vitess"}, true, fixture()...)
	if !strings.Contains(got, red+"False") || !strings.Contains(got, green+"True") {
		t.Errorf("no red for not ready or green for ready:\n%q", got)
	}
}

func TestTreeMissingCluster(t *testing.T) {
	_, err := Build(context.Background(), client(fixture()...), Options{Namespace: "default", Name: "nope"})
	if err == nil || !strings.Contains(err.Error(), "no VitessCluster nope in namespace default") {
		t.Errorf("err = %v", err)
	}
}

func TestAssess(t *testing.T) {
	stale := vt("VitessShard", "s", nil, true, "")
	stale.SetGeneration(3)
	rolling := vt("VitessShard", "r", nil, true, "")
	rolling.Object["status"].(map[string]any)["conditions"] = []any{cond("Ready", "True", "AllReady", "", time.Hour),
		cond("Progressing", "True", "Rolling", "rolling VitessTablet t, 1 of 3 updated", time.Minute)}
	pending := obj("v1", "Pod", "p", nil, map[string]any{"phase": "Pending", "conditions": []any{
		cond("PodScheduled", "False", "Unschedulable", "0/3 nodes are available", 5*time.Minute)}})
	claim := obj("v1", "PersistentVolumeClaim", "c", nil, map[string]any{"phase": "Pending"})
	deleting := pod("d", nil, true)
	deleting.SetDeletionTimestamp(&metav1.Time{Time: now.Add(-time.Minute)})
	failed := obj("batch/v1", "Job", "j", nil, map[string]any{"conditions": []any{cond("Failed", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit", time.Minute)}})
	tests := []struct {
		name    string
		o       *unstructured.Unstructured
		ok      bool
		rolling bool
		why     string
	}{
		{"layer behind the generation", stale, false, false, "has not answered for generation 3 yet"},
		{"rolling", rolling, true, true, "rolling VitessTablet t, 1 of 3 updated"},
		{"unschedulable Pod", pending, false, false, "PodScheduled=False: Unschedulable: 0/3 nodes are available"},
		{"pending claim", claim, false, false, "claim is Pending"},
		{"being deleted", deleting, false, false, "being deleted"},
		{"failed Job", failed, false, false, "Failed=True: BackoffLimitExceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := Assess(tt.o)
			if h.OK != tt.ok || h.Rolling != tt.rolling || !strings.Contains(h.Why, tt.why) {
				t.Errorf("health %+v, want ok %v rolling %v why %q", h, tt.ok, tt.rolling, tt.why)
			}
		})
	}
}

// TestBackupAge: the BACKUP column appears when something reports
// backups: the latest backup's age, none, or overdue.
func TestBackupAge(t *testing.T) {
	withBackup := func(o *unstructured.Unstructured, last string, backedUp string) *unstructured.Unstructured {
		st := o.Object["status"].(map[string]any)
		if last != "" {
			st["lastBackupTime"] = last
		}
		if backedUp != "" {
			st["conditions"] = append(st["conditions"].([]any), cond("BackedUp", backedUp, "x", "y", time.Hour))
		}
		return o
	}
	cluster := withBackup(vt("VitessCluster", "vitess", nil, true, ""), ago(3*time.Hour), "False")
	cell := vt("VitessCell", "vitess-zone1", cluster, true, "")
	ks := withBackup(vt("VitessKeyspace", "vitess-zone1-main", cell, true, ""), ago(3*time.Hour), "False")
	a := withBackup(vt("VitessShard", "vitess-zone1-main-x-80", ks, true, ""), ago(30*time.Minute), "True")
	b := withBackup(vt("VitessShard", "vitess-zone1-main-80-x", ks, true, ""), ago(3*time.Hour), "False")
	c := withBackup(vt("VitessShard", "vitess-zone1-other-0", ks, true, ""), "", "False")
	got := print(t, Options{Namespace: "default", Name: "vitess"}, false, cluster, cell, ks, a, b, c)
	for _, want := range []string{"BACKUP", "VitessShard/vitess-zone1-main-x-80  True   True     60m  30m",
		"VitessShard/vitess-zone1-main-80-x  True   True     60m  3h (overdue)", "VitessShard/vitess-zone1-other-0    True   True     60m  none"} {
		if !strings.Contains(got, want) {
			t.Errorf("tree lacks %q:\n%s", want, got)
		}
	}
	if got := print(t, Options{Namespace: "default", Name: "vitess"}, false, fixture()...); strings.Contains(got, "BACKUP") {
		t.Errorf("a BACKUP column without backups:\n%s", got)
	}
}

// TestTreeRoles: each running tablet's role comes from its own vttablet's
// /debug/vars; one that cannot be asked shows ? and the reason once, with
// what the CLI needs to ask.
func TestTreeRoles(t *testing.T) {
	roots, err := Build(context.Background(), client(fixture()...), Options{Namespace: "default", Name: "vitess"})
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	var mu sync.Mutex
	get := func(_ context.Context, ns, pod string) ([]byte, error) {
		mu.Lock()
		asked = append(asked, ns+"/"+pod)
		mu.Unlock()
		if pod == "vitess-vttablet-zone1-0000000101" {
			return nil, errors.New(`pods "vitess-vttablet-zone1-0000000101" is forbidden: User "dev" cannot get resource "pods/proxy"`)
		}
		return []byte(`{"TabletAlias":"zone1-0000000100","TabletType":"primary","TabletStateName":"SERVING","Other":[1,2]}`), nil
	}
	roles := Roles(context.Background(), roots, get)
	slices.Sort(asked)
	if want := []string{"default/vitess-vttablet-zone1-0000000100", "default/vitess-vttablet-zone1-0000000101"}; !slices.Equal(asked, want) {
		t.Errorf("asked %v, want the tablets' Pods %v", asked, want)
	}
	var b bytes.Buffer
	if err := Print(&b, roots, PrintOptions{Now: now, Roles: roles}); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	compareText(t, "testdata/roles.txt", got)
	line := func(name string) string {
		for _, l := range strings.Split(got, "\n") {
			if strings.Contains(l, name) {
				return strings.Join(strings.Fields(l), " ")
			}
		}
		return ""
	}
	if l := line("VitessTablet/vitess-vttablet-zone1-0000000100"); !strings.Contains(l, "True True primary serving 60m") {
		t.Errorf("the primary's line: %s", l)
	}
	if l := line("VitessTablet/vitess-vttablet-zone1-0000000101"); !strings.Contains(l, "False True ? 60m") {
		t.Errorf("the forbidden tablet's line: %s", l)
	}
	for _, w := range []string{"ROLE", `ROLE ?: pod vitess-vttablet-zone1-0000000101: pods "vitess-vttablet-zone1-0000000101" is forbidden`, "get on pods/proxy"} {
		if !strings.Contains(got, w) {
			t.Errorf("tree lacks %q:\n%s", w, got)
		}
	}
}

func TestRoleString(t *testing.T) {
	for _, tt := range []struct {
		r    Role
		want string
	}{
		{Role{Type: "primary", Serving: "SERVING"}, "primary serving"},
		{Role{Type: "replica", Serving: "NOT_SERVING"}, "replica not-serving"},
		{Role{Err: errors.New("x")}, "?"},
		{Role{}, "?"},
	} {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.r, got, tt.want)
		}
	}
}
