package layer

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/vtmeta/vtmeta/internal/golden"
	"github.com/vtmeta/vtmeta/internal/spec"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// uids are the uids of a response's tablets, by type and index.
func uids(t *testing.T, resp *v1.ShardSyncResponse) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, tb := range tablets(t, resp) {
		out[tb.GetSpec().GetType()+"/"+tb.GetMetadata().GetLabels()[spec.LabelTabletIndex]] = tb.GetSpec().GetUid()
	}
	return out
}

// TestTabletsTakeTheShardsRangeAndKeepTheirUIDs: in a shard with a uid
// range, new tablets take their place in it; tablets that exist keep the
// uid they have, whether hashed from their names before ranges existed or
// from a range the shard no longer has.
func TestTabletsTakeTheShardsRangeAndKeepTheirUIDs(t *testing.T) {
	req := load(t, "create-original-x-80")
	hashed := uids(t, mustSync(t, req)) // the shard has no range: hashed uids
	for k, u := range hashed {
		if u >= spec.SlotsBase {
			t.Errorf("%s: %d, want a hashed uid below %d", k, u, spec.SlotsBase)
		}
	}
	l := golden.NewLoop(t, req, Sync)
	l.Apply()
	l.API.ReadyAll()

	// As tablets made before ranges existed, they do not say their place.
	for _, o := range l.API.Children()["VitessTablet.vitess.io/v1alpha1"].GetObjects() {
		delete(o.GetMetadata().GetLabels(), spec.LabelTabletIndex)
	}
	// The keyspace layer gives the shard a range: the tablets that exist
	// keep their hashed uids; a new replica takes its place in the range.
	base := spec.ShardBase(2, 5)
	req.Parent.Spec.UidBase = base
	req.Parent.Spec.Tablets.Replica.Replicas = proto.Int32(3)
	req.Parent.Metadata.Generation++
	for range 12 {
		l.Apply()
		l.API.ReadyAll()
	}
	got := uids(t, l.Sync())
	for k, u := range hashed {
		if got[k] != u {
			t.Errorf("%s: uid %d, was %d", k, got[k], u)
		}
	}
	if want := int64(spec.PoolUID(base, spec.TypeReplica, 2)); got["replica/2"] != want {
		t.Errorf("the new replica got uid %d, want %d (its place in the range)", got["replica/2"], want)
	}

	// Were the range to change, every tablet keeps its uid.
	req.Parent.Spec.UidBase = spec.ShardBase(9, 0)
	req.Parent.Metadata.Generation++
	for range 12 {
		l.Apply()
		l.API.ReadyAll()
	}
	again := uids(t, l.Sync())
	for k, u := range got {
		if again[k] != u {
			t.Errorf("%s: uid %d after the range changed, was %d", k, again[k], u)
		}
	}
}

// TestANewShardsTabletsAreItsRange: a shard made with a range has every
// tablet in it, replicas first, rdonly 100 above.
func TestANewShardsTabletsAreItsRange(t *testing.T) {
	req := load(t, "create-original-x-80")
	base := spec.ShardBase(0, 1)
	req.Parent.Spec.UidBase = base
	got := uids(t, mustSync(t, req))
	want := map[string]int64{"replica/0": base, "replica/1": base + 1, "rdonly/0": base + 100}
	for k, u := range want {
		if got[k] != u {
			t.Errorf("%s: uid %d, want %d", k, got[k], u)
		}
	}
	if len(got) != len(want) {
		t.Errorf("tablets %v, want %v", got, want)
	}
}

func mustSync(t *testing.T, req *v1.ShardSyncRequest) *v1.ShardSyncResponse {
	t.Helper()
	resp, err := Sync(golden.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}
