// Package layer is the keyspace layer's pure logic: one VitessKeyspace (a
// keyspace as served in one cell) in, one VitessShard per key range out
// (one unsharded shard "0" when the keyspace lists none), rolled one shard
// at a time in key order, and the keyspace's readiness aggregated from its
// shards.
package layer

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/vtmeta/vtmeta/internal/conditions"
	"github.com/vtmeta/vtmeta/internal/hookctx"
	"github.com/vtmeta/vtmeta/internal/names"
	"github.com/vtmeta/vtmeta/internal/observed"
	"github.com/vtmeta/vtmeta/internal/rollout"
	"github.com/vtmeta/vtmeta/internal/spec"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// APIVersion is the apiVersion of vtmeta's kinds.
const APIVersion = "vitess.io/v1alpha1"

// owned are the child types of the keyspace layer.
var owned = []rollout.Type{{Kind: "VitessShard", APIVersion: APIVersion}}

// Sync computes the desired VitessShards of a VitessKeyspace and its status.
func Sync(ctx context.Context, req *v1.KeyspaceSyncRequest) (*v1.KeyspaceSyncResponse, error) {
	p := req.GetParent()
	s := p.GetSpec()
	obs := observed.Index(req.GetChildren())
	invalid := errors.Join(spec.KeyspaceObject(s), answerFits(p, hookctx.AnswerLimit(ctx)))
	res, conds, err := rollout.Plan(ctx, obs, invalid,
		func() ([]rollout.Child, error) { return Shards(p, obs) },
		rollout.Options{Owned: owned, Retain: s.GetClusterConfig().GetReclaimPolicy() != spec.ReclaimDelete})
	if err != nil {
		return nil, fmt.Errorf("VitessKeyspace %s/%s: %w", p.GetMetadata().GetNamespace(), p.GetMetadata().GetName(), err)
	}
	gen := p.GetMetadata().GetGeneration()
	conds = append(conds, rollout.AvailableCondition(res.Unavailable(nil)))
	st := &v1.VitessKeyspaceStatus{
		ObservedGeneration: gen,
		Shards:             int32(res.Desired),
		ReadyShards:        int32(res.ReadyCount(nil)),
		UpdatedShards:      int32(res.Updated),
		RetiredShards:      res.Retired,
	}
	if s.GetRunsBackups() {
		last, backedUp := res.Backups(func(rollout.State) bool { return true })
		if last != "" {
			st.LastBackupTime = &last
		}
		if backedUp != nil {
			conds = append(conds, backedUp)
		}
	}
	st.Conditions = conditions.Merge(p.GetStatus().GetConditions(), hookctx.Now(ctx), gen, conds...)
	return &v1.KeyspaceSyncResponse{Status: st, Children: res.Children}, nil
}

// Shards returns the desired VitessShards of a valid VitessKeyspace in
// rollout order: key order, lowest first, as a valid spec lists them. obs
// are its observed children, whose shards keep their uid ranges.
func Shards(p *v1.VitessKeyspace, obs observed.Children) ([]rollout.Child, error) {
	s := p.GetSpec()
	ranges := s.GetShards()
	if len(ranges) == 0 {
		ranges = []*v1.ShardSpec{{}} // unsharded: one shard "0"
	}
	bases, err := UIDBases(p, ranges, obs)
	if err != nil {
		return nil, err
	}
	// Most shards take the keyspace's tablets as they are: merge them once.
	base := spec.MergeTablets(s.GetTablets(), nil)
	out := make([]rollout.Child, 0, len(ranges))
	for _, r := range ranges {
		tablets := base
		if r.GetTablets() != nil {
			tablets = spec.MergeTablets(s.GetTablets(), r.GetTablets())
		}
		c, err := rollout.FromProto(Shard(p, r, tablets, bases[shardObject(p, r)]))
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// shardType is the type of the keyspace's VitessShards.
var shardType = owned[0]

// shardObject is the name of a key range's VitessShard.
func shardObject(p *v1.VitessKeyspace, r *v1.ShardSpec) string {
	s := p.GetSpec()
	return names.ShardObject(s.GetCluster(), s.GetCell(), s.GetName(), spec.ShardName(r.GetKeyRange()))
}

// UIDBases gives each shard its range of tablet uids, by VitessShard name:
// the one its observed VitessShard has, else the lowest range of the
// keyspace's uid slot that no observed VitessShard has, retired ones
// included. A keyspace without a slot (made before slots) gives none (0):
// its shards' tablets keep hashing their uids from their names.
func UIDBases(p *v1.VitessKeyspace, ranges []*v1.ShardSpec, obs observed.Children) (map[string]int64, error) {
	s := p.GetSpec()
	out := make(map[string]int64, len(ranges))
	if s == nil || s.UidSlot == nil {
		return out, nil
	}
	slot := int(s.GetUidSlot())
	held := map[string]int{}
	var keys []string
	for _, name := range obs.Names(shardType.Kind, shardType.APIVersion) {
		base := obs.Get(shardType.Kind, shardType.APIVersion, name).GetSpec().GetUidBase()
		if n, ok := spec.ShardSlot(slot, base); ok {
			held[name] = n
		} else if base != 0 {
			out[name] = base // a range of another slot: it stays the shard's
		}
	}
	for _, r := range ranges {
		if name := shardObject(p, r); out[name] == 0 {
			keys = append(keys, name)
		}
	}
	got, err := spec.AssignSlots(keys, held, spec.ShardSlots, "keyspace "+s.GetName()+" in cell "+s.GetCell())
	if err != nil {
		return nil, spec.SlotsFull("spec.shards", err)
	}
	for name, n := range got {
		out[name] = spec.ShardBase(slot, n)
	}
	return out, nil
}

// Shard builds the VitessShard of one key range with its merged tablets
// and the first uid of its range (0: none); r without a key range is the
// unsharded shard "0".
func Shard(p *v1.VitessKeyspace, r *v1.ShardSpec, tablets *v1.TabletsSpec, base int64) *v1.VitessShard {
	s := p.GetSpec()
	var kr *v1.KeyRange
	if r.GetKeyRange() != nil {
		kr = r.GetKeyRange()
	}
	name := spec.ShardName(kr)
	sel, tmpl := spec.Narrow(s.GetSelector(), s.GetTemplate(), spec.LabelShard, names.Shard(name))
	return &v1.VitessShard{
		ApiVersion: APIVersion,
		Kind:       "VitessShard",
		Metadata: &v1.ObjectMeta{
			Name:        names.ShardObject(s.GetCluster(), s.GetCell(), s.GetName(), name),
			Namespace:   p.GetMetadata().GetNamespace(),
			Labels:      spec.Over(s.GetClusterConfig().GetLabels(), spec.Labels(s.GetSelector(), s.GetTemplate(), spec.LabelShard, names.Shard(name))),
			Annotations: maps.Clone(s.GetClusterConfig().GetAnnotations()),
		},
		Spec: &v1.VitessShardSpec{
			ClusterConfig:    s.GetClusterConfig(),
			Cluster:          s.GetCluster(),
			Cell:             s.GetCell(),
			Keyspace:         s.GetName(),
			Name:             name,
			KeyRange:         kr,
			Tablets:          tablets,
			DurabilityPolicy: s.GetDurabilityPolicy(),
			Selector:         sel,
			Template:         tmpl,
			BackupFlags:      s.GetBackupFlags(),
			UidBase:          base,
			RunsBackups:      s.GetRunsBackups(),
		},
	}
}
