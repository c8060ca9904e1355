// Package layer is the keyspace layer's pure logic: one VitessKeyspace (a
// keyspace as served in one cell) in, one VitessShard per key range out
// (one unsharded shard "0" when the keyspace lists none), rolled one shard
// at a time in key order, and the keyspace's readiness aggregated from its
// shards.
package layer

import (
	"context"
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
	res, conds, err := rollout.Plan(ctx, observed.Index(req.GetChildren()), spec.KeyspaceObject(s),
		func() ([]rollout.Child, error) { return Shards(p) },
		rollout.Options{Owned: owned, Retain: s.GetClusterConfig().GetReclaimPolicy() != spec.ReclaimDelete})
	if err != nil {
		return nil, fmt.Errorf("VitessKeyspace %s/%s: %w", p.GetMetadata().GetNamespace(), p.GetMetadata().GetName(), err)
	}
	gen := p.GetMetadata().GetGeneration()
	conds = append(conds, rollout.AvailableCondition(res.Unavailable(nil)))
	return &v1.KeyspaceSyncResponse{
		Status: &v1.VitessKeyspaceStatus{
			ObservedGeneration: gen,
			Conditions:         conditions.Merge(p.GetStatus().GetConditions(), hookctx.Now(ctx), gen, conds...),
			Shards:             int32(res.Desired),
			ReadyShards:        int32(res.ReadyCount(nil)),
			UpdatedShards:      int32(res.Updated),
			RetiredShards:      res.Retired,
		},
		Children: res.Children,
	}, nil
}

// Shards returns the desired VitessShards of a valid VitessKeyspace in
// rollout order: key order, lowest first, as a valid spec lists them.
func Shards(p *v1.VitessKeyspace) ([]rollout.Child, error) {
	s := p.GetSpec()
	ranges := s.GetShards()
	if len(ranges) == 0 {
		ranges = []*v1.ShardSpec{{}} // unsharded: one shard "0"
	}
	// Most shards take the keyspace's tablets as they are: merge them once.
	base := spec.MergeTablets(s.GetTablets(), nil)
	out := make([]rollout.Child, 0, len(ranges))
	for _, r := range ranges {
		tablets := base
		if r.GetTablets() != nil {
			tablets = spec.MergeTablets(s.GetTablets(), r.GetTablets())
		}
		c, err := rollout.FromProto(Shard(p, r, tablets))
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Shard builds the VitessShard of one key range with its merged tablets;
// r without a key range is the unsharded shard "0".
func Shard(p *v1.VitessKeyspace, r *v1.ShardSpec, tablets *v1.TabletsSpec) *v1.VitessShard {
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
		},
	}
}
