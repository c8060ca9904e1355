package layer

import (
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/vtmeta/vtmeta/internal/conditions"
	"github.com/vtmeta/vtmeta/internal/golden"
	"github.com/vtmeta/vtmeta/internal/kjson"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

const name = "vitess-vttablet-zone1-1327744200"

func TestGolden(t *testing.T) {
	golden.Run(t, "testdata", Sync)
}

func load(t *testing.T, file string) *v1.TabletSyncRequest {
	t.Helper()
	return golden.Load[*v1.TabletSyncRequest](t, "testdata/"+file+".request.json")
}

// newSim starts a tablet whose Pod and claim exist and are ready.
func newSim(t *testing.T) *golden.Loop[*v1.TabletSyncRequest, *v1.TabletSyncResponse] {
	s := golden.NewLoop(t, load(t, "create-rdonly"), Sync)
	s.Apply()
	s.API.ReadyAll()
	return s
}

func pod(t *testing.T, resp *v1.TabletSyncResponse) *corev1.Pod {
	t.Helper()
	for _, c := range resp.GetChildren() {
		if strings.Contains(string(c.GetJson()), `"kind":"Pod"`) {
			var p corev1.Pod
			if err := json.Unmarshal(c.GetJson(), &p); err != nil {
				t.Fatal(err)
			}
			return &p
		}
	}
	return nil
}

func TestPodRunsCurrentVitess(t *testing.T) {
	resp, err := Sync(golden.Context(), load(t, "create-rdonly"))
	if err != nil {
		t.Fatal(err)
	}
	p := pod(t, resp)
	if p == nil || len(resp.GetChildren()) != 2 {
		t.Fatalf("want a claim and a Pod, got %d children", len(resp.GetChildren()))
	}
	if p.Name != name || p.Spec.Hostname != name || p.Spec.Subdomain != "vitess-zone1-vttablet" {
		t.Errorf("pod %s host %s.%s", p.Name, p.Spec.Hostname, p.Spec.Subdomain)
	}
	args := map[string]string{}
	for _, c := range p.Spec.Containers {
		for _, a := range c.Args {
			if !strings.HasPrefix(a, "--") {
				t.Errorf("%s: %q is not a flag", c.Name, a)
			}
			k, v, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
			if strings.Contains(k, "_") {
				t.Errorf("%s: flag %q has an underscore; Vitess v25 takes dashes only", c.Name, k)
			}
			args[c.Name+" "+k] = v
		}
	}
	want := map[string]string{
		"vttablet topo-implementation":        "etcd2",
		"vttablet topo-global-server-address": "vitess-etcd-client.default.svc:2379",
		"vttablet topo-global-root":           "/vitess/global",
		"vttablet tablet-path":                "zone1-1327744200",
		"vttablet tablet-hostname":            name + ".vitess-zone1-vttablet.default.svc",
		"vttablet init-keyspace":              "main",
		"vttablet init-shard":                 "-80",
		"vttablet init-tablet-type":           "rdonly",
		"vttablet port":                       "15000",
		"vttablet grpc-port":                  "15999",
		"vttablet mysqlctl-socket":            "/vt/vtdataroot/mysqlctl.sock",
		"mysqld tablet-uid":                   "1327744200",
		"mysqld mysql-port":                   "3306",
		"mysqld socket-file":                  "/vt/vtdataroot/mysqlctl.sock",
	}
	for k, v := range want {
		if args[k] != v {
			t.Errorf("%s = %q, want %q", k, args[k], v)
		}
	}
	my, vt := p.Spec.Containers[0], p.Spec.Containers[1]
	if vt.Image != "vitess/lite:v2.1.1" || my.Image != "mysql:8.4.6" || p.Spec.InitContainers[0].Image != vt.Image {
		t.Errorf("images %s, %s", vt.Image, my.Image)
	}
	if vt.Resources.Limits.Cpu().String() != "100m" || my.Resources.Limits.Memory().String() != "256Mi" {
		t.Errorf("resources %v / %v", vt.Resources, my.Resources)
	}
	if vt.ReadinessProbe.HTTPGet.Path != "/debug/health" {
		t.Error("readiness must follow vttablet's serving health")
	}
	sc := p.Spec.SecurityContext
	if !*sc.RunAsNonRoot || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault || *vt.SecurityContext.AllowPrivilegeEscalation {
		t.Error("the Pod must run non-root, RuntimeDefault seccomp, without privilege escalation")
	}
	if p.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != name || p.Labels["vitess.io/component"] != "vttablet" {
		t.Errorf("volume %v, labels %v", p.Spec.Volumes[0], p.Labels)
	}
}

func TestSpecChangeReplacesThePodNotTheClaim(t *testing.T) {
	s := newSim(t)
	claim := s.API.Raw("PersistentVolumeClaim", name)
	s.Req.Parent.Spec.Pool.Image = "vitess/lite:v25.0.0"
	s.Req.Parent.Metadata.Generation++
	if changed := s.Apply(); len(changed) != 1 || changed[0] != "Pod "+name {
		t.Errorf("changed %v, want only the Pod", changed)
	}
	if s.API.Raw("PersistentVolumeClaim", name) != claim {
		t.Error("the claim changed with the Pod's spec")
	}
	st := s.Sync().GetStatus()
	if conditions.Find(st.GetConditions(), conditions.Ready).GetStatus() != conditions.False {
		t.Error("a replaced Pod is not Ready until it says so")
	}
	s.API.SetReady(name, true)
	st = s.Sync().GetStatus()
	if !st.GetUpdated() || conditions.Find(st.GetConditions(), conditions.Ready).GetStatus() != conditions.True || !st.GetVolumeBound() {
		t.Errorf("status %v", st)
	}
}

func TestResizeExpandsTheClaimOnly(t *testing.T) {
	s := newSim(t)
	s.Req.Parent.Spec.Pool.VolumeClaim.Resources.Requests["storage"] = "8Gi"
	s.Req.Parent.Spec.Pool.VolumeClaim.AccessModes = []string{"ReadWriteMany"} // not applied to an existing claim
	changed := s.Apply()
	claim := s.API.Raw("PersistentVolumeClaim", name)
	if len(changed) != 1 || changed[0] != "PersistentVolumeClaim "+name || !strings.Contains(claim, `"storage":"8Gi"`) ||
		strings.Contains(claim, "ReadWriteMany") {
		t.Errorf("changed %v; claim %s", changed, claim)
	}
	resp := s.Sync()
	golden.Compare(t, "testdata/resize.response.json", mustMarshal(t, resp))
	if c := conditions.Find(resp.GetStatus().GetConditions(), VolumeMatchesSpec); c.GetStatus() != conditions.False || !strings.Contains(c.GetMessage(), "spec.pool.volumeClaim.accessModes") {
		t.Errorf("%s = %v: the access modes the claim keeps must be named", VolumeMatchesSpec, c)
	}
	s.Req.Parent.Spec.Pool.VolumeClaim.Resources.Requests["storage"] = "2Gi"
	s.Req.Parent.Spec.Pool.VolumeClaim.AccessModes = nil
	class := "fast"
	s.Req.Parent.Spec.Pool.VolumeClaim.StorageClassName = &class
	if changed := s.Apply(); len(changed) != 0 {
		t.Errorf("a smaller size and a storage class changed %v: claims cannot shrink, nor change class", changed)
	}
	c := conditions.Find(s.Sync().GetStatus().GetConditions(), VolumeMatchesSpec)
	for _, want := range []string{"resources.requests.storage: 2Gi is smaller than the claim's 8Gi", "storageClassName: the claim keeps \"\""} {
		if !strings.Contains(c.GetMessage(), want) {
			t.Errorf("%s = %v, want it to say %q", VolumeMatchesSpec, c, want)
		}
	}
}

func TestRetiredTabletKeepsItsVolume(t *testing.T) {
	s := newSim(t)
	s.Req.Parent.Spec.Retired = true
	resp := s.Sync()
	if pod(t, resp) != nil || len(resp.GetChildren()) != 1 || !strings.Contains(string(resp.GetChildren()[0].GetJson()), `"kind":"PersistentVolumeClaim"`) {
		t.Fatalf("a retired tablet keeps its claim and has no Pod: %d children", len(resp.GetChildren()))
	}
	if c := conditions.Find(resp.GetStatus().GetConditions(), conditions.Ready); c.GetReason() != "Retiring" {
		t.Errorf("Ready = %v while the Pod is still there", c)
	}
	s.Apply()
	resp = s.Sync()
	golden.Compare(t, "testdata/retired.response.json", mustMarshal(t, resp))
	if resp.GetStatus().GetPhase() != PhaseRetired || conditions.Find(resp.GetStatus().GetConditions(), conditions.Ready).GetStatus() != conditions.True {
		t.Errorf("status %v", resp.GetStatus())
	}
	s.Req.Parent.Spec.Retired = false
	if changed := s.Apply(); len(changed) != 1 || changed[0] != "Pod "+name {
		t.Errorf("reactivating changed %v, want the Pod back on the same claim", changed)
	}
}

func TestOddObservedStates(t *testing.T) {
	t.Run("Pod missing is recreated", func(t *testing.T) {
		s := newSim(t)
		delete(s.API.Children()["Pod.v1"].GetObjects(), "default/"+name)
		objs := s.API.Children()
		delete(objs, "Pod.v1")
		s.Req.Children = objs
		resp, err := Sync(golden.Context(), s.Req)
		if err != nil {
			t.Fatal(err)
		}
		if pod(t, resp) == nil || conditions.Find(resp.GetStatus().GetConditions(), conditions.Ready).GetReason() != "PodNotReady" || resp.GetStatus().GetPhase() != "Pending" {
			t.Errorf("status %v", resp.GetStatus())
		}
	})
	t.Run("claim Lost holds everything", func(t *testing.T) {
		s := newSim(t)
		objs := s.API.Children()
		for _, o := range objs["PersistentVolumeClaim.v1"].GetObjects() {
			o.Status.Phase = "Lost"
		}
		s.Req.Children = objs
		s.Req.Parent.Spec.Pool.Image = "vitess/lite:v99"
		resp, err := Sync(golden.Context(), s.Req)
		if err != nil {
			t.Fatal(err)
		}
		if changed, _ := s.API.Clone().Apply(resp.GetChildren()); len(changed) != 0 {
			t.Errorf("a Lost claim changed %v", changed)
		}
		if c := conditions.Find(resp.GetStatus().GetConditions(), conditions.Ready); c.GetReason() != "VolumeLost" {
			t.Errorf("Ready = %v", c)
		}
	})
	t.Run("claim Pending", func(t *testing.T) {
		s := newSim(t)
		objs := s.API.Children()
		for _, o := range objs["PersistentVolumeClaim.v1"].GetObjects() {
			o.Status.Phase = "Pending"
		}
		s.Req.Children = objs
		resp, err := Sync(golden.Context(), s.Req)
		if err != nil {
			t.Fatal(err)
		}
		if c := conditions.Find(resp.GetStatus().GetConditions(), conditions.Ready); c.GetReason() != "VolumePending" || pod(t, resp) == nil {
			t.Errorf("Ready = %v", c)
		}
	})
	t.Run("claim without last-applied fails the sync", func(t *testing.T) {
		s := newSim(t)
		objs := s.API.Children()
		for _, o := range objs["PersistentVolumeClaim.v1"].GetObjects() {
			delete(o.Metadata.Annotations, "metacontroller.k8s.io/last-applied-configuration")
		}
		s.Req.Children = objs
		if _, err := Sync(golden.Context(), s.Req); err == nil {
			t.Error("a claim that cannot be sent back as it was must fail the sync (non-200), never be dropped")
		}
	})
}

func TestInvalidSpecFreezes(t *testing.T) {
	tests := map[string]func(sp *v1.VitessTabletSpec){
		"bad quantity": func(sp *v1.VitessTabletSpec) {
			sp.Pool.Vttablet.Resources.Limits["cpu"] = "lots"
		},
		"bad affinity": func(sp *v1.VitessTabletSpec) {
			sp.Pool.Scheduling = &v1.Scheduling{Affinity: &v1.Raw{Json: []byte(`{"nodeAffinity":{"bogus":1}}`)}}
		},
		"no volume size": func(sp *v1.VitessTabletSpec) { sp.Pool.VolumeClaim = nil },
		"bad type":       func(sp *v1.VitessTabletSpec) { sp.Type = "primary" },
	}
	for name, edit := range tests {
		t.Run(name, func(t *testing.T) {
			s := newSim(t)
			edit(s.Req.Parent.Spec)
			resp := s.Sync()
			if changed, _ := s.API.Clone().Apply(resp.GetChildren()); len(changed) != 0 || len(resp.GetChildren()) != 2 {
				t.Errorf("an invalid spec changed %v (%d children)", changed, len(resp.GetChildren()))
			}
			if c := conditions.Find(resp.GetStatus().GetConditions(), conditions.Ready); c.GetReason() != conditions.ReasonInvalidSpec || !strings.Contains(c.GetMessage(), "spec.") {
				t.Errorf("Ready = %v", c)
			}
		})
	}
}

func mustMarshal(t *testing.T, resp *v1.TabletSyncResponse) []byte {
	t.Helper()
	b, err := kjson.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRenderedFlagsAreVitessFlags checks every flag the golden responses
// give a Vitess binary against that binary's own flag list.
func TestRenderedFlagsAreVitessFlags(t *testing.T) {
	seen := golden.VitessFlagsIn(t, "testdata")
	if len(seen) < 5 {
		t.Errorf("only %d flags checked: %v", len(seen), seen)
	}
	// vttablet starts through a script that waits for mysqld (startup.go):
	// its flags are checked all the same.
	for _, want := range []string{"vttablet --tablet-path", "mysqlctld --tablet-uid"} {
		if !seen[want] {
			t.Errorf("%s not checked: %v", want, seen)
		}
	}
}
