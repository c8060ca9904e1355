package layer

import (
	"testing"

	"github.com/vtmeta/vtmeta/internal/golden"
	"github.com/vtmeta/vtmeta/internal/kjson"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// slots are the uid slots of the cell's VitessKeyspaces, by keyspace.
func slots(t *testing.T, resp *v1.CellSyncResponse) map[string]int32 {
	t.Helper()
	out := map[string]int32{}
	for _, c := range resp.GetChildren() {
		var k v1.VitessKeyspace
		if err := kjson.Unmarshal(c.GetJson(), &k); err != nil {
			t.Fatal(err)
		}
		if k.GetKind() == "VitessKeyspace" {
			if k.GetSpec().UidSlot == nil {
				t.Errorf("VitessKeyspace %s has no uid slot", k.GetMetadata().GetName())
			}
			out[k.GetSpec().GetName()] = k.GetSpec().GetUidSlot()
		}
	}
	return out
}

// TestKeyspacesGetDistinctSlotsThatStay: every keyspace of a cell gets a
// slot of its own, which it keeps when keyspaces are added before it or
// leave; a slot of a keyspace that left but remains is not given again.
func TestKeyspacesGetDistinctSlotsThatStay(t *testing.T) {
	req := load(t, "every-option-zone")
	ks := func(names ...string) []*v1.KeyspaceSpec {
		var out []*v1.KeyspaceSpec
		for _, n := range names {
			out = append(out, &v1.KeyspaceSpec{Name: n})
		}
		return out
	}
	req.Parent.Spec.Keyspaces = ks("a", "b", "c")
	l := golden.NewLoop(t, req, Sync)
	l.Apply()
	l.API.ReadyAll()
	got := slots(t, l.Sync())
	if got["a"] != 0 || got["b"] != 1 || got["c"] != 2 {
		t.Fatalf("slots %v, want a 0, b 1, c 2", got)
	}
	// b leaves (retained, as reclaimPolicy Retain keeps it), z comes first.
	req.Parent.Spec.ClusterConfig.ReclaimPolicy = "Retain"
	req.Parent.Spec.Keyspaces = ks("z", "a", "c")
	req.Parent.Metadata.Generation++
	for range 10 {
		l.Apply()
		l.API.ReadyAll()
	}
	got = slots(t, l.Sync())
	if got["a"] != 0 || got["c"] != 2 || got["z"] != 3 {
		t.Errorf("slots %v, want a 0 and c 2 kept, z 3 (b's 1 stays b's)", got)
	}
	if got["b"] != 1 {
		t.Errorf("the retired keyspace b is held with slot %d, want 1", got["b"])
	}
}
