// Package layer is the shard layer's pure logic: one VitessShard in, one
// VitessTablet per tablet of its pools out (rdonly first, then the
// primary-eligible replicas), plus the shard's backup CronJobs and seed Job.
// The budget over the shard's tablet Pods is the cluster's: it spans cells,
// which a VitessShard (one per cell) does not see. A tablet that leaves the spec is retired, not deleted: its
// Pod goes away and its volume stays until the reclaim policy says Delete.
package layer

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/vtmeta/vtmeta/internal/conditions"
	"github.com/vtmeta/vtmeta/internal/hookctx"
	"github.com/vtmeta/vtmeta/internal/kjson"
	"github.com/vtmeta/vtmeta/internal/names"
	"github.com/vtmeta/vtmeta/internal/observed"
	"github.com/vtmeta/vtmeta/internal/rollout"
	"github.com/vtmeta/vtmeta/internal/spec"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// APIVersion is the apiVersion of vtmeta's kinds.
const APIVersion = "vitess.io/v1alpha1"

// ComponentLabel marks a Pod's Vitess component; the cluster's
// PodDisruptionBudget of a shard selects its tablets' Pods by it.
const ComponentLabel = spec.LabelComponent

// The child types of the shard layer.
var (
	tabletType = rollout.Type{Kind: "VitessTablet", APIVersion: APIVersion}
	// pdbType is owned, never desired: the per-cell budget earlier releases
	// rendered goes, since a Pod under two budgets cannot be evicted.
	pdbType = rollout.Type{Kind: "PodDisruptionBudget", APIVersion: "policy/v1"}
	owned   = []rollout.Type{pdbType, tabletType, cronJobType, jobType}
)

// Sync computes the desired VitessTablets and backup jobs of a VitessShard
// and its status.
func Sync(ctx context.Context, req *v1.ShardSyncRequest) (*v1.ShardSyncResponse, error) {
	p := req.GetParent()
	obs := observed.Index(req.GetChildren())
	var plan *Plan
	res, conds, err := rollout.Plan(ctx, obs, errors.Join(spec.ShardObject(p.GetSpec()), answerFits(p, hookctx.AnswerLimit(ctx))),
		func() ([]rollout.Child, error) {
			var err error
			plan, err = Children(p, obs)
			return plan.all(), err
		},
		rollout.Options{Owned: owned})
	if err != nil {
		return nil, fmt.Errorf("VitessShard %s/%s: %w", p.GetMetadata().GetNamespace(), p.GetMetadata().GetName(), err)
	}
	gen := p.GetMetadata().GetGeneration()
	st := &v1.VitessShardStatus{ObservedGeneration: gen}
	if plan == nil { // invalid spec: every child held
		st.Tablets, st.ReadyTablets = int32(res.Desired), int32(res.Ready)
	} else {
		// Counts cover the tablets the spec asks for; the budget and the
		// retired tablets only have to be applied.
		for _, s := range res.States {
			if plan.active[s.Child.Name] {
				st.Tablets++
				if res.IsReady(s) {
					st.ReadyTablets++
				}
				if s.Updated {
					st.UpdatedTablets++
				}
			}
		}
		st.RetiredTablets = plan.retired
		conds = res.CountedConditions(int(st.Tablets), int(st.ReadyTablets), int(st.UpdatedTablets),
			func(c rollout.Child) bool { return plan.active[c.Name] })
	}
	conds = append(conds, available(res, plan))
	if last := lastBackup(p, obs); last != "" {
		st.LastBackupTime = &last
	}
	if c := backedUp(p, st.GetLastBackupTime(), hookctx.Now(ctx)); c != nil {
		conds = append(conds, c)
	}
	st.Conditions = conditions.Merge(p.GetStatus().GetConditions(), hookctx.Now(ctx), gen, conds...)
	return &v1.ShardSyncResponse{Status: st, Children: res.Children}, nil
}

// available is the shard's Available condition: it serves while a
// primary-eligible tablet serves and at most one of its tablets in this
// cell is down, as in a rolling update. The tablets are those the spec asks for,
// or, while the spec is invalid (plan is nil), those observed. Within the
// budget the condition does not change with which tablet is down, so a
// rollout writes no status for it.
func available(res rollout.Result, plan *Plan) *v1.Condition {
	counted := func(s rollout.State) bool {
		return s.Child.Kind == tabletType.Kind && (plan == nil || plan.active[s.Child.Name])
	}
	down := res.Unavailable(counted)
	tablets, eligible := 0, 0
	for _, s := range res.States {
		if !counted(s) {
			continue
		}
		tablets++
		if s.Observed.GetMetadata().GetLabels()[spec.LabelTabletType] == spec.TypeReplica && rollout.Available(s.Observed) {
			eligible++
		}
	}
	switch {
	case tablets > 0 && eligible == 0:
		return conditions.New(conditions.Available, false, "NoPrimaryEligibleTablet", "no primary-eligible tablet serves")
	case len(down) > 1:
		return conditions.New(conditions.Available, false, "OverBudget",
			fmt.Sprintf("%d tablets are down, more than the shard's budget of one: %s first", len(down), down[0]))
	}
	return conditions.New(conditions.Available, true, "Serving", "a primary-eligible tablet serves, and at most one tablet is down")
}

// Plan is the desired children of a shard.
type Plan struct {
	// Tablets are the tablets the spec asks for, in rollout order.
	Tablets []rollout.Child
	// Retired are tablets that left the spec, kept with retired: true.
	Retired []rollout.Child
	// Backups are the shard's backup CronJobs and seed Job.
	Backups []rollout.Child

	active  map[string]bool
	retired []string
}

func (p *Plan) all() []rollout.Child {
	if p == nil {
		return nil
	}
	return slices.Concat(p.Tablets, p.Retired, p.Backups)
}

// Children builds the desired children of a valid VitessShard: the rdonly
// tablets, the replicas, then every observed tablet that left
// the spec, retired (unless the reclaim policy is Delete, which lets
// Metacontroller delete it and, with it, its volume).
func Children(p *v1.VitessShard, obs observed.Children) (*Plan, error) {
	s := p.GetSpec()
	plan := &Plan{active: map[string]bool{}}
	replica, rdonly := spec.Pools(s.GetTablets())
	held := heldUIDs(obs)
	for _, pool := range []struct {
		typ  string
		spec *v1.TabletPoolSpec
	}{{spec.TypeRdonly, rdonly}, {spec.TypeReplica, replica}} {
		for i := range int(pool.spec.GetReplicas()) {
			uid := TabletUID(p, held, obs, pool.typ, i)
			c, err := rollout.FromProto(Tablet(p, pool.typ, i, uid, pool.spec))
			if err != nil {
				return nil, err
			}
			plan.Tablets = append(plan.Tablets, c)
			plan.active[c.Name] = true
		}
	}
	var err error
	if plan.Backups, err = BackupJobs(p, obs); err != nil {
		return nil, err
	}
	if s.GetClusterConfig().GetReclaimPolicy() == spec.ReclaimDelete {
		return plan, nil
	}
	for _, name := range obs.Names(tabletType.Kind, tabletType.APIVersion) {
		if plan.active[name] {
			continue
		}
		c, err := Retire(obs.Get(tabletType.Kind, tabletType.APIVersion, name))
		if err != nil {
			return nil, err
		}
		plan.Retired = append(plan.Retired, c)
		plan.retired = append(plan.retired, name)
	}
	return plan, nil
}

// slotKey is a tablet's place in its shard: its pool and index.
type slotKey struct {
	typ   string
	index int
}

// heldUIDs are the uids of the observed tablets that carry their place in
// the shard (every tablet made since uid ranges exist does): the lowest
// uid per place, should two claim one.
func heldUIDs(obs observed.Children) map[slotKey]uint32 {
	out := map[slotKey]uint32{}
	for _, name := range obs.Names(tabletType.Kind, tabletType.APIVersion) {
		l := obs.Get(tabletType.Kind, tabletType.APIVersion, name).GetMetadata().GetLabels()
		i, ierr := strconv.Atoi(l[spec.LabelTabletIndex])
		uid, uerr := strconv.ParseUint(l[spec.LabelTabletUID], 10, 32)
		if ierr != nil || uerr != nil || i < 0 || uid == 0 {
			continue
		}
		k := slotKey{l[spec.LabelTabletType], i}
		if have, ok := out[k]; !ok || uint32(uid) < have {
			out[k] = uint32(uid)
		}
	}
	return out
}

// TabletUID is the uid of the index-th tablet of a pool. A tablet that
// exists keeps its uid, whatever scheme gave it: the one its VitessTablet
// says, or, for a tablet made before tablets said it, the uid hashed from
// its names when a tablet of that name exists. A new tablet takes its
// place in the shard's uid range, or, in a shard without one (made before
// ranges), the hashed uid.
func TabletUID(p *v1.VitessShard, held map[slotKey]uint32, obs observed.Children, typ string, index int) uint32 {
	if uid, ok := held[slotKey{typ, index}]; ok {
		return uid
	}
	s := p.GetSpec()
	hashed := spec.TabletUID(s.GetCell(), s.GetKeyspace(), s.GetName(), typ, index)
	if s.GetUidBase() == 0 || obs.Get(tabletType.Kind, tabletType.APIVersion, names.Tablet(s.GetCluster(), s.GetCell(), hashed)) != nil {
		return hashed
	}
	return spec.PoolUID(s.GetUidBase(), typ, index)
}

// Tablet builds the VitessTablet of the index-th tablet of a pool. The
// pool's size is left out of the tablet's spec: resizing a pool must not
// restart the tablets that stay.
func Tablet(p *v1.VitessShard, typ string, index int, uid uint32, pool *v1.TabletPoolSpec) *v1.VitessTablet {
	s := p.GetSpec()
	pool = proto.Clone(pool).(*v1.TabletPoolSpec)
	pool.Replicas = nil
	uidLabel := fmt.Sprintf("%010d", uid)
	sel, tmpl := spec.Narrow(s.GetSelector(), s.GetTemplate(), spec.LabelTabletUID, uidLabel, ComponentLabel, "vttablet")
	// The Pod carries its pool's type (not in the selector, which stays as
	// it was): monitoring tells replica pools from rdonly ones by it.
	tmpl.Metadata.Labels[spec.LabelTabletType] = typ
	return &v1.VitessTablet{
		ApiVersion: APIVersion,
		Kind:       "VitessTablet",
		Metadata: &v1.ObjectMeta{
			Name:      names.Tablet(s.GetCluster(), s.GetCell(), uid),
			Namespace: p.GetMetadata().GetNamespace(),
			Labels: spec.Over(s.GetClusterConfig().GetLabels(),
				spec.Labels(s.GetSelector(), s.GetTemplate(), spec.LabelTabletUID, uidLabel, spec.LabelTabletType, typ,
					spec.LabelTabletIndex, strconv.Itoa(index))),
			// A copy: the hash stamped on it must not reach the cluster's
			// annotations, which the spec and the next tablets carry.
			Annotations: maps.Clone(s.GetClusterConfig().GetAnnotations()),
		},
		Spec: &v1.VitessTabletSpec{
			ClusterConfig:    s.GetClusterConfig(),
			Cluster:          s.GetCluster(),
			Cell:             s.GetCell(),
			Keyspace:         s.GetKeyspace(),
			Shard:            s.GetName(),
			KeyRange:         s.GetKeyRange(),
			Uid:              int64(uid),
			Type:             typ,
			Pool:             pool,
			DurabilityPolicy: s.GetDurabilityPolicy(),
			Selector:         sel,
			Template:         tmpl,
		},
	}
}

// Retire returns an observed tablet as last applied, with retired: true.
func Retire(o *v1.Object) (rollout.Child, error) {
	last, err := observed.LastApplied(o)
	if err != nil {
		return rollout.Child{}, fmt.Errorf("retire: %w", err)
	}
	var t v1.VitessTablet
	if err := kjson.Unmarshal(last, &t); err != nil {
		return rollout.Child{}, fmt.Errorf("VitessTablet %s: read its last-applied state: %w", o.GetMetadata().GetName(), err)
	}
	if t.GetSpec() == nil {
		t.Spec = &v1.VitessTabletSpec{}
	}
	t.Spec.Retired = true
	if t.Metadata != nil {
		delete(t.Metadata.Annotations, observed.HashAnnotation)
	}
	return rollout.FromProto(proto.Clone(&t).(*v1.VitessTablet))
}
