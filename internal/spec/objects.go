package spec

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/vtmeta/vtmeta/internal/names"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// The checks of the kinds below the cluster. Each checks every field its
// layer turns into a name, label, flag, path or script, as the layer above
// would have written it; an object that fails is held as last applied.

// identity checks the names an object of a lower layer is known by: its
// cluster (a DNS-1035 label, see ClusterName), and its cell and keyspace
// (DNS-1123 labels) where it has them.
func identity(cluster string, labels ...[2]string) []error {
	errs := []error{ClusterName("spec.cluster", cluster)}
	for _, l := range labels {
		errs = append(errs, Name(l[0], l[1]))
	}
	return errs
}

// selectorRequired refuses an object without a selector: its children
// would be told apart from no one's.
func selectorRequired(sel *v1.LabelSelector) error {
	if len(sel.GetMatchLabels()) == 0 {
		return fieldErr("spec.selector.matchLabels", "MissingSelector", "a selector is required")
	}
	return nil
}

// durability checks a durability policy a layer above resolved.
func durability(field, d string) error {
	switch d {
	case "", DurabilityNone, DurabilitySemiSync, DurabilityCrossCell:
		return nil
	}
	return fieldErr(field, "InvalidDurabilityPolicy", "%q is not a durability policy: use none, semi_sync or cross_cell", d)
}

// ClusterObject checks a VitessCluster: its name, as ClusterName, and its
// spec, as Cluster.
func ClusterObject(name string, s *v1.VitessClusterSpec) error {
	return errors.Join(ClusterName("metadata.name", name), Cluster(s))
}

// CellIdentity is the labels a VitessCell's selector carries as its
// identity, as the cluster layer sets them.
func CellIdentity(cluster, cell string) map[string]string {
	return map[string]string{LabelCluster: cluster, LabelCell: cell}
}

// KeyspaceIdentity is a VitessKeyspace's identity labels.
func KeyspaceIdentity(cluster, cell, keyspace string) map[string]string {
	m := CellIdentity(cluster, cell)
	m[LabelKeyspace] = keyspace
	return m
}

// ShardIdentity is a VitessShard's identity labels.
func ShardIdentity(cluster, cell, keyspace, shard string) map[string]string {
	m := KeyspaceIdentity(cluster, cell, keyspace)
	m[LabelShard] = names.Shard(shard)
	return m
}

// TabletIdentity is a VitessTablet's identity labels (its pool's type
// among them, which its template carries but its selector does not).
func TabletIdentity(cluster, cell, keyspace, shard, typ string, uid uint32) map[string]string {
	m := ShardIdentity(cluster, cell, keyspace, shard)
	m[LabelTabletUID] = fmt.Sprintf("%010d", uid)
	m[LabelTabletType] = typ
	m[LabelComponent] = "vttablet"
	return m
}

// CellObject checks a VitessCell's spec.
func CellObject(s *v1.VitessCellSpec) error {
	errs := identity(s.GetCluster(), [2]string{"spec.name", s.GetName()})
	errs = append(errs, selectorRequired(s.GetSelector()),
		Inherited("spec", s.GetSelector(), s.GetTemplate(), CellIdentity(s.GetCluster(), s.GetName())),
		Config("spec.clusterConfig", s.GetClusterConfig()))
	if s.GetVtorc() != nil && s.GetOrchestrator() != nil {
		errs = append(errs, fieldErr("spec", "AliasConflict", "set vtorc or its deprecated alias orchestrator, not both"))
	}
	if s.GetName() == GlobalCell && (s.GetVtgate() != nil || len(s.GetKeyspaces()) > 0) {
		errs = append(errs, globalCellError("spec.name"))
	}
	if Exposed(s.GetVtgate()) && s.GetClusterConfig().GetCredentials() == nil {
		errs = append(errs, noAuthError("spec.vtgate.service.type"))
	}
	for _, c := range components("spec", s.GetVtctld(), s.GetVtgate(), s.GetVtorc(), s.GetOrchestrator()) {
		errs = append(errs, Component(c.field, c.binary, c.spec))
	}
	errs = append(errs, BackupFlags("spec.clusterConfig.backup", s.GetClusterConfig().GetBackup(), s.GetClusterConfig().GetBackupFlags(), "spec.clusterConfig.backupFlags"),
		Etcd("spec.etcd", s.GetEtcd()))
	if s.GetClusterConfig().GetVtctldAddress() == "" || s.GetClusterConfig().GetTopology().GetGlobalServerAddress() == "" {
		errs = append(errs, fieldErr("spec.clusterConfig", "MissingClusterConfig",
			"the cell needs its cluster's topology and vtctld addresses, which the cluster layer fills in: is this VitessCell made by a VitessCluster?"))
	}
	errs = append(errs, unique("spec.keyspaces", len(s.GetKeyspaces()), func(i int) string { return s.GetKeyspaces()[i].GetName() }))
	for i, k := range s.GetKeyspaces() {
		errs = append(errs, Keyspace(fmt.Sprintf("spec.keyspaces[%d]", i), k, nil, CellServedCells(s, k)))
	}
	errs = append(errs, unique("spec.keyspaceSetup", len(s.GetKeyspaceSetup()), func(i int) string { return s.GetKeyspaceSetup()[i].GetName() }))
	for i, k := range s.GetKeyspaceSetup() {
		f := fmt.Sprintf("spec.keyspaceSetup[%d]", i)
		errs = append(errs, Name(f+".name", k.GetName()), durability(f+".durabilityPolicy", k.GetDurabilityPolicy()))
		if js := k.GetVschema(); js != "" && !json.Valid([]byte(js)) {
			errs = append(errs, fieldErr(f+".vschema", "InvalidVSchema", "not JSON; the cluster layer writes it"))
		}
	}
	errs = append(errs, unique("spec.watchCells", len(s.GetWatchCells()), func(i int) string { return s.GetWatchCells()[i] }))
	for i, c := range s.GetWatchCells() {
		errs = append(errs, Name(fmt.Sprintf("spec.watchCells[%d]", i), c))
	}
	errs = append(errs, unique("spec.remoteKeyspaces", len(s.GetRemoteKeyspaces()), func(i int) string { return s.GetRemoteKeyspaces()[i].GetName() }))
	for i, k := range s.GetRemoteKeyspaces() {
		f := fmt.Sprintf("spec.remoteKeyspaces[%d]", i)
		errs = append(errs, Name(f+".name", k.GetName()))
		for j, sh := range k.GetShards() {
			errs = append(errs, ValidShardName(fmt.Sprintf("%s.shards[%d]", f, j), sh))
		}
		if h := k.GetShardsHash(); h != "" && (len(h) != 16 || !isHexBytes(h)) {
			errs = append(errs, fieldErr(f+".shardsHash", "InvalidHash", "%q is not 16 hex digits; the cluster layer writes it", h))
		}
	}
	return errors.Join(errs...)
}

// unique refuses a list in which two entries have the same key: one
// child per key would be built twice, and Metacontroller would keep one.
func unique(field string, n int, key func(int) string) error {
	seen := make(map[string]int, n)
	var errs []error
	for i := range n {
		k := key(i)
		if j, ok := seen[k]; ok {
			errs = append(errs, fieldErr(fmt.Sprintf("%s[%d]", field, i), "DuplicateName", "%q is listed twice (also at %s[%d]): names must be unique", k, field, j))
			continue
		}
		seen[k] = i
	}
	return errors.Join(errs...)
}

// KeyspaceObject checks a VitessKeyspace's spec.
func KeyspaceObject(s *v1.VitessKeyspaceSpec) error {
	errs := identity(s.GetCluster(), [2]string{"spec.cell", s.GetCell()}, [2]string{"spec.name", s.GetName()})
	errs = append(errs, selectorRequired(s.GetSelector()),
		Inherited("spec", s.GetSelector(), s.GetTemplate(), KeyspaceIdentity(s.GetCluster(), s.GetCell(), s.GetName())),
		Config("spec.clusterConfig", s.GetClusterConfig()),
		durability("spec.durabilityPolicy", s.GetDurabilityPolicy()),
		Shards("spec.shards", s.GetShards()), Tablets("spec.tablets", s.GetTablets()))
	for j, sh := range s.GetShards() {
		if sh.GetTablets() != nil {
			errs = append(errs, Tablets(fmt.Sprintf("spec.shards[%d].tablets", j), sh.GetTablets()))
		}
	}
	for j, c := range s.GetCells() {
		errs = append(errs, Name(fmt.Sprintf("spec.cells[%d]", j), c))
	}
	if s != nil && s.UidSlot != nil && (s.GetUidSlot() < 0 || s.GetUidSlot() >= KeyspaceSlots) {
		errs = append(errs, fieldErr("spec.uidSlot", "InvalidUID", "%d: a keyspace's uid slot is 0 to %d; the cell layer sets it", s.GetUidSlot(), KeyspaceSlots-1))
	}
	return errors.Join(errs...)
}

// ShardObject checks a VitessShard's spec.
func ShardObject(s *v1.VitessShardSpec) error {
	errs := identity(s.GetCluster(), [2]string{"spec.cell", s.GetCell()}, [2]string{"spec.keyspace", s.GetKeyspace()})
	errs = append(errs, selectorRequired(s.GetSelector()))
	if kr := s.GetKeyRange(); kr != nil {
		if !isHexBytes(kr.GetStart()) || !isHexBytes(kr.GetEnd()) || (kr.GetEnd() != "" && kr.GetStart() >= kr.GetEnd()) {
			errs = append(errs, fieldErr("spec.keyRange", "InvalidKeyRange", "start %q must be below end %q, both lowercase hex bytes", kr.GetStart(), kr.GetEnd()))
		}
	}
	if err := ShardObjectName("spec.name", s.GetName(), s.GetKeyRange()); err != nil {
		errs = append(errs, err)
	} else {
		errs = append(errs, Inherited("spec", s.GetSelector(), s.GetTemplate(), ShardIdentity(s.GetCluster(), s.GetCell(), s.GetKeyspace(), s.GetName())))
	}
	errs = append(errs, Config("spec.clusterConfig", s.GetClusterConfig()),
		durability("spec.durabilityPolicy", s.GetDurabilityPolicy()),
		Tablets("spec.tablets", s.GetTablets()))
	if b := s.GetUidBase(); b != 0 {
		if b < SlotsBase || b > math.MaxUint32-ShardUIDs+1 || (b-SlotsBase)%ShardUIDs != 0 {
			errs = append(errs, fieldErr("spec.uidBase", "InvalidUID", "%d is no shard's uid range; the keyspace layer sets it", b))
		}
	} else if TabletUID(s.GetCell(), s.GetKeyspace(), s.GetName(), TypeReplica, 0) == TabletUID(s.GetCell(), s.GetKeyspace(), s.GetName(), TypeRdonly, 0) {
		errs = append(errs, fieldErr("spec.name", "TabletUIDCollision",
			"the replica and rdonly pools of cell %s, keyspace %s, shard %s hash to the same tablet uids; rename the keyspace or cell", s.GetCell(), s.GetKeyspace(), s.GetName()))
	}
	return errors.Join(errs...)
}

// TabletObject checks a VitessTablet's spec.
func TabletObject(s *v1.VitessTabletSpec) error {
	errs := identity(s.GetCluster(), [2]string{"spec.cell", s.GetCell()}, [2]string{"spec.keyspace", s.GetKeyspace()})
	errs = append(errs, selectorRequired(s.GetSelector()))
	if s.GetType() != TypeReplica && s.GetType() != TypeRdonly {
		errs = append(errs, fieldErr("spec.type", "InvalidTabletType", "%q: use replica or rdonly", s.GetType()))
	}
	uidOK := s.GetUid() > 0 && s.GetUid() <= 0xffffffff
	if !uidOK {
		errs = append(errs, fieldErr("spec.uid", "InvalidUID", "%d: a tablet uid is 1 to 4294967295", s.GetUid()))
	}
	if err := ShardObjectName("spec.shard", s.GetShard(), s.GetKeyRange()); err != nil {
		errs = append(errs, err)
	} else if uidOK {
		errs = append(errs, Inherited("spec", s.GetSelector(), s.GetTemplate(),
			TabletIdentity(s.GetCluster(), s.GetCell(), s.GetKeyspace(), s.GetShard(), s.GetType(), uint32(s.GetUid()))))
	}
	if s.GetClusterConfig().GetVtctldAddress() == "" {
		errs = append(errs, fieldErr("spec.clusterConfig.vtctldAddress", "MissingClusterConfig",
			"the tablet needs its cluster's vtctld address (its Pod moves the primary away through vtctld before it stops), which the cluster layer fills in: is this VitessTablet made by a VitessShard?"))
	}
	errs = append(errs, Config("spec.clusterConfig", s.GetClusterConfig()),
		durability("spec.durabilityPolicy", s.GetDurabilityPolicy()),
		Pool("spec.pool", s.GetPool()),
		BackupFlags("spec.clusterConfig.backup", s.GetClusterConfig().GetBackup(), s.GetClusterConfig().GetBackupFlags(), "spec.clusterConfig.backupFlags"))
	if s.GetPool().GetVolumeClaim().GetResources().GetRequests()["storage"] == "" {
		errs = append(errs, fieldErr("spec.pool.volumeClaim.resources.requests.storage", "MissingVolumeSize",
			"a tablet needs a volume size: set tablets.defaults.volumeClaim.resources.requests.storage"))
	}
	return errors.Join(errs...)
}
