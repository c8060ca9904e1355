package spec

import (
	"fmt"
	"math"
)

// A tablet's Vitess alias is its cell and its uid, a 32-bit number: two
// tablets of one cell with one uid share an alias and corrupt the
// topology. Uids are unique within a cell by construction. The cell layer
// gives each of its keyspaces a slot, the keyspace layer gives each of its
// shards a range of ShardUIDs uids in its slot, and the shard layer gives
// each tablet its pool's offset in the range plus its index. Slots and
// ranges are kept in the children's specs for their whole lives (a layer
// reads them back from what it observes), so an existing tablet never
// changes its uid. Tablets made before slots existed have uids hashed from
// their names (TabletUID), all below SlotsBase; they keep them.
const (
	// SlotsBase is the first uid of the slots: above every hashed uid
	// (at most 16777215*100 + 98).
	SlotsBase = 1_700_000_000
	// PoolUIDs is the number of uids of one pool of a shard: MaxPoolTablets
	// of them are used.
	PoolUIDs = 100
	// ShardUIDs is the size of a shard's range: its replica pool's uids,
	// then its rdonly pool's.
	ShardUIDs = 2 * PoolUIDs
	// ShardSlots is the number of shard ranges of one keyspace slot: the
	// most shards a keyspace may have had in a cell, retired ones counted.
	ShardSlots = 4096
	// KeyspaceSlots is the number of keyspace slots of a cell (3167).
	KeyspaceSlots = (math.MaxUint32 + 1 - SlotsBase) / (ShardUIDs * ShardSlots)
)

// ShardBase is the first uid of a shard's range: the shardSlot-th range of
// keyspace slot keyspaceSlot.
func ShardBase(keyspaceSlot, shardSlot int) int64 {
	return SlotsBase + (int64(keyspaceSlot)*ShardSlots+int64(shardSlot))*ShardUIDs
}

// ShardSlot is the shard slot of keyspace slot keyspaceSlot that a range
// starting at base is, or false when base is no range of that slot.
func ShardSlot(keyspaceSlot int, base int64) (int, bool) {
	first := ShardBase(keyspaceSlot, 0)
	if base < first || base >= first+ShardSlots*ShardUIDs || (base-first)%ShardUIDs != 0 {
		return 0, false
	}
	return int((base - first) / ShardUIDs), true
}

// PoolUID is the uid of the index-th tablet of a pool of the shard whose
// range starts at base.
func PoolUID(base int64, tabletType string, index int) uint32 {
	offset := int64(0)
	if tabletType == TypeRdonly {
		offset = PoolUIDs
	}
	return uint32(base + offset + int64(index))
}

// AssignSlots gives each of keys a slot below n: the slot held gives it,
// or else the lowest slot that nobody holds. held may name keys that are
// not in keys (children that left the spec but remain): their slots stay
// taken. It fails, naming what, when every slot is taken.
func AssignSlots(keys []string, held map[string]int, n int, what string) (map[string]int, error) {
	taken := make(map[int]bool, len(held))
	for _, s := range held {
		taken[s] = true
	}
	out := make(map[string]int, len(keys))
	next := 0
	for _, k := range keys {
		if s, ok := held[k]; ok {
			out[k] = s
			continue
		}
		for next < n && taken[next] {
			next++
		}
		if next >= n {
			return nil, fmt.Errorf("every one of the %d tablet uid ranges of %s is taken (by %d children, retired ones included): %w", n, what, len(held)+len(out), errSlotsFull)
		}
		out[k], taken[next] = next, true
	}
	return out, nil
}

// errSlotsFull means a layer ran out of uid ranges.
var errSlotsFull = fmt.Errorf("delete retired children (reclaimPolicy Delete) before adding more")

// SlotsFull turns a failure of AssignSlots into the spec problem of field.
func SlotsFull(field string, err error) error {
	return fieldErr(field, "TooManySlots", "%v", err)
}
