package layer

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"

	"github.com/vtmeta/vtmeta/internal/conditions"
	"github.com/vtmeta/vtmeta/internal/golden"
	"github.com/vtmeta/vtmeta/internal/spec"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

func TestGolden(t *testing.T) {
	golden.Run(t, "testdata", Sync)
}

func load(t *testing.T, name string) *v1.CellSyncRequest {
	t.Helper()
	return golden.Load[*v1.CellSyncRequest](t, "testdata/"+name+".request.json")
}

// kinds lists "Kind name" of every child, in order.
func kinds(t *testing.T, resp *v1.CellSyncResponse) []string {
	t.Helper()
	var out []string
	for _, c := range resp.GetChildren() {
		var head struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name   string            `json:"name"`
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(c.GetJson(), &head); err != nil {
			t.Fatal(err)
		}
		out = append(out, head.Kind+" "+head.Metadata.Name)
	}
	return out
}

func TestGlobalCellOfTheOriginalExample(t *testing.T) {
	req := load(t, "original-global")
	resp, err := Sync(golden.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(kinds(t, resp), "\n")
	for _, want := range []string{
		"Service vitess-etcd-peer", "Service vitess-etcd-client", "StatefulSet vitess-etcd", "PodDisruptionBudget vitess-etcd",
		"Deployment vitess-global-vtctld", "Service vitess-global-vtctld",
		"Deployment vitess-global-vtorc", "Service vitess-global-vtorc",
		"Service vitess-global-vttablet", "Job vitess-global-keyspace-main-",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %s in\n%s", want, got)
		}
	}
	if strings.Contains(got, "vtgate") || strings.Contains(got, "VitessKeyspace") {
		t.Error("the global cell serves no keyspace and runs no vtgate")
	}
	if strings.Contains(got, "register-cell") {
		t.Error("the global cell is the topology's home, not a Vitess cell: it must not be registered (Vitess reads a cell named global as the global topology)")
	}
	for _, c := range resp.GetChildren() {
		var o struct {
			Metadata struct {
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
		}
		_ = json.Unmarshal(c.GetJson(), &o)
		for k, v := range req.GetParent().GetSpec().GetSelector().GetMatchLabels() {
			if o.Metadata.Labels[k] != v {
				t.Errorf("a child does not satisfy the cell's selector (%s): %.200s", k, c.GetJson())
			}
		}
		s := string(c.GetJson())
		if strings.Contains(s, `"kind":"StatefulSet"`) {
			var sts appsv1.StatefulSet
			_ = json.Unmarshal(c.GetJson(), &sts)
			if *sts.Spec.Replicas != 3 || sts.Spec.Template.Spec.Containers[0].Image != "quay.io/coreos/etcd:v3.2.11" ||
				!strings.Contains(strings.Join(sts.Spec.Template.Spec.Containers[0].Args, " "), "vitess-etcd-2=http://vitess-etcd-2.vitess-etcd-peer.default.svc:2380") {
				t.Errorf("etcd %v", sts.Spec.Template.Spec.Containers[0])
			}
		}
		if strings.Contains(s, "_") && strings.Contains(s, `"args"`) {
			var d struct {
				Spec struct {
					Template struct {
						Spec struct {
							Containers []struct{ Args []string } `json:"containers"`
						} `json:"spec"`
					} `json:"template"`
				} `json:"spec"`
			}
			_ = json.Unmarshal(c.GetJson(), &d)
			for _, ct := range d.Spec.Template.Spec.Containers {
				for _, a := range ct.Args {
					if k, _, _ := strings.Cut(a, "="); strings.Contains(k, "_") {
						t.Errorf("flag %s has an underscore", k)
					}
				}
			}
		}
	}
}

func TestZoneCellOfTheOriginalExample(t *testing.T) {
	resp, err := Sync(golden.Context(), load(t, "original-zone1"))
	if err != nil {
		t.Fatal(err)
	}
	got := kinds(t, resp)
	joined := strings.Join(got, "\n")
	for _, want := range []string{"VitessKeyspace vitess-zone1-main", "Deployment vitess-zone1-vtgate", "Service vitess-zone1-vtgate", "PodDisruptionBudget vitess-zone1-vtgate", "Service vitess-zone1-vttablet"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no %s in\n%s", want, joined)
		}
	}
	if strings.Contains(joined, "etcd") || strings.Contains(joined, "vtctld") || strings.Contains(joined, "keyspace-main") {
		t.Error("zone1 runs no topology, vtctld or keyspace setup")
	}
	// vtgate is last: tablets move before the gateways that route to them.
	last := got[len(got)-3:]
	for _, k := range last {
		if !strings.Contains(k, "vtgate") {
			t.Errorf("the vtgate objects must come last: %v", got)
		}
	}
}

// TestRolloutOrder edits the image of every Vitess component and drives
// the sync loop: etcd first, then vtctld and vtorc, then the Jobs, then
// the keyspaces, vtgate last — one object per step.
func TestRolloutOrder(t *testing.T) {
	req := load(t, "every-option-global")
	zone := load(t, "every-option-zone")
	req.Parent.Spec.Vtgate = zone.Parent.Spec.Vtgate
	req.Parent.Spec.Keyspaces = zone.Parent.Spec.Keyspaces
	rename(req.Parent, "hub") // a cell with tablets and vtgates cannot be called global
	l := golden.NewLoop(t, req, Sync)
	api, sync := l.API, l.Sync
	l.Apply()
	api.ReadyAll()
	ready(api)
	if c := conditions.Find(sync().GetStatus().GetConditions(), conditions.Ready); c.GetStatus() != conditions.True {
		t.Fatalf("Ready = %v after everything is ready", c)
	}
	imgs := req.Parent.Spec.ClusterConfig.Images
	imgs.Vtctld, imgs.Vtorc, imgs.Vtgate, imgs.Etcd = "vitess/lite:v25.0.0", "vitess/lite:v25.0.0", "vitess/lite:v25.0.0", "quay.io/coreos/etcd:v3.6.0"
	req.Parent.Spec.Etcd.Image = ""
	req.Parent.Spec.ClusterConfig.Topology.GlobalRoot = "/vitess/global" // unchanged
	req.Parent.Metadata.Generation++
	var moved []string
	for step := 0; step < 30; step++ {
		changed := l.Apply()
		if len(changed) > 1 {
			t.Fatalf("step %d moved %v at once", step, changed)
		}
		moved = append(moved, changed...)
		ready(api)
	}
	order := fmt.Sprint(moved)
	idx := func(s string) int { return strings.Index(order, s) }
	if !(idx("StatefulSet") < idx("Deployment full-hub-vtctld") && idx("Deployment full-hub-vtctld") < idx("Deployment full-hub-vtorc") &&
		idx("Deployment full-hub-vtorc") < idx("Job") && idx("Job") < idx("VitessKeyspace") && idx("VitessKeyspace") < idx("Deployment full-hub-vtgate")) {
		t.Errorf("rollout order %s: want etcd, vtctld, vtorc, Jobs, keyspaces, vtgate last", order)
	}
	st := sync().GetStatus()
	if conditions.Find(st.GetConditions(), conditions.Updated).GetStatus() != conditions.True || !st.GetCellRegistered() ||
		st.GetVtgate().GetDesired() != 3 || st.GetKeyspaces() != 2 {
		t.Errorf("final status %v", st)
	}
}

// ready marks every workload, Job and keyspace of the simulation done, and
// every VSchema Pod ended having applied its VSchema.
func ready(api *golden.Cluster) {
	for _, m := range api.Children() {
		for _, o := range m.GetObjects() {
			o.Status = &v1.ObjectStatus{
				ObservedGeneration: o.GetMetadata().GetGeneration(),
				Replicas:           3, ReadyReplicas: 3, UpdatedReplicas: 3,
				Conditions: []*v1.Condition{{Type: "Ready", Status: "True"}, {Type: "Updated", Status: "True"}, {Type: "Complete", Status: "True"}},
			}
			if o.GetKind() == "Pod" {
				o.Status = &v1.ObjectStatus{Phase: "Succeeded", ContainerStatuses: []*v1.ContainerStatus{{Name: "vschema",
					State: &v1.ContainerState{Terminated: &v1.ContainerTerminated{Message: "applied"}}}}}
			}
		}
	}
}

func TestInvalidCellHolds(t *testing.T) {
	req := load(t, "original-zone1")
	api := golden.NewCluster()
	resp, err := Sync(golden.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Apply(resp.GetChildren()); err != nil {
		t.Fatal(err)
	}
	n := int32(-1)
	req.Parent.Spec.Vtgate.Replicas = &n
	req.Children = api.Children()
	resp, err = Sync(golden.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if changed, _ := api.Clone().Apply(resp.GetChildren()); len(changed) != 0 {
		t.Errorf("an invalid cell changed %v", changed)
	}
	if c := conditions.Find(resp.GetStatus().GetConditions(), conditions.Ready); c.GetReason() != conditions.ReasonInvalidSpec || !strings.Contains(c.GetMessage(), "spec.vtgate.replicas") {
		t.Errorf("Ready = %v", c)
	}
}

// TestVtgateServesKeyspacesOfOtherCells: a cell whose vtgates serve a
// keyspace with no tablet in the cell watches the cells with tablets and
// builds that keyspace's serving graph in its own topology, where vtgate
// reads it.
func TestVtgateServesKeyspacesOfOtherCells(t *testing.T) {
	req := load(t, "every-option-zone")
	rename(req.Parent, "us-east-1b")
	req.Parent.Spec.RemoteKeyspaces = []*v1.RemoteKeyspace{{Name: "lookup", Shards: []string{"0"}}, {Name: "orders", Shards: []string{"-80", "80-"}}}
	resp, err := Sync(golden.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	var job *batchv1.Job
	var gate *appsv1.Deployment
	for _, c := range resp.GetChildren() {
		s := string(c.GetJson())
		switch {
		case strings.Contains(s, `"kind":"Job"`) && strings.Contains(s, "rebuild-serving"):
			job = &batchv1.Job{}
			if err := json.Unmarshal(c.GetJson(), job); err != nil {
				t.Fatal(err)
			}
		case strings.Contains(s, `"kind":"Deployment"`) && strings.Contains(s, "vtgate"):
			gate = &appsv1.Deployment{}
			if err := json.Unmarshal(c.GetJson(), gate); err != nil {
				t.Fatal(err)
			}
		}
	}
	if job == nil || gate == nil {
		t.Fatalf("want a rebuild Job and a vtgate: %v", kinds(t, resp))
	}
	// What the Job runs: TestJobScriptsCallVtctld.
	if args := strings.Join(gate.Spec.Template.Spec.Containers[0].Args, " "); !strings.Contains(args, "--cells-to-watch=us-east-1a,us-east-1b") || !strings.Contains(args, "--cell=us-east-1b") {
		t.Errorf("vtgate args %s", args)
	}
	// A new shard builds the graph again: the Job's name follows the shards.
	req.Parent.Spec.RemoteKeyspaces[0].Shards = []string{"-80", "80-"}
	again, err := Sync(golden.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.Join(kinds(t, again), "\n"), "Job "+job.Name) {
		t.Errorf("the rebuild Job %s kept its name after the shards changed", job.Name)
	}
}

// TestAGlobalCellWithTabletsIsRefused: Vitess reads a cell named global as
// the global topology.
func TestAGlobalCellWithTabletsIsRefused(t *testing.T) {
	req := load(t, "original-zone1")
	req.Parent.Spec.Name = "global"
	resp, err := Sync(golden.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	c := conditions.Find(resp.GetStatus().GetConditions(), conditions.Ready)
	if c.GetReason() != conditions.ReasonInvalidSpec || !strings.Contains(c.GetMessage(), "spec.name: Vitess reserves the cell name \"global\"") {
		t.Errorf("Ready = %v", c)
	}
}

// TestRenderedFlagsAreVitessFlags checks every flag the golden responses
// give a Vitess binary against that binary's own flag list.
func TestRenderedFlagsAreVitessFlags(t *testing.T) {
	if seen := golden.VitessFlagsIn(t, "testdata"); len(seen) < 5 {
		t.Errorf("only %d flags checked: %v", len(seen), seen)
	}
}

// TestChildrenCarryOnlyTheirOwnHash checks that the hash stamped on one
// child reaches no other: a child that carried a sibling's hash would be
// rewritten (a Deployment restarted) whenever that sibling changes.
func TestChildrenCarryOnlyTheirOwnHash(t *testing.T) {
	golden.EachRequest(t, "testdata", func(path string, req *v1.CellSyncRequest) {
		resp, err := Sync(golden.Context(), req)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		golden.OwnHashOnly(t, path, resp.GetChildren())
	})
}

// rename gives a cell another name, with the identity labels the cluster
// layer would give it.
func rename(c *v1.VitessCell, name string) {
	c.Spec.Name = name
	for _, m := range []map[string]string{c.GetSpec().GetSelector().GetMatchLabels(), c.GetSpec().GetTemplate().GetMetadata().GetLabels()} {
		if _, ok := m[spec.LabelCell]; ok {
			m[spec.LabelCell] = name
		}
	}
}
