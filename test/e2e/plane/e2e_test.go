package plane

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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
	"sigs.k8s.io/kustomize/api/krusty"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

var layers = []string{"cluster", "cell", "keyspace", "shard", "tablet"}

func repo() string { return filepath.Dir(filepath.Dir(root())) }

// render builds a kustomization of deploy/ into objects.
func render(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = kustypes.LoadRestrictionsNone
	m, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), filepath.Join(repo(), "deploy", dir))
	if err != nil {
		t.Fatal(err)
	}
	var out []*unstructured.Unstructured
	for _, r := range m.Resources() {
		b, err := r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(b); err != nil {
			t.Fatal(err)
		}
		out = append(out, u)
	}
	return out
}

var resources = map[string]schema.GroupVersionResource{
	"CustomResourceDefinition":         {Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"},
	"ValidatingAdmissionPolicy":        {Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingadmissionpolicies"},
	"ValidatingAdmissionPolicyBinding": {Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingadmissionpolicybindings"},
	"Node":                             {Version: "v1", Resource: "nodes"},
	"PersistentVolume":                 {Version: "v1", Resource: "persistentvolumes"},
	"VitessCluster":                    {Group: "vitess.io", Version: "v1alpha1", Resource: "vitessclusters"},
}

func create(t *testing.T, c dynamic.Interface, o *unstructured.Unstructured) {
	t.Helper()
	r := c.Resource(resources[o.GetKind()])
	var err error
	if o.GetNamespace() != "" {
		_, err = r.Namespace(o.GetNamespace()).Create(context.Background(), o, metav1.CreateOptions{})
	} else {
		_, err = r.Create(context.Background(), o, metav1.CreateOptions{})
	}
	if err != nil {
		t.Fatalf("create %s %s: %v", o.GetKind(), o.GetName(), err)
	}
}

func obj(t *testing.T, s string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(s), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

// service is a running layer service that a test can stop and start again
// on the same address.
type service struct {
	bin, addr, log string
	cmd            *exec.Cmd
}

func (s *service) start(ctx context.Context) error {
	log, err := os.OpenFile(s.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, s.bin)
	cmd.Env = append(os.Environ(), "VTMETA_HTTP_ADDR="+s.addr, "VTMETA_GRPC_ADDR=127.0.0.1:0", "VTMETA_LOG_LEVEL=warn")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return err
	}
	s.cmd = cmd
	go func() { _ = cmd.Wait(); log.Close() }()
	return waitHTTP(ctx, "http://"+s.addr+"/readyz", nil)
}

func (s *service) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		time.Sleep(100 * time.Millisecond)
	}
}

// services builds and starts the five layer services on loopback ports.
func services(t *testing.T, ctx context.Context, dir string) map[string]*service {
	t.Helper()
	out := map[string]*service{}
	for _, l := range layers {
		bin := filepath.Join(dir, "vtmeta-"+l)
		build := exec.Command("go", "build", "-o", bin, ".")
		build.Dir = filepath.Join(repo(), "services", l)
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", l, err, out)
		}
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		svc := &service{bin: bin, addr: lis.Addr().String(), log: filepath.Join(dir, l+".log")}
		lis.Close()
		if err := svc.start(ctx); err != nil {
			t.Fatalf("%s service: %v", l, err)
		}
		t.Cleanup(svc.stop)
		out[l] = svc
	}
	return out
}

// composites are the overlays' CompositeControllers, hooks pointed at the
// local services.
func composites(t *testing.T, svcs map[string]*service) []Composite {
	t.Helper()
	var out []Composite
	for _, l := range layers {
		for _, o := range render(t, filepath.Join("overlays", l)) {
			if o.GetKind() != "CompositeController" {
				continue
			}
			var cc struct {
				Spec struct {
					ParentResource struct{ APIVersion, Resource string } `json:"parentResource"`
					ChildResources []struct {
						APIVersion, Resource string
						UpdateStrategy       struct{ Method string } `json:"updateStrategy"`
					} `json:"childResources"`
				} `json:"spec"`
			}
			b, _ := json.Marshal(o.Object)
			if err := json.Unmarshal(b, &cc); err != nil {
				t.Fatal(err)
			}
			c := Composite{Raw: o.Object, ParentAPIVersion: cc.Spec.ParentResource.APIVersion, ParentResource: cc.Spec.ParentResource.Resource, Hook: "http://" + svcs[l].addr + "/sync"}
			for _, ch := range cc.Spec.ChildResources {
				c.Children = append(c.Children, Child{APIVersion: ch.APIVersion, Resource: ch.Resource, Method: ch.UpdateStrategy.Method})
			}
			out = append(out, c)
		}
	}
	return out
}

func condition(u *unstructured.Unstructured, typ string) (string, string) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == typ {
			s, _ := m["status"].(string)
			msg, _ := m["message"].(string)
			return s, msg
		}
	}
	return "", ""
}

// TestOriginalExampleOnARealControlPlane applies the original example to a
// real kube-apiserver with kwok nodes, the five services and the
// Metacontroller stand-in, and checks that it comes up Ready with every
// expected object, that deletion protection holds, and that kubectl's
// printer columns and explain text are there.
func TestOriginalExampleOnARealControlPlane(t *testing.T) {
	if os.Getenv("VTMETA_E2E") == "" {
		t.Skip("set VTMETA_E2E=1 (make test-e2e) to run against a real control plane")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	dir := t.TempDir()
	p, err := Start(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	c, err := dynamic.NewForConfig(p.Config)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		create(t, c, obj(t, fmt.Sprintf(`{"apiVersion":"v1","kind":"Node","metadata":{"name":"kwok-node-%d","labels":{"kubernetes.io/hostname":"kwok-node-%d","type":"kwok"},"annotations":{"kwok.x-k8s.io/node":"fake"}},
"status":{"allocatable":{"cpu":"64","memory":"256Gi","pods":"110"},"capacity":{"cpu":"64","memory":"256Gi","pods":"110"}}}`, i, i)))
	}
	// Admission taints new nodes not-ready; without a kubelet and with the
	// node lifecycle controller off (nodes renew no leases), nothing would
	// lift it.
	nodes := c.Resource(resources["Node"])
	for i := range 3 {
		if _, err := nodes.Patch(ctx, fmt.Sprintf("kwok-node-%d", i), types.MergePatchType, []byte(`{"spec":{"taints":null}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 24 {
		create(t, c, obj(t, fmt.Sprintf(`{"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"pv-%02d"},
"spec":{"capacity":{"storage":"1Ti"},"accessModes":["ReadWriteOnce"],"persistentVolumeReclaimPolicy":"Retain","hostPath":{"path":"/tmp/pv-%02d"}}}`, i, i)))
	}
	for _, dirName := range []string{"crds", "policy"} {
		for _, o := range render(t, dirName) {
			create(t, c, o)
		}
	}
	time.Sleep(3 * time.Second) // CRDs become established
	svcs := services(t, ctx, dir)
	mc := &Metacontroller{Client: c, Controllers: composites(t, svcs)}
	go mc.Run(ctx, 300*time.Millisecond)

	vc := obj(t, mustRead(t, filepath.Join(repo(), "deploy", "examples", "original", "my-vitess.yaml")))
	vc.SetNamespace("default")
	create(t, c, vc)
	vcs := c.Resource(resources["VitessCluster"]).Namespace("default")
	deadline := time.Now().Add(4 * time.Minute)
	for {
		got, err := vcs.Get(ctx, "vitess", metav1.GetOptions{})
		if err == nil {
			if st, _ := condition(got, "Ready"); st == "True" {
				break
			}
		}
		if time.Now().After(deadline) {
			_, msg := condition(got, "Ready")
			mc.mu.Lock()
			t.Fatalf("the original example did not become Ready: %s\nstand-in errors (last): %s\nkube-controller-manager: %s\nkube-scheduler: %s",
				msg, strings.Join(tailOf(mc.Errors, 10), "\n"), p.Logs("kube-controller-manager", 12), p.Logs("kube-scheduler", 6))
		}
		time.Sleep(time.Second)
	}
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

	// kubectl get vitess: the printer columns.
	table, err := get(p.Config, "/apis/vitess.io/v1alpha1/namespaces/default/vitessclusters", "application/json;as=Table;v=v1;g=meta.k8s.io")
	if err != nil || !strings.Contains(string(table), `"name":"Ready-Cells"`) || !strings.Contains(string(table), `"vitess"`) {
		t.Errorf("printer columns: %v %.500s", err, table)
	}
	// kubectl explain: the proto comments in the published schema.
	openapi, err := get(p.Config, "/openapi/v3/apis/vitess.io/v1alpha1", "application/json")
	if err != nil || !strings.Contains(string(openapi), "cells are the cluster's cells") {
		t.Errorf("explain text missing from the OpenAPI schema: %v", err)
	}

	t.Run("image edit rolls through every layer", func(t *testing.T) { rollout(t, ctx, c, vcs) })
	t.Run("scale down and up keeps the volume", func(t *testing.T) { scale(t, ctx, c, vcs) })
	t.Run("invalid edits are refused", func(t *testing.T) { invalid(t, ctx, vcs) })
	t.Run("a hook restarted mid-rollout", func(t *testing.T) { restart(t, ctx, c, vcs, svcs["shard"]) })

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
		t.Errorf("deleting an unprotected cluster: %v", err)
	}
}

// get reads a path of the apiserver as the administrator.
func get(c *rest.Config, path, accept string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, c.Host+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.BearerToken)
	req.Header.Set("Accept", accept)
	resp, err := (&http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: insecureTLS()}}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return b, fmt.Errorf("GET %s: %d", path, resp.StatusCode)
	}
	return b, err
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func tailOf(s []string, n int) []string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

var (
	podsGVR   = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	claimsGVR = schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumeclaims"}
	deployGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
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
			r, _ := condition(got, "Ready")
			u, _ := condition(got, "Updated")
			if og == gen && r == "True" && u == "True" {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	got, _ := vcs.Get(ctx, "vitess", metav1.GetOptions{})
	og, _, _ := unstructured.NestedInt64(got.Object, "status", "observedGeneration")
	_, ready := condition(got, "Ready")
	_, updated := condition(got, "Updated")
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
	conds, _, _ := unstructured.NestedSlice(p.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Ready" {
			return m["status"] == "True"
		}
	}
	return false
}

// rollout is scenario 2: an image edit replaces tablet Pods one at a time,
// rdonly first in each shard, vtgate after the tablets; claims keep their
// identity.
func rollout(t *testing.T, ctx context.Context, c dynamic.Interface, vcs dynamic.ResourceInterface) {
	claims := claimUIDs(t, ctx, c)
	old := map[string]types.UID{}
	for _, p := range tabletPods(t, ctx, c) {
		old[p.GetName()] = p.GetUID()
	}
	var replaced []string
	seen := map[string]bool{}
	gateMovedWith := -1
	edit(t, ctx, vcs, func(spec map[string]any) {
		ks := spec["keyspaces"].([]any)[0].(map[string]any)
		ks["tablets"].(map[string]any)["defaults"].(map[string]any)["image"] = "vitess/lite:v24.0.3"
		spec["cells"].([]any)[1].(map[string]any)["vtgate"].(map[string]any)["image"] = "vitess/lite:v24.0.3"
	}, func() {
		down := 0
		pods := tabletPods(t, ctx, c)
		for _, p := range pods {
			if p.GetUID() != old[p.GetName()] && !seen[p.GetName()] {
				seen[p.GetName()] = true
				replaced = append(replaced, p.GetName())
			}
			if !podReady(p) || p.GetDeletionTimestamp() != nil {
				down++
			}
		}
		down += len(old) - len(pods)
		if down > 1 {
			t.Errorf("%d tablet Pods down at once", down)
		}
		if gateMovedWith < 0 {
			d, err := c.Resource(deployGVR).Namespace("default").Get(ctx, "vitess-zone1-vtgate", metav1.GetOptions{})
			if err == nil && strings.Contains(fmt.Sprint(d.Object["spec"]), "v24.0.3") {
				gateMovedWith = len(replaced)
			}
		}
	})
	if len(replaced) != 6 {
		t.Errorf("replaced %v, want all 6 tablet Pods", replaced)
	}
	if gateMovedWith >= 0 && gateMovedWith < 6 {
		t.Errorf("vtgate moved after only %d of 6 tablets", gateMovedWith)
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
	const gone = "vitess-vttablet-zone1-0214747901"
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

// restart is scenario 6: the shard service dies in the middle of a
// rollout; nothing is lost while it is down, and once it is back the
// rollout resumes and completes.
func restart(t *testing.T, ctx context.Context, c dynamic.Interface, vcs dynamic.ResourceInterface, shard *service) {
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
		shard.stop()
		time.Sleep(3 * time.Second) // Metacontroller's calls to it fail meanwhile
		if n := len(claimUIDs(t, ctx, c)); n < len(claims) {
			t.Errorf("claims went missing while the shard service was down: %d of %d", n, len(claims))
		}
		if err := shard.start(ctx); err != nil {
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
