// Package layer is the cell layer's pure logic: one VitessCell in, what
// that cell of a Vitess cluster needs on Kubernetes out — the global
// topology etcd (in the cell that runs it), vtctld and vtorc, the vttablet
// headless Service, the Jobs that register the cell and set up keyspaces
// in the topology, one VitessKeyspace per keyspace served in the cell, and
// the vtgates last, so tablets are upgraded before the gateways that route
// to them.
package layer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/vtmeta/vtmeta/internal/conditions"
	"github.com/vtmeta/vtmeta/internal/hookctx"
	"github.com/vtmeta/vtmeta/internal/kube"
	"github.com/vtmeta/vtmeta/internal/names"
	"github.com/vtmeta/vtmeta/internal/observed"
	"github.com/vtmeta/vtmeta/internal/rollout"
	"github.com/vtmeta/vtmeta/internal/spec"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// APIVersion is the apiVersion of vtmeta's kinds.
const APIVersion = "vitess.io/v1alpha1"

// owned are the child types of the cell layer.
var owned = []rollout.Type{
	{Kind: "Service", APIVersion: "v1"},
	{Kind: "ConfigMap", APIVersion: "v1"},
	{Kind: "StatefulSet", APIVersion: "apps/v1"},
	{Kind: "Deployment", APIVersion: "apps/v1"},
	{Kind: "PodDisruptionBudget", APIVersion: "policy/v1"},
	{Kind: "Job", APIVersion: "batch/v1"},
	{Kind: "VitessKeyspace", APIVersion: APIVersion},
	{Kind: "Pod", APIVersion: "v1"},
}

// ephemeral are the child types that go when they leave the spec, whatever
// the reclaim policy: Jobs and Pods that ran, and the VSchemas' ConfigMaps.
var ephemeral = []rollout.Type{{Kind: "Job", APIVersion: "batch/v1"}, {Kind: "Pod", APIVersion: "v1"}, {Kind: "ConfigMap", APIVersion: "v1"}}

// Sync computes the desired children of a VitessCell and its status.
func Sync(ctx context.Context, req *v1.CellSyncRequest) (*v1.CellSyncResponse, error) {
	c := req.GetParent()
	s := c.GetSpec()
	obs := observed.Index(req.GetChildren())
	var plan *Plan
	res, conds, err := rollout.Plan(ctx, obs, errors.Join(spec.CellObject(s), answerFits(s, hookctx.AnswerLimit(ctx))),
		func() ([]rollout.Child, error) {
			var err error
			plan, err = Children(c, obs)
			if err != nil {
				return nil, err
			}
			return plan.Children, nil
		},
		// A keyspace that leaves the cell is kept unless the cluster's
		// reclaim policy says Delete: its shards hold volumes.
		rollout.Options{Owned: owned, Retain: s.GetClusterConfig().GetReclaimPolicy() != spec.ReclaimDelete, Ephemeral: ephemeral})
	if err != nil {
		return nil, fmt.Errorf("VitessCell %s/%s: %w", c.GetMetadata().GetNamespace(), c.GetMetadata().GetName(), err)
	}
	gen := c.GetMetadata().GetGeneration()
	st := &v1.VitessCellStatus{ObservedGeneration: gen}
	if plan != nil {
		for _, state := range res.States {
			switch state.Child.Kind {
			case "VitessKeyspace":
				st.Keyspaces++
				if res.IsReady(state) {
					st.ReadyKeyspaces++
				}
			case "Job":
				if state.Child.Name == plan.registration && state.Healthy {
					st.CellRegistered = true
				} else if state.Child.Name != plan.registration && state.Healthy {
					st.KeyspacesSetUp++
				}
			}
		}
		st.Etcd = components(obs, "StatefulSet", plan.etcd)
		st.Vtctld = components(obs, "Deployment", plan.vtctld)
		st.Vtorc = components(obs, "Deployment", plan.vtorc)
		st.Vtgate = components(obs, "Deployment", plan.vtgate)
	}
	conds = append(conds, rollout.AvailableCondition(res.Unavailable(nil)))
	if plan != nil {
		applied, hashes := vschemaStatus(obs, plan.vschemas, c.GetStatus().GetAppliedVschemas())
		if applied != nil {
			conds = append(holdReady(conds, applied), applied)
		}
		st.AppliedVschemas = hashes
	}
	if plan != nil && len(s.GetBackupKeyspaces()) > 0 {
		last, backedUp := res.Backups(func(state rollout.State) bool { return plan.backups[state.Child.Name] })
		if last != "" {
			st.LastBackupTime = &last
		}
		if backedUp != nil {
			conds = append(conds, backedUp)
		}
	}
	st.Conditions = conditions.Merge(c.GetStatus().GetConditions(), hookctx.Now(ctx), gen, conds...)
	return &v1.CellSyncResponse{Status: st, Children: res.Children}, nil
}

// workload is a component's Deployment or StatefulSet and its size.
type workload struct {
	name    string
	desired int32
}

// components counts a component's Pods from its workload's status.
func components(obs observed.Children, kind string, w workload) *v1.ComponentStatus {
	out := &v1.ComponentStatus{Desired: w.desired}
	if w.name == "" {
		return out
	}
	if o := obs.Get(kind, "apps/v1", w.name); o != nil {
		out.Ready = o.GetStatus().GetReadyReplicas()
		out.Updated = o.GetStatus().GetUpdatedReplicas()
	}
	return out
}

// Plan is the desired children of a cell, in rollout order.
type Plan struct {
	// Children are every desired child in rollout order.
	Children []rollout.Child

	registration                string
	etcd, vtctld, vtorc, vtgate workload
	// backups are the VitessKeyspaces that run their shards' backups.
	backups map[string]bool
	// vschemas are the VSchemas the cell applies.
	vschemas []vschema
}

// Children builds the desired children of a valid VitessCell; obs are
// its observed children, whose keyspaces keep their uid slots.
func Children(c *v1.VitessCell, obs observed.Children) (*Plan, error) {
	s := c.GetSpec()
	b := builder{cell: c, s: s, ns: c.GetMetadata().GetNamespace(), cfg: s.GetClusterConfig()}
	plan := &Plan{backups: map[string]bool{}}
	var objs []kube.Object
	add := func(more []kube.Object, err error) error {
		objs = append(objs, more...)
		return err
	}
	if s.GetEtcd() != nil {
		if err := add(b.Etcd()); err != nil {
			return nil, err
		}
		plan.etcd = workload{names.Etcd(b.cluster()), cmp.Or(s.GetEtcd().GetSize(), defaultEtcdSize)}
	}
	vtorc := s.GetVtorc()
	if vtorc == nil {
		vtorc = s.GetOrchestrator()
	}
	b.s = cellWith(s, vtorc)
	for _, x := range []struct {
		on bool
		c  component
		w  *workload
	}{{s.GetVtctld() != nil, b.Vtctld(), &plan.vtctld}, {vtorc != nil, b.Vtorc(), &plan.vtorc}} {
		if !x.on {
			continue
		}
		if err := add(b.Deployment(x.c)); err != nil {
			return nil, err
		}
		*x.w = workload{x.c.name, replicas(x.c)}
	}
	objs = append(objs, b.TabletService())
	if Registered(s) {
		reg := b.RegisterCell()
		plan.registration = reg.Name
		objs = append(objs, reg)
	}
	for _, k := range s.GetKeyspaceSetup() {
		objs = append(objs, b.SetUpKeyspace(k))
	}
	if len(s.GetRemoteKeyspaces()) > 0 {
		objs = append(objs, b.RebuildServingGraph())
	}
	for _, o := range objs {
		c, err := child(o)
		if err != nil {
			return nil, err
		}
		plan.Children = append(plan.Children, c)
	}
	slots, err := KeyspaceSlots(c, obs)
	if err != nil {
		return nil, err
	}
	for _, k := range s.GetKeyspaces() {
		ks, err := rollout.FromProto(Keyspace(c, k, slots[k.GetName()]))
		if err != nil {
			return nil, err
		}
		plan.Children = append(plan.Children, ks)
		plan.backups[ks.Name] = slices.Contains(s.GetBackupKeyspaces(), k.GetName())
	}
	// A cell that serves keyspaces runs vtgates, even without a vtgate block.
	if s.GetVtgate() != nil || len(s.GetKeyspaces()) > 0 {
		gate := b.Vtgate()
		gateObjs, err := b.Deployment(gate)
		if err != nil {
			return nil, err
		}
		for _, o := range gateObjs {
			c, err := child(o)
			if err != nil {
				return nil, err
			}
			plan.Children = append(plan.Children, c)
		}
		plan.vtgate = workload{gate.name, replicas(gate)}
	}
	// The VSchemas last: a Pod that has not run yet holds nothing up.
	for _, k := range s.GetKeyspaceSetup() {
		if k.GetVschema() == "" {
			continue
		}
		v, objs := b.VSchema(k)
		plan.vschemas = append(plan.vschemas, v)
		for _, o := range objs {
			c, err := child(o)
			if err != nil {
				return nil, err
			}
			plan.Children = append(plan.Children, c)
		}
	}
	return plan, nil
}

// cellWith returns s with vtorc resolved from its deprecated alias.
func cellWith(s *v1.VitessCellSpec, vtorc *v1.ComponentSpec) *v1.VitessCellSpec {
	if s.GetVtorc() != nil || vtorc == nil {
		return s
	}
	out := proto.Clone(s).(*v1.VitessCellSpec)
	out.Vtorc = vtorc
	return out
}

func replicas(c component) int32 {
	if c.spec.Replicas != nil {
		return c.spec.GetReplicas()
	}
	return c.replicas
}

// keyspaceType is the type of the cell's VitessKeyspaces.
var keyspaceType = rollout.Type{Kind: "VitessKeyspace", APIVersion: APIVersion}

// KeyspaceSlots gives each keyspace of the cell its tablet uid slot (see
// spec.AssignSlots): the one its observed VitessKeyspace has, else the
// lowest slot no observed VitessKeyspace of the cell has, retired ones
// included. Slots are by keyspace name.
func KeyspaceSlots(c *v1.VitessCell, obs observed.Children) (map[string]int32, error) {
	s := c.GetSpec()
	held := map[string]int{}
	for _, name := range obs.Names(keyspaceType.Kind, keyspaceType.APIVersion) {
		if sp := obs.Get(keyspaceType.Kind, keyspaceType.APIVersion, name).GetSpec(); sp != nil && sp.UidSlot != nil {
			held[name] = int(sp.GetUidSlot())
		}
	}
	byObject := make(map[string]string, len(s.GetKeyspaces()))
	keys := make([]string, 0, len(s.GetKeyspaces()))
	for _, k := range s.GetKeyspaces() {
		name := names.Keyspace(s.GetCluster(), s.GetName(), k.GetName())
		byObject[name] = k.GetName()
		keys = append(keys, name)
	}
	got, err := spec.AssignSlots(keys, held, spec.KeyspaceSlots, "cell "+s.GetName())
	if err != nil {
		return nil, spec.SlotsFull("spec.keyspaces", err)
	}
	out := make(map[string]int32, len(got))
	for name, slot := range got {
		out[byObject[name]] = int32(slot)
	}
	return out, nil
}

// Keyspace builds the VitessKeyspace of a keyspace served in the cell,
// with its tablet uid slot.
func Keyspace(c *v1.VitessCell, k *v1.KeyspaceSpec, slot int32) *v1.VitessKeyspace {
	s := c.GetSpec()
	sel, tmpl := spec.Narrow(s.GetSelector(), s.GetTemplate(), spec.LabelKeyspace, k.GetName())
	return &v1.VitessKeyspace{
		ApiVersion: APIVersion,
		Kind:       "VitessKeyspace",
		Metadata: &v1.ObjectMeta{
			Name:      names.Keyspace(s.GetCluster(), s.GetName(), k.GetName()),
			Namespace: c.GetMetadata().GetNamespace(),
			Labels:    spec.Over(s.GetClusterConfig().GetLabels(), spec.Labels(s.GetSelector(), s.GetTemplate(), spec.LabelKeyspace, k.GetName())),
			// A copy: the hash stamped on it must not reach the cluster's
			// annotations, which the spec and later children carry.
			Annotations: maps.Clone(s.GetClusterConfig().GetAnnotations()),
		},
		Spec: &v1.VitessKeyspaceSpec{
			ClusterConfig:    s.GetClusterConfig(),
			Cluster:          s.GetCluster(),
			Cell:             s.GetName(),
			Name:             k.GetName(),
			Cells:            k.GetCells(),
			Shards:           k.GetShards(),
			Tablets:          k.GetTablets(),
			DurabilityPolicy: spec.Durability(k, spec.CellServedCells(s, k)),
			Selector:         sel,
			Template:         tmpl,
			BackupFlags:      s.GetBackupFlags(),
			UidSlot:          &slot,
			RunsBackups:      slices.Contains(s.GetBackupKeyspaces(), k.GetName()),
		},
	}
}
