package layer

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	policyv1 "k8s.io/api/policy/v1"

	"github.com/vtmeta/vtmeta/internal/conditions"
	"github.com/vtmeta/vtmeta/internal/golden"
	"github.com/vtmeta/vtmeta/internal/spec"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// budgetsOf decodes the PodDisruptionBudgets of an answer, by name.
func budgetsOf(t *testing.T, resp *v1.ClusterSyncResponse) map[string]*policyv1.PodDisruptionBudget {
	t.Helper()
	out := map[string]*policyv1.PodDisruptionBudget{}
	for _, c := range resp.GetChildren() {
		if !strings.Contains(string(c.GetJson()), `"kind":"PodDisruptionBudget"`) {
			continue
		}
		var pdb policyv1.PodDisruptionBudget
		if err := json.Unmarshal(c.GetJson(), &pdb); err != nil {
			t.Fatal(err)
		}
		out[pdb.Name] = &pdb
	}
	return out
}

// TestBudgetsSpanCells: each shard gets one budget over its tablets in
// every cell that serves its keyspace, so a drain of the shard never has
// two of them down at once, whichever cells they are in. A shard with
// tablets of its own counts those; the selector has no cell in it.
func TestBudgetsSpanCells(t *testing.T) {
	for _, tt := range []struct {
		name  string
		cells []string
		want  map[string]int32 // minAvailable by budget name
	}{
		// The original example: main's shards, 3 tablets each per cell
		// (2 replicas, 1 rdonly; shard 80- has its own 3+1).
		{"one cell", []string{"zone1"}, map[string]int32{"vitess-main-x-80-tablets": 2, "vitess-main-80-x-tablets": 3}},
		{"two cells", []string{"zone1", "zone2"}, map[string]int32{"vitess-main-x-80-tablets": 5, "vitess-main-80-x-tablets": 7}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := load(t, "create-original")
			s := req.GetParent().GetSpec()
			s.Cells = append(s.Cells, &v1.CellSpec{Name: "zone2"})
			s.Keyspaces[0].Cells = tt.cells
			s.Keyspaces[0].Shards[1].Tablets = &v1.TabletsSpec{Replica: &v1.TabletPoolSpec{Replicas: proto.Int32(3)}}
			resp, err := Sync(golden.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			got := budgetsOf(t, resp)
			if len(got) != len(tt.want) {
				t.Fatalf("budgets %v, want %v", keys(got), tt.want)
			}
			for name, min := range tt.want {
				pdb := got[name]
				if pdb == nil {
					t.Fatalf("no budget %s in %v", name, keys(got))
				}
				if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntVal != min || pdb.Spec.MaxUnavailable != nil {
					t.Errorf("%s: minAvailable %v, maxUnavailable %v; want minAvailable %d (one of the shard's tablets may go)", name, pdb.Spec.MinAvailable, pdb.Spec.MaxUnavailable, min)
				}
				sel := pdb.Spec.Selector.MatchLabels
				if _, ok := sel[spec.LabelCell]; ok {
					t.Errorf("%s selects one cell (%v): it must span every cell", name, sel)
				}
				shard := strings.TrimSuffix(strings.TrimPrefix(name, "vitess-main-"), "-tablets")
				want := map[string]string{spec.LabelCluster: "vitess", spec.LabelKeyspace: "main", spec.LabelShard: shard, spec.LabelComponent: "vttablet", "app": "vitess"}
				if fmt.Sprint(sel) != fmt.Sprint(want) {
					t.Errorf("%s selects %v, want %v", name, sel, want)
				}
			}
			st := resp.GetStatus()
			if st.GetCells() != 3 || st.GetReadyCells() != 0 {
				t.Errorf("status counts %d cells, %d ready; want the 3 cells only, not the budgets", st.GetCells(), st.GetReadyCells())
			}
			if c := conditions.Find(st.GetConditions(), conditions.Ready); !strings.Contains(c.GetMessage(), "0 of 3 ready") {
				t.Errorf("Ready = %v, want it to count cells", c)
			}
		})
	}
}

// TestBudgetOfARemovedKeyspaceGoes: a budget holds no data, so it goes with
// its keyspace even under reclaimPolicy Retain, which keeps the cells.
func TestBudgetOfARemovedKeyspaceGoes(t *testing.T) {
	req := load(t, "create-original")
	l := golden.NewLoop(t, req, Sync)
	l.Apply()
	l.API.ReadyAll()
	if got := budgetsOf(t, l.Sync()); len(got) != 2 {
		t.Fatalf("budgets %v, want one per shard of main", keys(got))
	}
	if req.GetParent().GetSpec().GetReclaimPolicy() == spec.ReclaimDelete {
		t.Fatal("the example must retain")
	}
	req.Parent.Spec.Keyspaces[0].Shards = req.Parent.Spec.Keyspaces[0].Shards[:1]
	req.Parent.Spec.Keyspaces[0].Shards[0].KeyRange = &v1.KeyRange{}
	req.Parent.Metadata.Generation++
	resp := l.Sync()
	got := budgetsOf(t, resp)
	if len(got) != 1 || got["vitess-main-x-x-tablets"] == nil {
		t.Errorf("budgets %v after main became one shard, want only vitess-main-x-x-tablets", keys(got))
	}
	if r := resp.GetStatus().GetRetiredCells(); len(r) != 0 {
		t.Errorf("retired %v: a budget is never retired", r)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
