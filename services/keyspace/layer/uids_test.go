package layer

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/vtmeta/vtmeta/internal/golden"
	"github.com/vtmeta/vtmeta/internal/spec"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// equalShards are n shards of equal width, as the example has
// them (1024 of them from 0000 to ffff).
func equalShards(n int) []*v1.ShardSpec {
	out := make([]*v1.ShardSpec, n)
	for i := range n {
		kr := &v1.KeyRange{}
		if i > 0 {
			kr.Start = fmt.Sprintf("%04x", i*(0x10000/n))
		}
		if i < n-1 {
			kr.End = fmt.Sprintf("%04x", (i+1)*(0x10000/n))
		}
		out[i] = &v1.ShardSpec{KeyRange: kr}
	}
	return out
}

// bases are the uid ranges of a keyspace's shards, by shard name.
func bases(t *testing.T, resp *v1.KeyspaceSyncResponse) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, s := range shardsOf(t, resp) {
		out[s.GetSpec().GetName()] = s.GetSpec().GetUidBase()
	}
	return out
}

// TestShardsGetDistinctUIDRangesThatStay: the keyspace (cell
// us-east-1a, keyspace customer, 1024 equal shards), whose shards
// 0ac0-0b00 and 3080-30c0 once hashed to the same tablet uids: every shard
// gets a range of its own in the keyspace's slot, and keeps it as shards
// come and go.
func TestShardsGetDistinctUIDRangesThatStay(t *testing.T) {
	req := load(t, "create-two-shards")
	s := req.Parent.Spec
	s.Cell, s.Name = "us-east-1a", "customer"
	rescope(req.Parent)
	s.Shards = equalShards(1024)
	s.UidSlot = proto.Int32(7)
	l := golden.NewLoop(t, req, Sync)
	l.Apply()
	first := bases(t, l.Sync())
	if len(first) != 1024 {
		t.Fatalf("%d shards", len(first))
	}
	seen := map[int64]string{}
	for name, b := range first {
		if other, ok := seen[b]; ok {
			t.Fatalf("shards %s and %s share the uid range at %d", name, other, b)
		}
		seen[b] = name
		if _, ok := spec.ShardSlot(7, b); !ok {
			t.Errorf("shard %s: range %d is not in the keyspace's slot", name, b)
		}
	}
	if first["0ac0-0b00"] == first["3080-30c0"] {
		t.Error("the issue's two shards share a range")
	}
	// The last two shards merge into one: they are retired (their ranges
	// stay theirs) and the new shard takes a range nobody holds.
	s.Shards = append(equalShards(1024)[:1022:1022], &v1.ShardSpec{KeyRange: &v1.KeyRange{Start: "ff80"}})
	l.Req.Parent.Metadata.Generation++
	l.Apply()
	again := bases(t, l.Sync())
	for name, b := range again {
		if was, ok := first[name]; ok && was != b {
			t.Errorf("shard %s moved from range %d to %d", name, was, b)
		}
	}
	if b := again["ff80-"]; b == 0 || seen[b] != "" {
		t.Errorf("the new shard got range %d, held by %q", b, seen[b])
	}
}

// TestAKeyspaceWithoutASlotKeepsHashedUIDs: a keyspace made by a cell
// layer that gave no slots has shards without ranges, whose tablets keep
// the uids hashed from their names.
func TestAKeyspaceWithoutASlotKeepsHashedUIDs(t *testing.T) {
	resp, err := Sync(golden.Context(), load(t, "create-two-shards"))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range bases(t, resp) {
		if b != 0 {
			t.Errorf("shard %s got range %d", name, b)
		}
	}
}

// rescope gives a keyspace the identity labels of its cell and name, as
// the cell layer would.
func rescope(k *v1.VitessKeyspace) {
	s := k.GetSpec()
	for _, m := range []map[string]string{s.GetSelector().GetMatchLabels(), s.GetTemplate().GetMetadata().GetLabels()} {
		for key, v := range spec.KeyspaceIdentity(s.GetCluster(), s.GetCell(), s.GetName()) {
			if _, ok := m[key]; ok {
				m[key] = v
			}
		}
	}
}
