package layer

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/vtmeta/vtmeta/internal/conditions"
	"github.com/vtmeta/vtmeta/internal/golden"
	"github.com/vtmeta/vtmeta/internal/hookctx"
	"github.com/vtmeta/vtmeta/internal/kjson"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

func TestGolden(t *testing.T) {
	golden.Run(t, "testdata", Sync)
}

// load reads a golden request.
func load(t *testing.T, name string) *v1.ClusterSyncRequest {
	t.Helper()
	return golden.Load[*v1.ClusterSyncRequest](t, "testdata/"+name+".request.json")
}

func TestOriginalExample(t *testing.T) {
	resp, err := Sync(golden.Context(), load(t, "create-original"))
	if err != nil {
		t.Fatal(err)
	}
	cells := cellsOf(t, resp)
	if len(cells) != 2 {
		t.Fatalf("%d cells, want a VitessCell for global and zone1", len(cells))
	}
	global, zone1 := cells[0], cells[1]
	if global.GetMetadata().GetName() != "vitess-global" || zone1.GetMetadata().GetName() != "vitess-zone1" {
		t.Errorf("names %s, %s", global.GetMetadata().GetName(), zone1.GetMetadata().GetName())
	}
	if global.GetSpec().GetEtcd().GetSize() != 3 || zone1.GetSpec().GetEtcd() != nil {
		t.Error("etcd belongs to the global cell only")
	}
	if vo := global.GetSpec().GetVtorc(); vo.GetReplicas() != 1 || vo.GetImage() != "" || global.GetSpec().GetOrchestrator() != nil {
		t.Errorf("the orchestrator alias must reach the cell as vtorc, without the old orchestrator image: %v", vo)
	}
	if len(global.GetSpec().GetKeyspaceSetup()) != 1 || len(zone1.GetSpec().GetKeyspaceSetup()) != 0 {
		t.Error("keyspace setup runs once per cluster, in the global topology's cell")
	}
	if got := global.GetSpec().GetClusterConfig().GetVtctldAddress(); got != "vitess-global-vtctld.default.svc:15999" {
		t.Errorf("vtctld address %s", got)
	}
	if len(global.GetSpec().GetKeyspaces()) != 0 || len(zone1.GetSpec().GetKeyspaces()) != 1 {
		t.Error("keyspace main is served in zone1 only")
	}
	for _, c := range cells {
		if c.GetMetadata().GetLabels()["app"] != "vitess" {
			t.Errorf("%s labels %v do not satisfy the cluster selector", c.GetMetadata().GetName(), c.GetMetadata().GetLabels())
		}
		topo := c.GetSpec().GetClusterConfig().GetTopology()
		if topo.GetGlobalServerAddress() != "vitess-etcd-client.default.svc:2379" || topo.GetGlobalRoot() != "/vitess/global" {
			t.Errorf("topology %v", topo)
		}
		sel := c.GetSpec().GetSelector().GetMatchLabels()
		for k, v := range sel {
			if c.GetSpec().GetTemplate().GetMetadata().GetLabels()[k] != v {
				t.Errorf("cell %s: template labels miss selector label %s", c.GetMetadata().GetName(), k)
			}
		}
	}
	st := resp.GetStatus()
	if st.GetCells() != 2 || st.GetReadyCells() != 0 || conditions.Find(st.GetConditions(), conditions.Ready).GetStatus() != conditions.False {
		t.Errorf("status %v", st)
	}
}

// cellsOf decodes the VitessCells of an answer, in order.
func cellsOf(t *testing.T, resp *v1.ClusterSyncResponse) []*v1.VitessCell {
	t.Helper()
	var out []*v1.VitessCell
	for _, c := range resp.GetChildren() {
		if !strings.Contains(string(c.GetJson()), `"kind":"VitessCell"`) {
			continue
		}
		var cell v1.VitessCell
		if err := kjson.Unmarshal(c.GetJson(), &cell); err != nil {
			t.Fatal(err)
		}
		out = append(out, &cell)
	}
	return out
}

// TestDurabilityCountsEveryServedCell checks the policy the topology is set
// up with: semi-sync takes its acknowledgement from a replica in any cell,
// so two primary-eligible tablets per shard in each of two cells make
// semi_sync, and in one cell none.
func TestDurabilityCountsEveryServedCell(t *testing.T) {
	for _, tt := range []struct {
		cells []string
		want  string
	}{{[]string{"zone1"}, "none"}, {[]string{"zone1", "zone2"}, "semi_sync"}} {
		req := load(t, "create-original")
		s := req.GetParent().GetSpec()
		s.Cells = append(s.Cells, &v1.CellSpec{Name: "zone2"})
		s.Keyspaces[0].Cells = tt.cells
		resp, err := Sync(golden.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, cell := range cellsOf(t, resp) {
			for _, k := range cell.GetSpec().GetKeyspaceSetup() {
				got = append(got, k.GetName()+" "+k.GetDurabilityPolicy())
			}
		}
		if want := "main " + tt.want; len(got) != 1 || got[0] != want {
			t.Errorf("2 replicas per cell in %v: keyspace setup %v, want [%s]", tt.cells, got, want)
		}
	}
}

// TestRolloutGlobalFirst edits the cluster-wide vtgate image and drives the
// sync loop against a simulated apiserver: cells move one at a time, the
// global cell first, each only after the one before is ready again.
func TestRolloutGlobalFirst(t *testing.T) {
	req := load(t, "create-every-option")
	l := golden.NewLoop(t, req, Sync)
	api, sync := l.API, l.Sync
	if changed := l.Apply(); strings.Count(fmt.Sprint(changed), "VitessCell ") != 3 {
		t.Fatalf("creation changed %v, want all 3 cells", changed)
	}
	api.ReadyAll()
	if c := conditions.Find(sync().GetStatus().GetConditions(), conditions.Ready); c.GetStatus() != conditions.True {
		t.Fatalf("Ready = %v after every cell is ready", c)
	}
	req.Parent.Spec.Images.Vtgate = "vitess/lite:v25.0.0"
	req.Parent.Metadata.Generation++
	var moved []string
	for step := 0; step < 10; step++ {
		resp := sync()
		changed, err := api.Apply(resp.GetChildren())
		if err != nil {
			t.Fatal(err)
		}
		if len(changed) > 1 {
			t.Fatalf("step %d changed %v at once", step, changed)
		}
		if len(changed) == 1 {
			moved = append(moved, changed[0])
			prog := conditions.Find(resp.GetStatus().GetConditions(), conditions.Progressing)
			if prog.GetStatus() != conditions.True || !strings.Contains(prog.GetMessage(), "rolling "+changed[0]) {
				t.Errorf("Progressing = %v while moving %s", prog, changed[0])
			}
			// The moved cell is not ready yet: the next sync must hold.
			resp = sync()
			if again, _ := api.Apply(resp.GetChildren()); len(again) != 0 {
				t.Fatalf("moved %v before %s was ready", again, changed[0])
			}
			api.SetReady(strings.TrimPrefix(changed[0], "VitessCell "), true)
		}
		st := resp.GetStatus()
		if conditions.Find(st.GetConditions(), conditions.Updated).GetStatus() == conditions.True {
			break
		}
	}
	want := "[VitessCell full-global VitessCell full-us-east-1a VitessCell full-us-east-1b]"
	if fmt.Sprint(moved) != want {
		t.Errorf("moved %v, want %s", moved, want)
	}
	st := sync().GetStatus()
	if st.GetUpdatedCells() != 3 || st.GetReadyCells() != 3 || st.GetObservedGeneration() != req.Parent.Metadata.Generation {
		t.Errorf("final status %v", st)
	}
	for _, cell := range []string{"full-us-east-1a", "full-global"} {
		if !strings.Contains(api.Raw("VitessCell", cell), "vitess/lite:v25.0.0") {
			t.Errorf("%s did not get the new image", cell)
		}
	}
}

// TestInvalidEditHoldsEverything breaks a running cluster's spec: nothing
// changes, Ready turns False with InvalidSpec naming the field, and the
// invalid-spec metric hears the reason.
func TestInvalidEditHoldsEverything(t *testing.T) {
	req := load(t, "create-every-option")
	api := golden.NewCluster()
	resp, err := Sync(golden.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Apply(resp.GetChildren()); err != nil {
		t.Fatal(err)
	}
	api.ReadyAll()
	edits := map[string]func(s *v1.VitessClusterSpec){
		"overlap":      func(s *v1.VitessClusterSpec) { s.Keyspaces[0].Shards[1].KeyRange.Start = "30" },
		"unknown cell": func(s *v1.VitessClusterSpec) { s.Keyspaces[1].Cells = []string{"mars"} },
		"negative":     func(s *v1.VitessClusterSpec) { n := int32(-2); s.Cells[1].Vtgate.Replicas = &n },
		"duplicate":    func(s *v1.VitessClusterSpec) { s.Cells[2].Name = "global" },
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			bad := load(t, "create-every-option")
			bad.Parent.Spec.Images.Vtgate = "vitess/lite:v99"
			edit(bad.Parent.Spec)
			bad.Children = api.Children()
			var reasons []string
			ctx := hookctx.WithInvalidRecorder(golden.Context(), func(r string) { reasons = append(reasons, r) })
			resp, err := Sync(ctx, bad)
			if err != nil {
				t.Fatal(err)
			}
			if changed, _ := api.Clone().Apply(resp.GetChildren()); len(changed) != 0 {
				t.Errorf("an invalid spec changed %v", changed)
			}
			ready := conditions.Find(resp.GetStatus().GetConditions(), conditions.Ready)
			if ready.GetStatus() != conditions.False || ready.GetReason() != conditions.ReasonInvalidSpec || !strings.Contains(ready.GetMessage(), "spec.") {
				t.Errorf("Ready = %v", ready)
			}
			if len(reasons) == 0 {
				t.Error("no invalid-spec reason reported")
			}
		})
	}
}

func TestStatusAlwaysPresent(t *testing.T) {
	resp, err := Sync(context.Background(), &v1.ClusterSyncRequest{Parent: &v1.VitessCluster{Metadata: &v1.ObjectMeta{Name: "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := kjson.Marshal(resp)
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if string(m["children"]) != "[]" || len(m["status"]) < 2 {
		t.Errorf("response %s must carry a status object and a children array", b)
	}
}
