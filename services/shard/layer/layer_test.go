package layer

import (
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/vtmeta/vtmeta/internal/conditions"
	"github.com/vtmeta/vtmeta/internal/golden"
	"github.com/vtmeta/vtmeta/internal/kjson"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

func TestGolden(t *testing.T) {
	golden.Run(t, "testdata", Sync)
}

func load(t *testing.T, name string) *v1.ShardSyncRequest {
	t.Helper()
	return golden.Load[*v1.ShardSyncRequest](t, "testdata/"+name+".request.json")
}

// tablets decodes the VitessTablets of a response, in order.
func tablets(t *testing.T, resp *v1.ShardSyncResponse) []*v1.VitessTablet {
	t.Helper()
	var out []*v1.VitessTablet
	for _, c := range resp.GetChildren() {
		if !strings.Contains(string(c.GetJson()), `"kind":"VitessTablet"`) {
			continue
		}
		var tb v1.VitessTablet
		if err := kjson.Unmarshal(c.GetJson(), &tb); err != nil {
			t.Fatal(err)
		}
		out = append(out, &tb)
	}
	return out
}

func TestOriginalExampleTablets(t *testing.T) {
	resp, err := Sync(golden.Context(), load(t, "create-original-x-80"))
	if err != nil {
		t.Fatal(err)
	}
	got := tablets(t, resp)
	want := []struct {
		name, typ string
		uid       int64
	}{
		{"vitess-vttablet-zone1-1327744200", "rdonly", 1327744200},
		{"vitess-vttablet-zone1-0214747900", "replica", 214747900},
		{"vitess-vttablet-zone1-0214747901", "replica", 214747901},
	}
	if len(got) != len(want) {
		t.Fatalf("%d tablets, want %d (rdonly first)", len(got), len(want))
	}
	for i, w := range want {
		tb := got[i]
		if tb.GetMetadata().GetName() != w.name || tb.GetSpec().GetType() != w.typ || tb.GetSpec().GetUid() != w.uid {
			t.Errorf("tablet %d = %s %s %d, want %+v", i, tb.GetMetadata().GetName(), tb.GetSpec().GetType(), tb.GetSpec().GetUid(), w)
		}
		pool := tb.GetSpec().GetPool()
		if pool.GetImage() != "vitess/lite:v2.1.1" || pool.GetVolumeClaim().GetResources().GetRequests()["storage"] != "4Gi" {
			t.Errorf("tablet %d: tablets.defaults not merged under the pool: %v", i, pool)
		}
		for k, v := range load(t, "create-original-x-80").GetParent().GetSpec().GetSelector().GetMatchLabels() {
			if tb.GetMetadata().GetLabels()[k] != v {
				t.Errorf("tablet %d does not satisfy the shard's selector (%s)", i, k)
			}
		}
	}
	if got[0].GetSpec().GetPool().GetVttablet().GetResources().GetLimits()["cpu"] != "100m" ||
		got[1].GetSpec().GetPool().GetVttablet().GetResources().GetLimits()["cpu"] != "500m" {
		t.Error("each pool keeps its own resources")
	}
	for _, c := range resp.GetChildren() {
		if strings.Contains(string(c.GetJson()), `"kind":"PodDisruptionBudget"`) {
			t.Errorf("a shard renders no budget (the cluster's spans its cells): %s", c.GetJson())
		}
	}
}

type loop = golden.Loop[*v1.ShardSyncRequest, *v1.ShardSyncResponse]

// newSim starts a shard of replicas and rdonly tablets, applied and ready.
func newSim(t *testing.T, replicas, rdonly int32) *loop {
	req := load(t, "create-original-x-80")
	req.Parent.Spec.Tablets.Replica.Replicas = proto.Int32(replicas)
	req.Parent.Spec.Tablets.Rdonly.Replicas = proto.Int32(rdonly)
	s := golden.NewLoop(t, req, Sync)
	s.Apply()
	s.API.ReadyAll()
	return s
}

// TestRolloutRdonlyFirstOneAtATime resizes the volumes of a 6-tablet shard:
// tablets move one per step, rdonly first, each after the previous is Ready.
func TestRolloutRdonlyFirstOneAtATime(t *testing.T) {
	s := newSim(t, 4, 2)
	s.Req.Parent.Spec.Tablets.Defaults.VolumeClaim.Resources.Requests["storage"] = "8Gi"
	s.Req.Parent.Metadata.Generation++
	var moved []string
	for step := 0; step < 20; step++ {
		changed := s.Apply()
		if len(changed) > 1 {
			t.Fatalf("step %d moved %v at once", step, changed)
		}
		for _, c := range changed {
			moved = append(moved, c)
			if again := s.Apply(); len(again) != 0 {
				t.Fatalf("%v moved before %s was Ready again", again, c)
			}
			s.API.SetReady(strings.TrimPrefix(c, "VitessTablet "), true)
		}
	}
	if len(moved) != 6 {
		t.Fatalf("moved %v, want all 6 tablets", moved)
	}
	for i, m := range moved {
		tb := s.API.Raw("VitessTablet", strings.TrimPrefix(m, "VitessTablet "))
		isRdonly := strings.Contains(tb, `"type":"rdonly"`)
		if (i < 2) != isRdonly {
			t.Errorf("step %d moved %s: rdonly tablets go first", i, m)
		}
		if !strings.Contains(tb, `"storage":"8Gi"`) {
			t.Errorf("%s did not get the new size", m)
		}
	}
	st := s.Sync().GetStatus()
	if st.GetTablets() != 6 || st.GetUpdatedTablets() != 6 || st.GetReadyTablets() != 6 ||
		conditions.Find(st.GetConditions(), conditions.Updated).GetStatus() != conditions.True {
		t.Errorf("final status %v", st)
	}
}

// TestScaleDownRetiresAndScaleUpReuses scales the replicas down and up
// again: the tablet that left is kept retired (its volume with it) and comes
// back under the same name and uid.
func TestScaleDownRetiresAndScaleUpReuses(t *testing.T) {
	s := newSim(t, 3, 1)
	gone := "vitess-vttablet-zone1-0214747902"
	s.Req.Parent.Spec.Tablets.Replica.Replicas = proto.Int32(2)
	s.Req.Parent.Metadata.Generation++
	changed := s.Apply()
	if fmt.Sprint(changed) != "[VitessTablet "+gone+"]" || !strings.Contains(s.API.Raw("VitessTablet", gone), `"retired":true`) {
		t.Fatalf("scale-down changed %v; %s is %s", changed, gone, s.API.Raw("VitessTablet", gone))
	}
	s.API.SetReady(gone, true)
	resp := s.Sync()
	golden.Compare(t, "testdata/scale-down.response.json", mustMarshal(t, resp))
	if st := resp.GetStatus(); st.GetTablets() != 3 || fmt.Sprint(st.GetRetiredTablets()) != "["+gone+"]" {
		t.Errorf("status %v must count 3 tablets and list the retired one", st)
	}
	s.Req.Parent.Spec.Tablets.Replica.Replicas = proto.Int32(3)
	s.Req.Parent.Metadata.Generation++
	changed = s.Apply()
	if fmt.Sprint(changed) != "[VitessTablet "+gone+"]" || strings.Contains(s.API.Raw("VitessTablet", gone), `"retired":true`) {
		t.Errorf("scale-up changed %v; %s is %s", changed, gone, s.API.Raw("VitessTablet", gone))
	}
	// Retire then delete: with reclaimPolicy Delete a retired tablet goes.
	s.API.SetReady(gone, true)
	s.Req.Parent.Spec.Tablets.Replica.Replicas = proto.Int32(2)
	s.Apply()
	s.API.SetReady(gone, true)
	s.Req.Parent.Spec.ClusterConfig.ReclaimPolicy = "Delete"
	resp = s.Sync()
	golden.Compare(t, "testdata/retire-then-delete.response.json", mustMarshal(t, resp))
	for _, tb := range tablets(t, resp) {
		if tb.GetMetadata().GetName() == gone {
			t.Error("reclaimPolicy Delete must let the retired tablet go")
		}
	}
}

// TestNoEditDropsATablet checks, over many valid edits, that while the
// reclaim policy is Retain no tablet ever leaves the children: its volume
// could go with it.
func TestNoEditDropsATablet(t *testing.T) {
	s := newSim(t, 3, 2)
	edits := []func(sp *v1.VitessShardSpec){
		func(sp *v1.VitessShardSpec) { sp.Tablets.Replica.Replicas = proto.Int32(1) },
		func(sp *v1.VitessShardSpec) { sp.Tablets.Rdonly = nil },
		func(sp *v1.VitessShardSpec) { sp.Tablets.Replica = nil; sp.Tablets.MasterEligible = nil },
		func(sp *v1.VitessShardSpec) { sp.Tablets.Defaults.Image = "vitess/lite:v99" },
		func(sp *v1.VitessShardSpec) { sp.Tablets = &v1.TabletsSpec{} },
	}
	for i, edit := range edits {
		edit(s.Req.Parent.Spec)
		s.Req.Parent.Metadata.Generation++
		before := s.API.Children()["VitessTablet.vitess.io/v1alpha1"].GetObjects()
		resp := s.Sync()
		kept := map[string]bool{}
		for _, tb := range tablets(t, resp) {
			kept[tb.GetMetadata().GetName()] = true
		}
		for key, o := range before {
			if !kept[o.GetMetadata().GetName()] {
				t.Errorf("edit %d dropped %s", i, key)
			}
		}
		s.Apply()
		s.API.ReadyAll()
	}
}

func TestInvalidSpecHolds(t *testing.T) {
	s := newSim(t, 2, 1)
	s.Req.Parent.Spec.Tablets.Replica.Replicas = proto.Int32(-3)
	s.Req.Parent.Spec.Tablets.Defaults.Image = "vitess/lite:v99"
	resp := s.Sync()
	if changed, _ := s.API.Clone().Apply(resp.GetChildren()); len(changed) != 0 {
		t.Errorf("an invalid spec changed %v", changed)
	}
	ready := conditions.Find(resp.GetStatus().GetConditions(), conditions.Ready)
	if ready.GetReason() != conditions.ReasonInvalidSpec || !strings.Contains(ready.GetMessage(), "spec.tablets.replica.replicas") {
		t.Errorf("Ready = %v", ready)
	}
}

func TestTabletWithoutLastAppliedCannotBeRetired(t *testing.T) {
	s := newSim(t, 2, 1)
	for _, o := range s.API.Children()["VitessTablet.vitess.io/v1alpha1"].GetObjects() {
		delete(o.GetMetadata().GetAnnotations(), "metacontroller.k8s.io/last-applied-configuration")
	}
	s.Req.Parent.Spec.Tablets.Replica.Replicas = proto.Int32(1)
	s.Req.Children = s.API.Children()
	if _, err := Sync(golden.Context(), s.Req); err == nil || !strings.Contains(err.Error(), "cannot hold") {
		t.Errorf("err = %v: a tablet that cannot be kept as it was must fail the sync (non-200), not be dropped", err)
	}
}

func TestHundredTablets(t *testing.T) {
	req := load(t, "create-original-x-80")
	req.Parent.Spec.Tablets.Replica.Replicas = proto.Int32(50)
	req.Parent.Spec.Tablets.Rdonly.Replicas = proto.Int32(50)
	resp, err := Sync(golden.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	golden.Compare(t, "testdata/hundred-tablets.response.json", mustMarshal(t, resp))
	uids := map[int64]bool{}
	for _, tb := range tablets(t, resp) {
		if uids[tb.GetSpec().GetUid()] {
			t.Errorf("uid %d used twice", tb.GetSpec().GetUid())
		}
		uids[tb.GetSpec().GetUid()] = true
	}
	if len(uids) != 100 || resp.GetStatus().GetTablets() != 100 {
		t.Errorf("%d distinct uids, status %v", len(uids), resp.GetStatus().GetTablets())
	}
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := kjson.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestChildrenCarryOnlyTheirOwnHash checks that the hash stamped on one
// child reaches no other: a child that carried a sibling's hash would be
// rewritten (a Deployment restarted) whenever that sibling changes.
func TestChildrenCarryOnlyTheirOwnHash(t *testing.T) {
	golden.EachRequest(t, "testdata", func(path string, req *v1.ShardSyncRequest) {
		if req.GetParent().GetSpec().GetClusterConfig() != nil {
			req.Parent.Spec.ClusterConfig.Annotations = map[string]string{"team": "db"}
		}
		resp, err := Sync(golden.Context(), req)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		golden.OwnHashOnly(t, path, resp.GetChildren())
	})
}

// TestAvailableWhileWithinBudget: a shard serves while a primary-eligible
// tablet serves and at most one tablet is down, as in a rolling update.
func TestAvailableWhileWithinBudget(t *testing.T) {
	tablets := map[string]string{"replica0": "vitess-vttablet-zone1-0214747900", "replica1": "vitess-vttablet-zone1-0214747901", "rdonly0": "vitess-vttablet-zone1-1327744200"}
	for _, tt := range []struct {
		name     string
		replicas int32
		down     []string
		want     string
		reason   string
	}{
		{"all up", 2, nil, conditions.True, "Serving"},
		{"one replica down", 2, []string{"replica0"}, conditions.True, "Serving"},
		{"the rdonly down", 2, []string{"rdonly0"}, conditions.True, "Serving"},
		{"two down", 2, []string{"replica0", "rdonly0"}, conditions.False, "OverBudget"},
		{"the only replica down", 1, []string{"replica0"}, conditions.False, "NoPrimaryEligibleTablet"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(t, tt.replicas, 1)
			for _, d := range tt.down {
				s.API.SetReady(tablets[d], false)
			}
			c := conditions.Find(s.Sync().GetStatus().GetConditions(), conditions.Available)
			if c.GetStatus() != tt.want || c.GetReason() != tt.reason {
				t.Errorf("Available = %v, want %s %s", c, tt.want, tt.reason)
			}
		})
	}
}
