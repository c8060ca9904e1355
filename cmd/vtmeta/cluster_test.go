package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic/fake"
	"sigs.k8s.io/yaml"

	"github.com/vtmeta/vtmeta/cmd/vtmeta/operator"
	"github.com/vtmeta/vtmeta/internal/hook"
	"github.com/vtmeta/vtmeta/internal/tree"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
	shard "github.com/vtmeta/vtmeta/services/shard/layer"
	tablet "github.com/vtmeta/vtmeta/services/tablet/layer"
)

// live renders an example and returns every object as a live cluster
// serves it (status, owner references, uids), in a fake dynamic client.
func live(t *testing.T, path string) (*fake.FakeDynamicClient, []*unstructured.Unstructured) {
	t.Helper()
	m, err := newApp("vtmeta", nil, nil, nil).readCluster(path)
	if err != nil {
		t.Fatal(err)
	}
	o, err := newOffline(layerFlags{})
	if err != nil {
		t.Fatal(err)
	}
	stored, errs := o.admit(context.Background(), prepare(m, "default"), nil)
	if len(errs) > 0 {
		t.Fatal(errs.ToAggregate())
	}
	w := o.world()
	w.Now = time.Now().Add(-time.Hour)
	if err := converge(context.Background(), w, stored); err != nil {
		t.Fatal(err)
	}
	var objs []runtime.Object
	var us []*unstructured.Unstructured
	for _, x := range w.Objects() {
		u := &unstructured.Unstructured{Object: copyJSON(w.View(x))}
		objs = append(objs, u)
		us = append(us, u)
	}
	kinds := map[schema.GroupVersionResource]string{}
	for _, r := range tree.Resources {
		kinds[r.GroupVersionResource] = r.Kind + "List"
	}
	return fake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), kinds, objs...), us
}

// withClient is an app whose cluster is c.
func withClient(c *fake.FakeDynamicClient) *app {
	a := newApp("vtmeta", strings.NewReader(""), nil, nil)
	a.dynamic = c
	return a
}

func TestTreeCommand(t *testing.T) {
	c, objs := live(t, examples["original"])
	r := cli(t, withClient(c), "tree", "vitess")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"VitessCluster/vitess", "└─ VitessCell/vitess-zone1", "VitessShard/vitess-zone1-main-80-x",
		"Pod/vitess-vttablet-zone1-1700000200", "PersistentVolumeClaim/vitess-vttablet-zone1-1700000200  Bound",
		"StatefulSet/vitess-etcd", "3/3",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("tree lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "Not ready") || strings.Contains(r.stdout, "\x1b[") || strings.Contains(r.stdout, "Service/") {
		t.Errorf("a settled cluster, piped, without --all:\n%s", r.stdout)
	}
	// Rows: the cluster, its cells, keyspace, shards, tablets, Pods and
	// claims, and the cell layer's workloads: every object but the
	// Services, ConfigMaps and budgets.
	rows := 0
	for _, o := range objs {
		switch o.GetKind() {
		case "Service", "ConfigMap", "PodDisruptionBudget":
		default:
			rows++
		}
	}
	if got := strings.Count(r.stdout, "\n") - 1; got != rows {
		t.Errorf("%d rows, want %d:\n%s", got, rows, r.stdout)
	}
	if r := cli(t, withClient(c), "tree", "vitess", "--all"); !strings.Contains(r.stdout, "Service/vitess-etcd-client") {
		t.Errorf("--all shows no Services:\n%s", r.stdout)
	}
	if r := cli(t, withClient(c), "tree", "vitess", "--color", "always"); !strings.Contains(r.stdout, "\x1b[32mTrue") {
		t.Errorf("--color always shows no colour:\n%q", r.stdout)
	}
	if r := cli(t, withClient(c), "tree", "nope"); r.code != 1 || !strings.Contains(r.stderr, "no VitessCluster nope in namespace default") {
		t.Errorf("exit %d: %s", r.code, r.stderr)
	}
	if r := cli(t, withClient(c), "tree", "-n", "elsewhere"); r.code != 0 || r.stdout != "No VitessCluster in namespace elsewhere.\n" {
		t.Errorf("exit %d: %q", r.code, r.stdout)
	}
}

// TestTreeRolesCommand: with a way to reach the tablets, tree asks each
// running tablet's vttablet for its role; --roles=false asks none.
func TestTreeRolesCommand(t *testing.T) {
	c, _ := live(t, examples["original"])
	a := withClient(c)
	asked := 0
	var mu sync.Mutex
	a.vars = func(_ context.Context, ns, pod string) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		asked++
		if pod == "vitess-vttablet-zone1-1700000000" {
			return []byte(`{"TabletType":"primary","TabletStateName":"SERVING"}`), nil
		}
		return []byte(`{"TabletType":"replica","TabletStateName":"NOT_SERVING"}`), nil
	}
	r := cli(t, a, "tree", "vitess")
	if r.code != 0 || !strings.Contains(r.stdout, "ROLE") || !strings.Contains(r.stdout, "primary serving") || !strings.Contains(r.stdout, "replica not-serving") {
		t.Errorf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	if asked != 6 {
		t.Errorf("asked %d tablets, want the example's 6", asked)
	}
	asked = 0
	if r := cli(t, a, "tree", "vitess", "--roles=false"); strings.Contains(r.stdout, "ROLE") || asked != 0 {
		t.Errorf("--roles=false asked %d tablets:\n%s", asked, r.stdout)
	}
}

// unready makes a Pod report Ready=False, as the e2e suite does on a real
// control plane.
func unready(t *testing.T, c *fake.FakeDynamicClient, name string) {
	t.Helper()
	pods := c.Resource(schema.GroupVersionResource{Version: "v1", Resource: "pods"}).Namespace("default")
	p, err := pods.Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	since := time.Now().Add(-90 * time.Second).UTC().Format(time.RFC3339)
	p.Object["status"] = map[string]any{"phase": "Running", "conditions": []any{map[string]any{
		"type": "Ready", "status": "False", "reason": "ContainersNotReady", "message": "containers with unready status: [mysqld]", "lastTransitionTime": since}}}
	if _, err := pods.UpdateStatus(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestTreeShowsTheStuckPod(t *testing.T) {
	c, _ := live(t, examples["original"])
	unready(t, c, "vitess-vttablet-zone1-1700000200")
	r := cli(t, withClient(c), "tree", "vitess")
	want := "Not ready, holding up the rest:\n  Pod/vitess-vttablet-zone1-1700000200: Ready=False: ContainersNotReady: containers with unready status: [mysqld] (phase Running) (since "
	if !strings.Contains(r.stdout, want) || !regexp.MustCompile(`\(since \S+Z, (9\d|1\d\d)s ago\)`).MatchString(r.stdout) {
		t.Errorf("tree does not show the stuck Pod, since when:\n%s", r.stdout)
	}
}

// syncBuffer is a buffer --watch writes to while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestTreeWatch(t *testing.T) {
	c, _ := live(t, examples["minimal"])
	var out syncBuffer
	a := withClient(c)
	a.stdout, a.stderr = &out, &out
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() { done <- run(ctx, a, []string{"tree", "mini", "--watch", "--interval", "20ms"}) }()
	wait := func(what string, cond func(string) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond(out.String()) {
			if time.Now().After(deadline) {
				cancel()
				t.Fatalf("--watch never showed %s:\n%s", what, out.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	wait("the tree", func(s string) bool { return strings.Contains(s, "VitessCluster/mini") })
	unready(t, c, "mini-vttablet-zone1-1700000001")
	wait("the stuck Pod", func(s string) bool {
		return strings.Contains(s, "Not ready, holding up the rest:\n  Pod/mini-vttablet-zone1-1700000001")
	})
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d after Ctrl-C", code)
	}
	if n := strings.Count(out.String(), "--- "); n != 2 {
		t.Errorf("%d redraws, want 2 (one per change, none while nothing changes):\n%s", n, out.String())
	}
}

func TestPlanFromCluster(t *testing.T) {
	path := examples["original"]
	c, _ := live(t, path)
	// The live object carries what the apiserver adds; plan must read its
	// spec only.
	vcs := c.Resource(clustersGVR).Namespace("default")
	vc, err := vcs.Get(context.Background(), "vitess", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	vc.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply}})
	vc.SetAnnotations(map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{}"})
	if _, err := vcs.Update(context.Background(), vc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	newFile := edited(t, path, edits[0].edit)
	fromFile := cli(t, nil, "plan", "-f", newFile, "--from", path)
	fromCluster := cli(t, withClient(c), "plan", "-f", newFile, "--from-cluster")
	if fromCluster.code != 0 || fromCluster.stdout != fromFile.stdout {
		t.Errorf("exit %d; --from-cluster differs from --from:\n%s\n%s", fromCluster.code, fromCluster.stdout, fromCluster.stderr)
	}
	missing := cli(t, withClient(c), "plan", "-f", newFile, "--from-cluster", "-n", "elsewhere")
	if missing.code != 1 || !strings.Contains(missing.stderr, "read the live VitessCluster elsewhere/vitess") {
		t.Errorf("exit %d: %s", missing.code, missing.stderr)
	}
}

// serve runs a layer's service, as its binary does, on loopback ports and
// returns its gRPC address.
func serve[Req hook.Request, Resp hook.Response](t *testing.T, l hook.Layer[Req, Resp]) string {
	t.Helper()
	o := hook.DefaultOptions()
	o.HTTPAddr, o.GRPCAddr, o.ShutdownDelay = "127.0.0.1:0", "127.0.0.1:0", 0
	ctx, cancel := context.WithCancel(context.Background())
	listening := make(chan hook.Listening, 1)
	done := make(chan error, 1)
	go func() { done <- hook.Run(ctx, l, o, nil, listening) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case addrs := <-listening:
		return addrs.GRPC.String()
	case err := <-done:
		t.Fatalf("the %s service: %v", l.Name, err)
	}
	return ""
}

func TestRemoteLayers(t *testing.T) {
	path := examples["original"]
	local := cli(t, nil, "render", "-f", path)
	shardAddr, tabletAddr := serve(t, shard.Service), serve(t, tablet.Service)
	remote := cli(t, nil, "render", "-f", path, "--remote", "shard="+shardAddr, "--remote", "tablet="+tabletAddr)
	if remote.code != 0 || remote.stdout != local.stdout {
		t.Errorf("exit %d; the running shard and tablet services render differently from the in-process layers: %s", remote.code, remote.stderr)
	}
	planned := cli(t, nil, "plan", "-f", edited(t, path, edits[0].edit), "--from", path, "--remote", "shard="+shardAddr)
	if planned.code != 0 || !strings.Contains(planned.stdout, "Pod replaced") {
		t.Errorf("exit %d: %s%s", planned.code, planned.stdout, planned.stderr)
	}
	// A layer that is not there: the error names it and its address.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := lis.Addr().String()
	lis.Close()
	down := cli(t, nil, "render", "-f", path, "--remote", "cell="+gone, "--remote-timeout", "300ms")
	if down.code != 1 || !strings.Contains(down.stderr, "the cell layer at "+gone) {
		t.Errorf("exit %d: %s", down.code, down.stderr)
	}
}

// echo is a ClusterService that reports the parent's cells in its status.
type echo struct{}

func (echo) Sync(_ context.Context, req *v1.ClusterSyncRequest) (*v1.ClusterSyncResponse, error) {
	return &v1.ClusterSyncResponse{Status: &v1.VitessClusterStatus{Cells: int32(len(req.GetParent().GetSpec().GetCells()))}}, nil
}

func (echo) Finalize(_ context.Context, _ *v1.ClusterSyncRequest) (*v1.ClusterSyncResponse, error) {
	return &v1.ClusterSyncResponse{Finalized: true}, nil
}

func TestSync(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	v1.RegisterClusterServiceServer(srv, echo{})
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	req := write(t, "req.json", `{"parent":{"metadata":{"name":"x"},"spec":{"cells":[{"name":"a"},{"name":"b"}]}}}`)
	addr := lis.Addr().String()
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sync", "--addr", addr, "cluster", req}, 0, `"cells": 2`},
		{[]string{"sync", "--addr", addr, "--finalize", "cluster", req}, 0, `"finalized": true`},
		{[]string{"sync", "--addr", addr, "cluster", examples["original"]}, 0, `"cells": 2`}, // a manifest, sent as Metacontroller first would
		{[]string{"sync", "--addr", addr, "vtgate", req}, 2, `unknown layer "vtgate"`},
	} {
		r := cli(t, nil, tt.args...)
		if r.code != tt.code || !strings.Contains(r.stdout+r.stderr, tt.want) {
			t.Errorf("%v: exit %d, out %s, err %s", tt.args, r.code, r.stdout, r.stderr)
		}
	}
}

// TestStrategiesMatchTheOverlays checks the update strategies the offline
// operator applies against deploy/overlays' CompositeControllers.
func TestStrategiesMatchTheOverlays(t *testing.T) {
	kinds := map[string]string{"pods": "Pod", "persistentvolumeclaims": "PersistentVolumeClaim", "jobs": "Job", "cronjobs": "CronJob", "services": "Service",
		"configmaps": "ConfigMap", "statefulsets": "StatefulSet", "deployments": "Deployment", "poddisruptionbudgets": "PodDisruptionBudget",
		"vitesscells": "VitessCell", "vitesskeyspaces": "VitessKeyspace", "vitessshards": "VitessShard", "vitesstablets": "VitessTablet"}
	seen := 0
	for _, l := range operator.Names {
		data, err := os.ReadFile(filepath.Join("..", "..", "deploy", "overlays", l, "kustomization.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var k struct {
			Patches []struct{ Patch string } `json:"patches"`
		}
		if err := yaml.Unmarshal(data, &k); err != nil {
			t.Fatal(err)
		}
		for _, p := range k.Patches {
			var ops []struct {
				Path  string `json:"path"`
				Value any    `json:"value"`
			}
			if yaml.Unmarshal([]byte(p.Patch), &ops) != nil {
				continue
			}
			for _, op := range ops {
				if op.Path != "/spec/childResources" {
					continue
				}
				b, _ := yaml.Marshal(op.Value)
				var children []struct {
					Resource       string `json:"resource"`
					UpdateStrategy struct {
						Method string `json:"method"`
					} `json:"updateStrategy"`
				}
				if err := yaml.Unmarshal(b, &children); err != nil {
					t.Fatal(err)
				}
				for _, c := range children {
					kind := kinds[c.Resource]
					want := operator.Strategies[kind]
					if want == "" {
						want = operator.InPlace
					}
					if kind == "" || string(want) != c.UpdateStrategy.Method {
						t.Errorf("the %s layer's %s: %s in deploy/overlays, %s offline", l, c.Resource, c.UpdateStrategy.Method, want)
					}
					seen++
				}
			}
		}
	}
	if seen < 10 {
		t.Errorf("read only %d child resources from deploy/overlays", seen)
	}
}
