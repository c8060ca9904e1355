package layer

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vtmeta/vtmeta/internal/conditions"
	"github.com/vtmeta/vtmeta/internal/golden"
	"github.com/vtmeta/vtmeta/internal/kjson"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

func TestGolden(t *testing.T) {
	golden.Run(t, "testdata", Sync)
}

func load(t *testing.T, name string) *v1.KeyspaceSyncRequest {
	t.Helper()
	return golden.Load[*v1.KeyspaceSyncRequest](t, "testdata/"+name+".request.json")
}

func shardsOf(t *testing.T, resp *v1.KeyspaceSyncResponse) []*v1.VitessShard {
	t.Helper()
	var out []*v1.VitessShard
	for _, c := range resp.GetChildren() {
		var s v1.VitessShard
		if err := kjson.Unmarshal(c.GetJson(), &s); err != nil {
			t.Fatal(err)
		}
		out = append(out, &s)
	}
	return out
}

func TestShardsOfTheOriginalExample(t *testing.T) {
	resp, err := Sync(golden.Context(), load(t, "create-two-shards"))
	if err != nil {
		t.Fatal(err)
	}
	shards := shardsOf(t, resp)
	if len(shards) != 2 {
		t.Fatalf("%d shards", len(shards))
	}
	tests := []struct{ name, shard, start, end string }{
		{"vitess-zone1-main-x-80", "-80", "", "80"},
		{"vitess-zone1-main-80-x", "80-", "80", ""},
	}
	for i, tt := range tests {
		s := shards[i]
		if s.GetMetadata().GetName() != tt.name || s.GetSpec().GetName() != tt.shard ||
			s.GetSpec().GetKeyRange().GetStart() != tt.start || s.GetSpec().GetKeyRange().GetEnd() != tt.end {
			t.Errorf("shard %d = %s %s %v", i, s.GetMetadata().GetName(), s.GetSpec().GetName(), s.GetSpec().GetKeyRange())
		}
		tb := s.GetSpec().GetTablets()
		if tb.GetReplica().GetReplicas() != 2 || tb.GetRdonly().GetReplicas() != 1 || tb.GetMasterEligible() != nil || tb.GetBatch() != nil {
			t.Errorf("tablets must reach the shard under their current names: %v", tb)
		}
		for k, v := range s.GetSpec().GetSelector().GetMatchLabels() {
			if s.GetSpec().GetTemplate().GetMetadata().GetLabels()[k] != v {
				t.Errorf("template misses selector label %s", k)
			}
		}
		for k, v := range load(t, "create-two-shards").GetParent().GetSpec().GetSelector().GetMatchLabels() {
			if s.GetMetadata().GetLabels()[k] != v {
				t.Errorf("%s does not satisfy the keyspace selector (%s)", s.GetMetadata().GetName(), k)
			}
		}
	}
}

func TestUnsharded(t *testing.T) {
	resp, err := Sync(golden.Context(), load(t, "create-unsharded"))
	if err != nil {
		t.Fatal(err)
	}
	shards := shardsOf(t, resp)
	if len(shards) != 1 || shards[0].GetSpec().GetName() != "0" || shards[0].GetSpec().GetKeyRange() != nil ||
		shards[0].GetMetadata().GetName() != "vitess-zone1-lookup-0" {
		t.Errorf("unsharded keyspace gave %v", shards)
	}
}

func TestPerShardTablets(t *testing.T) {
	resp, err := Sync(golden.Context(), load(t, "per-shard-tablets"))
	if err != nil {
		t.Fatal(err)
	}
	shards := shardsOf(t, resp)
	a, b := shards[0].GetSpec().GetTablets(), shards[1].GetSpec().GetTablets()
	if a.GetReplica().GetReplicas() != 2 || b.GetReplica().GetReplicas() != 3 || b.GetReplica().GetImage() != "vitess/lite:v24.0.3" {
		t.Errorf("shard override not applied: %v / %v", a.GetReplica(), b.GetReplica())
	}
	if b.GetRdonly().GetReplicas() != 0 || b.GetRdonly().Replicas == nil {
		t.Errorf("an explicit 0 must survive the merge: %v", b.GetRdonly())
	}
	if b.GetReplica().GetVttablet().GetResources().GetLimits()["cpu"] != "500m" {
		t.Errorf("keyspace settings must stay under the override: %v", b.GetReplica())
	}
}

// TestRolloutOneShardAtATime resizes every tablet volume of a 4-shard
// keyspace and drives the sync loop: shards move in key order, one at a
// time, each after the previous is ready again.
func TestRolloutOneShardAtATime(t *testing.T) {
	req := load(t, "create-two-shards")
	req.Parent.Spec.Shards = []*v1.ShardSpec{
		{KeyRange: &v1.KeyRange{End: "40"}},
		{KeyRange: &v1.KeyRange{Start: "40", End: "80"}},
		{KeyRange: &v1.KeyRange{Start: "80", End: "c0"}},
		{KeyRange: &v1.KeyRange{Start: "c0"}},
	}
	l := golden.NewLoop(t, req, Sync)
	api, sync := l.API, l.Sync
	if changed := l.Apply(); len(changed) != 4 {
		t.Fatalf("created %v", changed)
	}
	api.ReadyAll()
	req.Parent.Spec.Tablets.Defaults.VolumeClaim.Resources.Requests["storage"] = "8Gi"
	req.Parent.Metadata.Generation++
	var moved []string
	for step := 0; step < 12; step++ {
		changed := l.Apply()
		if len(changed) > 1 {
			t.Fatalf("step %d moved %v at once", step, changed)
		}
		for _, c := range changed {
			moved = append(moved, strings.TrimPrefix(c, "VitessShard vitess-zone1-main-"))
			api.SetReady(strings.TrimPrefix(c, "VitessShard "), true)
		}
	}
	if want := "[x-40 40-80 80-c0 c0-x]"; fmt.Sprint(moved) != want {
		t.Errorf("moved %v, want %s", moved, want)
	}
	st := sync().GetStatus()
	if st.GetUpdatedShards() != 4 || conditions.Find(st.GetConditions(), conditions.Updated).GetStatus() != conditions.True {
		t.Errorf("final status %v", st)
	}
}

func TestRemovedShard(t *testing.T) {
	req := load(t, "create-two-shards")
	api := golden.NewCluster()
	resp, err := Sync(golden.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Apply(resp.GetChildren()); err != nil {
		t.Fatal(err)
	}
	api.ReadyAll()
	// Merge the two shards into one: the old ones leave the spec.
	req.Parent.Spec.Shards = []*v1.ShardSpec{{KeyRange: &v1.KeyRange{}}}
	req.Children = api.Children()
	for _, tt := range []struct {
		policy   string
		children int
		retired  int
	}{{"Retain", 3, 2}, {"Delete", 1, 0}} {
		t.Run(tt.policy, func(t *testing.T) {
			req.Parent.Spec.ClusterConfig.ReclaimPolicy = tt.policy
			resp, err := Sync(golden.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.GetChildren()) != tt.children || len(resp.GetStatus().GetRetiredShards()) != tt.retired {
				t.Errorf("%d children, retired %v", len(resp.GetChildren()), resp.GetStatus().GetRetiredShards())
			}
		})
	}
}
