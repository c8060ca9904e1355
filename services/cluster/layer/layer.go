// Package layer is the cluster layer's pure logic: one VitessCluster in, one
// VitessCell per cell out, rolled one cell at a time with the cell that
// hosts the global topology first, and the cluster's readiness aggregated
// from its cells.
package layer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

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

// The child types of the cluster layer.
var (
	cellType = rollout.Type{Kind: "VitessCell", APIVersion: APIVersion}
	owned    = []rollout.Type{budgetType, cellType}
)

// isCell says whether a child is a VitessCell: the status counts cells, not
// budgets.
func isCell(c rollout.Child) bool { return c.Kind == cellType.Kind }

// Sync computes the desired PodDisruptionBudgets and VitessCells of a
// VitessCluster and its status.
func Sync(ctx context.Context, req *v1.ClusterSyncRequest) (*v1.ClusterSyncResponse, error) {
	p := req.GetParent()
	s := p.GetSpec()
	built := false // the desired children were built: the spec is valid
	invalid := errors.Join(spec.ClusterObject(p.GetMetadata().GetName(), s), answerFits(s, hookctx.AnswerLimit(ctx)))
	res, conds, err := rollout.Plan(ctx, observed.Index(req.GetChildren()), invalid,
		func() ([]rollout.Child, error) {
			children, err := Children(p)
			built = err == nil
			return children, err
		},
		// A budget holds no data: one that left the spec goes, whatever
		// the reclaim policy.
		rollout.Options{Owned: owned, Retain: s.GetReclaimPolicy() != spec.ReclaimDelete, Ephemeral: []rollout.Type{budgetType}})
	if err != nil {
		return nil, fmt.Errorf("VitessCluster %s/%s: %w", p.GetMetadata().GetNamespace(), p.GetMetadata().GetName(), err)
	}
	gen := p.GetMetadata().GetGeneration()
	st := &v1.VitessClusterStatus{ObservedGeneration: gen, ReadyCells: int32(res.ReadyCount(isCell))}
	for _, state := range res.States {
		if isCell(state.Child) {
			st.Cells++
			if state.Updated {
				st.UpdatedCells++
			}
		}
	}
	st.RetiredCells = res.Retired // budgets are never retired: they go
	if built {
		conds = res.CountedConditions(int(st.GetCells()), int(st.GetReadyCells()), int(st.GetUpdatedCells()), isCell)
	}
	conds = append(conds, rollout.AvailableCondition(res.Unavailable(func(state rollout.State) bool { return isCell(state.Child) })), Security(s), Images(s))
	if backups := backupKeyspaces(s); len(backups) > 0 {
		cells := map[string]bool{}
		for cell := range backups {
			cells[names.Cell(p.GetMetadata().GetName(), cell)] = true
		}
		last, backedUp := res.Backups(func(state rollout.State) bool { return isCell(state.Child) && cells[state.Child.Name] })
		if last != "" {
			st.LastBackupTime = &last
		}
		if backedUp != nil {
			conds = append(conds, backedUp)
		}
	}
	st.Conditions = conditions.Merge(p.GetStatus().GetConditions(), hookctx.Now(ctx), gen, conds...)
	return &v1.ClusterSyncResponse{Status: st, Children: res.Children}, nil
}

// Security is the Insecure condition: True while the cluster has no
// credentials, saying what is open.
func Security(s *v1.VitessClusterSpec) *v1.Condition {
	if c := s.GetCredentials(); c != nil {
		return conditions.New(conditions.Insecure, false, "Credentials",
			"vtgate authenticates users from Secret "+c.GetSecretName()+" (vtgate-users.json), and MySQL users have the passwords it holds")
	}
	return conditions.New(conditions.Insecure, true, "NoCredentials",
		"spec.credentials is not set: vtgate accepts any user and password, and MySQL's replication user vt_repl@'%' has no password; fine for development, never for a database others can reach")
}

// Images is the ImagesSupported condition: False while the spec names
// Vitess images older than vtmeta supports, naming each field.
func Images(s *v1.VitessClusterSpec) *v1.Condition {
	old := spec.OldImages(s)
	if len(old) == 0 {
		return conditions.New(conditions.ImagesSupported, true, "Supported", fmt.Sprintf("no Vitess image older than v%d", spec.OldestVitess))
	}
	return conditions.New(conditions.ImagesSupported, false, "OlderThanSupported",
		fmt.Sprintf("Vitess images older than v%d cannot run the flags vtmeta renders (their Pods will not start): %s", spec.OldestVitess, strings.Join(old, "; ")))
}

// Children returns the desired children of a valid VitessCluster in rollout
// order: its shards' budgets, then its cells.
func Children(p *v1.VitessCluster) ([]rollout.Child, error) {
	budgets, err := Budgets(p)
	if err != nil {
		return nil, err
	}
	cells, err := Cells(p)
	if err != nil {
		return nil, err
	}
	return slices.Concat(budgets, cells), nil
}

// Cells returns the desired VitessCells of a valid VitessCluster, in rollout
// order: the cell that hosts the global topology first, then the others as
// the spec lists them.
func Cells(p *v1.VitessCluster) ([]rollout.Child, error) {
	s := p.GetSpec()
	host := topologyCell(s)
	order := slices.Clone(s.GetCells())
	slices.SortStableFunc(order, func(a, b *v1.CellSpec) int {
		switch {
		case a.GetName() == host && b.GetName() != host:
			return -1
		case b.GetName() == host && a.GetName() != host:
			return 1
		}
		return 0
	})
	cfg := Config(p)
	out := make([]rollout.Child, 0, len(order))
	for _, c := range order {
		cell, err := rollout.FromProto(Cell(p, cfg, c, host))
		if err != nil {
			return nil, err
		}
		out = append(out, cell)
	}
	return out, nil
}

// Config is what every layer below learns about the cluster.
func Config(p *v1.VitessCluster) *v1.ClusterConfig {
	s := p.GetSpec()
	img := s.GetImages()
	or := func(v, def string) string {
		if v != "" {
			return v
		}
		return def
	}
	return &v1.ClusterConfig{
		Images: &v1.Images{
			Vtctld:   or(img.GetVtctld(), spec.DefaultVitessImage),
			Vtgate:   or(img.GetVtgate(), spec.DefaultVitessImage),
			Vtorc:    or(img.GetVtorc(), spec.DefaultVitessImage),
			Vttablet: or(img.GetVttablet(), spec.DefaultVitessImage),
			Mysqld:   or(img.GetMysqld(), spec.DefaultMysqldImage),
			Etcd:     or(img.GetEtcd(), spec.DefaultEtcdImage),
		},
		Backup:      s.GetBackup(),
		BackupFlags: s.GetBackupFlags(),
		Topology: &v1.TopologySpec{
			Implementation: spec.TopologyImplementation,
			GlobalServerAddress: fmt.Sprintf("%s.%s.svc:%d",
				names.EtcdClient(p.GetMetadata().GetName()), p.GetMetadata().GetNamespace(), spec.EtcdClientPort),
			GlobalRoot: spec.GlobalRoot,
		},
		ReclaimPolicy: or(s.GetReclaimPolicy(), spec.ReclaimRetain),
		Labels:        s.GetLabels(),
		Annotations:   s.GetAnnotations(),
		VtctldAddress: fmt.Sprintf("%s.%s.svc:%d", names.Vtctld(p.GetMetadata().GetName(), vtctldCell(s)),
			p.GetMetadata().GetNamespace(), spec.VtctldGRPCPort),
		Credentials: s.GetCredentials(),
		InitSql:     s.GetInitSql(),
	}
}

// vtctldCell is the cell that runs the cluster's vtctld: the one with a
// vtctld block, else the one that runs the global topology.
func vtctldCell(s *v1.VitessClusterSpec) string {
	for _, c := range s.GetCells() {
		if c.GetVtctld() != nil {
			return c.GetName()
		}
	}
	return topologyCell(s)
}

// topologyCell is the cell that runs the global topology etcd: the one with
// an etcd block, else the cell named global, else the first cell.
func topologyCell(s *v1.VitessClusterSpec) string {
	for _, c := range s.GetCells() {
		if c.GetEtcd() != nil {
			return c.GetName()
		}
	}
	for _, c := range s.GetCells() {
		if c.GetName() == "global" {
			return c.GetName()
		}
	}
	return s.GetCells()[0].GetName()
}

// Cell builds the VitessCell of one cell.
func Cell(p *v1.VitessCluster, cfg *v1.ClusterConfig, c *v1.CellSpec, host string) *v1.VitessCell {
	s := p.GetSpec()
	cluster := p.GetMetadata().GetName()
	sel, tmpl := spec.Narrow(s.GetSelector(), s.GetTemplate(), spec.LabelCluster, cluster, spec.LabelCell, c.GetName())
	cellCfg := proto.Clone(cfg).(*v1.ClusterConfig)
	cellCfg.Topology.CellRoot = "/vitess/" + c.GetName()
	etcd := c.GetEtcd()
	var setup []*v1.KeyspaceSetup
	if c.GetName() == host {
		if etcd == nil {
			etcd = &v1.EtcdSpec{}
		}
		for _, k := range s.GetKeyspaces() {
			vschema, _ := spec.VSchemaJSON(k) // a raw VSchema that is not JSON is refused before
			setup = append(setup, &v1.KeyspaceSetup{Name: k.GetName(), DurabilityPolicy: spec.Durability(k, spec.ServedCells(s, k)), Vschema: vschema})
		}
	}
	vtctld := c.GetVtctld()
	if vtctld == nil && c.GetName() == vtctldCell(s) {
		vtctld = &v1.ComponentSpec{}
	}
	vtorc := c.GetVtorc()
	if vtorc == nil && c.GetOrchestrator() != nil {
		// The deprecated orchestrator block: its image ran the old
		// orchestrator, which cannot run vtorc; the cluster's vtorc image does.
		vtorc = proto.Clone(c.GetOrchestrator()).(*v1.ComponentSpec)
		vtorc.Image = ""
	}
	if vtorc == nil && c.GetName() == host {
		vtorc = &v1.ComponentSpec{} // primaries are elected by vtorc: always run one
	}
	keyspaces := []*v1.KeyspaceSpec{}
	var others []*v1.RemoteKeyspace
	for _, k := range s.GetKeyspaces() {
		if spec.ServedIn(s, k, c) {
			keyspaces = append(keyspaces, servedKeyspace(k))
		} else {
			others = append(others, &v1.RemoteKeyspace{Name: k.GetName(), ShardsHash: shardsHash(k)})
		}
	}
	var remote []*v1.RemoteKeyspace
	if c.GetVtgate() != nil || len(keyspaces) > 0 { // the cell runs vtgates
		remote = others
	}
	annotations := maps.Clone(s.GetAnnotations())
	return &v1.VitessCell{
		ApiVersion: APIVersion,
		Kind:       "VitessCell",
		Metadata: &v1.ObjectMeta{
			Name:        names.Cell(cluster, c.GetName()),
			Namespace:   p.GetMetadata().GetNamespace(),
			Labels:      spec.Over(s.GetLabels(), spec.Labels(s.GetSelector(), s.GetTemplate(), spec.LabelCluster, cluster, spec.LabelCell, c.GetName())),
			Annotations: annotations,
		},
		Spec: &v1.VitessCellSpec{
			ClusterConfig:   cellCfg,
			Cluster:         cluster,
			Name:            c.GetName(),
			Etcd:            etcd,
			Vtctld:          vtctld,
			Vtgate:          c.GetVtgate(),
			Vtorc:           vtorc,
			Keyspaces:       keyspaces,
			Selector:        sel,
			Template:        tmpl,
			BackupFlags:     s.GetBackupFlags(),
			KeyspaceSetup:   setup,
			WatchCells:      tabletCells(s),
			RemoteKeyspaces: remote,
			BackupKeyspaces: backupKeyspaces(s)[c.GetName()],
		},
	}
}

// servedKeyspace is a keyspace as a VitessCell carries it: without its
// VSchema, which only the global cell's keyspace setup carries (as Vitess's
// JSON), so an edit to it changes that cell alone and a large one is not
// repeated in every cell.
func servedKeyspace(k *v1.KeyspaceSpec) *v1.KeyspaceSpec {
	if k.GetVschema() == nil {
		return k
	}
	k = proto.Clone(k).(*v1.KeyspaceSpec)
	k.Vschema = nil
	return k
}

// backupKeyspaces are, by cell, the keyspaces whose shards' backups the
// cell runs: each keyspace's first cell, in spec order, when the cluster
// keeps backups.
func backupKeyspaces(s *v1.VitessClusterSpec) map[string][]string {
	out := map[string][]string{}
	if spec.BackupStorage(s.GetBackup()) == "" {
		return out
	}
	for _, k := range s.GetKeyspaces() {
		for _, c := range s.GetCells() {
			if spec.ServedIn(s, k, c) {
				out[c.GetName()] = append(out[c.GetName()], k.GetName())
				break
			}
		}
	}
	return out
}

// tabletCells are the cells that hold tablets of some keyspace, in spec
// order.
func tabletCells(s *v1.VitessClusterSpec) []string {
	var out []string
	for _, c := range s.GetCells() {
		if slices.ContainsFunc(s.GetKeyspaces(), func(k *v1.KeyspaceSpec) bool { return spec.ServedIn(s, k, c) }) {
			out = append(out, c.GetName())
		}
	}
	return out
}

// shardsHash is a hash of the Vitess names of a keyspace's shards: a cell
// that serves the keyspace from other cells' tablets rebuilds its serving
// graph when it changes. A hash, not the names: every such cell carries it,
// for every keyspace it does not hold.
func shardsHash(k *v1.KeyspaceSpec) string {
	h := sha256.New()
	if len(k.GetShards()) == 0 {
		h.Write([]byte(spec.UnshardedShard))
	}
	for _, sh := range k.GetShards() {
		h.Write([]byte(spec.ShardName(sh.GetKeyRange()) + ","))
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
