package spec

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

func shards(ranges ...string) []*v1.ShardSpec {
	var out []*v1.ShardSpec
	for _, r := range ranges {
		start, end, _ := strings.Cut(r, "-")
		out = append(out, &v1.ShardSpec{KeyRange: &v1.KeyRange{Start: start, End: end}})
	}
	return out
}

// equal is n shards of equal width over 16-bit keys.
func equal(n int) []*v1.ShardSpec {
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

func TestShards(t *testing.T) {
	tests := []struct {
		name       string
		in         []*v1.ShardSpec
		wantReason string
	}{
		{"unsharded", nil, ""},
		{"full range", shards("-"), ""},
		{"two halves", shards("-80", "80-"), ""},
		{"four in order", shards("-40", "40-80", "80-c0", "c0-"), ""},
		{"out of order", shards("c0-", "-40", "80-c0", "40-80"), "KeyRangeGap"},
		{"swapped", shards("-40", "80-c0", "40-80", "c0-"), "KeyRangeGap"},
		{"two full ranges", shards("-", "-"), "KeyRangeOverlap"},
		{"reversed", shards("80-", "-80"), "KeyRangeGap"},
		{"overlap", shards("-80", "40-"), "KeyRangeOverlap"},
		{"duplicate", shards("-80", "80-", "80-"), "KeyRangeOverlap"},
		{"gap", shards("-40", "80-"), "KeyRangeGap"},
		{"no lowest", shards("40-80", "80-"), "KeyRangeGap"},
		{"no highest", shards("-80", "80-c0"), "KeyRangeGap"},
		{"start above end", shards("-80", "80-40", "40-"), "InvalidKeyRange"},
		{"not hex", shards("-8", "8-"), "InvalidKeyRange"},
		{"upper case", shards("-C0", "C0-"), "InvalidKeyRange"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Shards("spec.shards", tt.in)
			got := Reasons(err)
			if tt.wantReason == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if !slices.Contains(got, tt.wantReason) {
				t.Fatalf("reasons %v (%v), want %s", got, err, tt.wantReason)
			}
			if !strings.Contains(err.Error(), "spec.shards") {
				t.Errorf("error %q does not name the field", err)
			}
		})
	}
}

func validCluster() *v1.VitessClusterSpec {
	two := int32(2)
	return &v1.VitessClusterSpec{
		Selector: &v1.LabelSelector{MatchLabels: map[string]string{"app": "vitess"}},
		Template: &v1.Template{Metadata: &v1.TemplateMetadata{Labels: map[string]string{"app": "vitess"}}},
		Cells:    []*v1.CellSpec{{Name: "global", Etcd: &v1.EtcdSpec{}}, {Name: "zone1"}},
		Keyspaces: []*v1.KeyspaceSpec{{
			Name: "main", Cells: []string{"zone1"}, Shards: shards("-80", "80-"),
			Tablets: &v1.TabletsSpec{MasterEligible: &v1.TabletPoolSpec{Replicas: &two}},
		}},
	}
}

func TestCluster(t *testing.T) {
	neg := int32(-1)
	tests := []struct {
		name       string
		edit       func(*v1.VitessClusterSpec)
		wantField  string
		wantReason string
	}{
		{"valid", func(*v1.VitessClusterSpec) {}, "", ""},
		{"no selector", func(s *v1.VitessClusterSpec) { s.Selector = nil }, "spec.selector", "MissingSelector"},
		{"template misses selector label", func(s *v1.VitessClusterSpec) { s.Template.Metadata.Labels = map[string]string{"x": "y"} }, "spec.template.metadata.labels", "SelectorMismatch"},
		{"no cells", func(s *v1.VitessClusterSpec) { s.Cells = nil; s.Keyspaces = nil }, "spec.cells", "NoCells"},
		{"duplicate cell", func(s *v1.VitessClusterSpec) { s.Cells = append(s.Cells, &v1.CellSpec{Name: "zone1"}) }, "spec.cells[2].name", "DuplicateName"},
		{"bad cell name", func(s *v1.VitessClusterSpec) { s.Cells[1].Name = "Zone_1" }, "spec.cells[1].name", "InvalidName"},
		{"unknown cell", func(s *v1.VitessClusterSpec) { s.Keyspaces[0].Cells = []string{"zone9"} }, "spec.keyspaces[0].cells[0]", "UnknownCell"},
		{"overlap", func(s *v1.VitessClusterSpec) { s.Keyspaces[0].Shards = shards("-80", "40-") }, "spec.keyspaces[0].shards", "KeyRangeOverlap"},
		{"negative replicas", func(s *v1.VitessClusterSpec) { s.Keyspaces[0].Tablets.MasterEligible.Replicas = &neg }, "spec.keyspaces[0].tablets.masterEligible.replicas", "ReplicasOutOfRange"},
		{"negative vtgate", func(s *v1.VitessClusterSpec) { s.Cells[1].Vtgate = &v1.ComponentSpec{Replicas: &neg} }, "spec.cells[1].vtgate.replicas", "ReplicasOutOfRange"},
		{"two etcds", func(s *v1.VitessClusterSpec) { s.Cells[1].Etcd = &v1.EtcdSpec{} }, "spec.cells[1].etcd", "TooManyTopologies"},
		{"alias conflict", func(s *v1.VitessClusterSpec) {
			s.Cells[0].Vtorc = &v1.ComponentSpec{}
			s.Cells[0].Orchestrator = &v1.ComponentSpec{}
		}, "spec.cells[0]", "AliasConflict"},
		{"duplicate keyspace", func(s *v1.VitessClusterSpec) { s.Keyspaces = append(s.Keyspaces, &v1.KeyspaceSpec{Name: "main"}) }, "spec.keyspaces[1].name", "DuplicateName"},
		{"bad reclaim policy", func(s *v1.VitessClusterSpec) { s.ReclaimPolicy = "Keep" }, "spec.reclaimPolicy", "InvalidReclaimPolicy"},
		{"a vtorc flag Vitess removed", func(s *v1.VitessClusterSpec) {
			s.Cells[0].Vtorc = &v1.ComponentSpec{ExtraFlags: map[string]string{"recovery-period-block-duration": "30s"}}
		}, "spec.cells[0].vtorc.extraFlags.recovery-period-block-duration", "UnknownFlag"},
		{"an orchestrator flag is a vtorc flag", func(s *v1.VitessClusterSpec) {
			s.Cells[0].Orchestrator = &v1.ComponentSpec{ExtraFlags: map[string]string{"instance_poll_time": "1s", "nope": "1"}}
		}, "spec.cells[0].orchestrator.extraFlags.nope", "UnknownFlag"},
		{"a vttablet flag misspelt", func(s *v1.VitessClusterSpec) {
			s.Keyspaces[0].Tablets.MasterEligible.Vttablet = &v1.ContainerSpec{ExtraFlags: map[string]string{"queryserver-config-pool-sizee": "10"}}
		}, "spec.keyspaces[0].tablets.masterEligible.vttablet.extraFlags.queryserver-config-pool-sizee", "UnknownFlag"},
		{"a vttablet flag given to mysqlctld", func(s *v1.VitessClusterSpec) {
			s.Keyspaces[0].Shards[1].Tablets = &v1.TabletsSpec{Defaults: &v1.TabletPoolSpec{Mysql: &v1.ContainerSpec{ExtraFlags: map[string]string{"enable-semi-sync": "true"}}}}
		}, "spec.keyspaces[0].shards[1].tablets.defaults.mysql.extraFlags.enable-semi-sync", "UnknownFlag"},
		{"a backup flag no binary takes", func(s *v1.VitessClusterSpec) {
			s.Backup = &v1.BackupSpec{Flags: map[string]string{"s3-bucket": "b"}}
		}, "spec.backup.flags.s3-bucket", "UnknownFlag"},
		{"a raw backup flag no binary takes", func(s *v1.VitessClusterSpec) { s.BackupFlags = map[string]string{"gcs_bucket": "b"} }, "spec.backupFlags.gcs_bucket", "UnknownFlag"},
		{"semi_sync with two replicas", func(s *v1.VitessClusterSpec) { s.Keyspaces[0].DurabilityPolicy = "semi_sync" }, "spec.keyspaces[0].durabilityPolicy", "TooFewReplicasForSemiSync"},
		{"semi_sync with two replicas in each of two cells", func(s *v1.VitessClusterSpec) {
			s.Cells = append(s.Cells, &v1.CellSpec{Name: "zone2"})
			s.Keyspaces[0].Cells = []string{"zone1", "zone2"}
			s.Keyspaces[0].DurabilityPolicy = "semi_sync"
		}, "", ""},
		{"semi_sync with one replica in each of two cells", func(s *v1.VitessClusterSpec) {
			s.Cells = append(s.Cells, &v1.CellSpec{Name: "zone2"})
			s.Keyspaces[0].Cells = []string{"zone1", "zone2"}
			s.Keyspaces[0].DurabilityPolicy = "semi_sync"
			s.Keyspaces[0].Tablets.MasterEligible.Replicas = proto.Int32(1)
		}, "spec.keyspaces[0].durabilityPolicy", "TooFewReplicasForSemiSync"},
		{"semi_sync with a shard of two replicas", func(s *v1.VitessClusterSpec) {
			three := int32(3)
			s.Keyspaces[0].DurabilityPolicy = "semi_sync"
			s.Keyspaces[0].Tablets.MasterEligible.Replicas = &three
			s.Keyspaces[0].Shards[1].Tablets = &v1.TabletsSpec{Replica: &v1.TabletPoolSpec{Replicas: proto.Int32(2)}}
		}, "spec.keyspaces[0].durabilityPolicy", "TooFewReplicasForSemiSync"},
		{"cross_cell in one cell", func(s *v1.VitessClusterSpec) {
			s.Keyspaces[0].DurabilityPolicy = "cross_cell"
			s.Keyspaces[0].Tablets.MasterEligible.Replicas = proto.Int32(3)
		}, "spec.keyspaces[0].durabilityPolicy", "TooFewCellsForCrossCell"},
		{"a vtgate load balancer without credentials", func(s *v1.VitessClusterSpec) {
			s.Cells[1].Vtgate = &v1.ComponentSpec{Service: &v1.ServiceSpec{Type: "LoadBalancer"}}
		}, "spec.cells[1].vtgate.service.type", "ExposedWithoutAuthentication"},
		{"a cell named global with a vtgate", func(s *v1.VitessClusterSpec) { s.Cells[0].Vtgate = &v1.ComponentSpec{} }, "spec.cells[0].name", "ReservedCellName"},
		{"a cell named global with tablets", func(s *v1.VitessClusterSpec) { s.Keyspaces[0].Cells = []string{"global"} }, "spec.cells[0].name", "ReservedCellName"},
		{"the hash key as a cluster label", func(s *v1.VitessClusterSpec) {
			s.Labels = map[string]string{"vitess.io/desired-hash": "0000000000000000"}
		}, "spec.labels.vitess.io/desired-hash", "ReservedKey"},
		{"the hash key as a pool label", func(s *v1.VitessClusterSpec) {
			s.Keyspaces[0].Tablets.MasterEligible.Labels = map[string]string{"vitess.io/desired-hash": "0000000000000000"}
		}, "spec.keyspaces[0].tablets.masterEligible.labels.vitess.io/desired-hash", "ReservedKey"},
		{"a cell label in the template", func(s *v1.VitessClusterSpec) { s.Template.Metadata.Labels["vitess.io/cell"] = "zone9" }, "spec.template.metadata.labels.vitess.io/cell", "ReservedKey"},
		{"a cluster label in the selector", func(s *v1.VitessClusterSpec) {
			s.Selector.MatchLabels["vitess.io/cluster"] = "other"
			s.Template.Metadata.Labels["vitess.io/cluster"] = "other"
		}, "spec.selector.matchLabels.vitess.io/cluster", "ReservedKey"},
		{"Metacontroller's record as an annotation", func(s *v1.VitessClusterSpec) {
			s.Annotations = map[string]string{"metacontroller.k8s.io/last-applied-configuration": "{}"}
		}, "spec.annotations.metacontroller.k8s.io/last-applied-configuration", "ReservedKey"},
		{"a reserved subdomain on a vtgate's Service", func(s *v1.VitessClusterSpec) {
			s.Cells[1].Vtgate = &v1.ComponentSpec{Service: &v1.ServiceSpec{Labels: map[string]string{"x.vitess.io/a": "b"}}}
		}, "spec.cells[1].vtgate.service.labels.x.vitess.io/a", "ReservedKey"},
		{"a reserved key on etcd's Pods", func(s *v1.VitessClusterSpec) {
			s.Cells[0].Etcd.Annotations = map[string]string{"vitess.io/component": "vtgate"}
		}, "spec.cells[0].etcd.annotations.vitess.io/component", "ReservedKey"},
		{"a label value that is not one", func(s *v1.VitessClusterSpec) { s.Labels = map[string]string{"team": "a b"} }, "spec.labels.team", "InvalidLabel"},
		{"a volume of size 0", func(s *v1.VitessClusterSpec) {
			s.Keyspaces[0].Tablets.Defaults = &v1.TabletPoolSpec{VolumeClaim: &v1.PersistentVolumeClaimSpec{Resources: &v1.VolumeResources{Requests: map[string]string{"storage": "0"}}}}
		}, "spec.keyspaces[0].tablets.defaults.volumeClaim.resources.requests.storage", "InvalidQuantity"},
		{"a volume of size -1Gi", func(s *v1.VitessClusterSpec) {
			s.Keyspaces[0].Tablets.MasterEligible.VolumeClaim = &v1.PersistentVolumeClaimSpec{Resources: &v1.VolumeResources{Requests: map[string]string{"storage": "-1Gi"}}}
		}, "spec.keyspaces[0].tablets.masterEligible.volumeClaim.resources.requests.storage", "InvalidQuantity"},
		{"an etcd volume of size 0", func(s *v1.VitessClusterSpec) {
			s.Cells[0].Etcd.VolumeClaim = &v1.PersistentVolumeClaimSpec{Resources: &v1.VolumeResources{Requests: map[string]string{"storage": "0Mi"}}}
		}, "spec.cells[0].etcd.volumeClaim.resources.requests.storage", "InvalidQuantity"},
		{"an image with a space", func(s *v1.VitessClusterSpec) { s.Images = &v1.Images{Vttablet: "vitess/lite:v24 ; rm"} }, "spec.images.vttablet", "InvalidImage"},
		{"an etcd version that is no tag", func(s *v1.VitessClusterSpec) { s.Cells[0].Etcd.Version = "3.5/../x" }, "spec.cells[0].etcd.version", "InvalidImage"},
		{"a credentials Secret that is no name", func(s *v1.VitessClusterSpec) {
			s.Credentials = &v1.Credentials{SecretName: "My_Secret"}
		}, "spec.credentials.secretName", "InvalidName"},
		{"an init SQL key with a slash", func(s *v1.VitessClusterSpec) {
			s.InitSql = &v1.InitSQL{ConfigMapName: "init", Key: "../init.sql"}
		}, "spec.initSql.key", "InvalidKey"},
		{"a keyspace with a cell twice", func(s *v1.VitessClusterSpec) { s.Keyspaces[0].Cells = []string{"zone1", "zone1"} }, "spec.keyspaces[0].cells[1]", "DuplicateName"},
		{"more tablets in a cell than it may hold", func(s *v1.VitessClusterSpec) {
			s.Keyspaces[0].Shards = shards("-80", "80-")
			s.Keyspaces = append(s.Keyspaces, &v1.KeyspaceSpec{Name: "big", Cells: []string{"zone1"}, Shards: equal(1024),
				Tablets: &v1.TabletsSpec{Replica: &v1.TabletPoolSpec{Replicas: proto.Int32(3)}, Rdonly: &v1.TabletPoolSpec{Replicas: proto.Int32(1)}}})
		}, "spec.keyspaces[1]", "TooManyTablets"},
		{"a shard's own tablets count", func(s *v1.VitessClusterSpec) {
			s.Keyspaces[0].Shards[1].Tablets = &v1.TabletsSpec{Replica: &v1.TabletPoolSpec{Replicas: proto.Int32(99)}}
			for i := range 40 {
				s.Keyspaces = append(s.Keyspaces, &v1.KeyspaceSpec{Name: fmt.Sprint("k", i), Cells: []string{"zone1"}, Shards: shards("-80", "80-"),
					Tablets: &v1.TabletsSpec{Replica: &v1.TabletPoolSpec{Replicas: proto.Int32(50)}, Rdonly: &v1.TabletPoolSpec{Replicas: proto.Int32(1)}}})
			}
		}, "spec.keyspaces[1]", "TooManyTablets"},
		{"too many selector labels", func(s *v1.VitessClusterSpec) {
			for i := range 17 {
				s.Selector.MatchLabels[fmt.Sprint("l", i)] = "x"
			}
			s.Template = nil
		}, "spec.selector.matchLabels", "TooManyLabels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validCluster()
			tt.edit(s)
			err := Cluster(s)
			if tt.wantReason == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			if !slices.Contains(Reasons(err), tt.wantReason) {
				t.Errorf("reasons %v, want %s", Reasons(err), tt.wantReason)
			}
			if !strings.Contains(err.Error(), tt.wantField+": ") || strings.Contains(err.Error(), "instance_poll_time") {
				t.Errorf("error %q does not name %s", err, tt.wantField)
			}
		})
	}
}

func TestPoolsMergeDefaults(t *testing.T) {
	two, one := int32(2), int32(1)
	tablets := &v1.TabletsSpec{
		Defaults: &v1.TabletPoolSpec{
			Image:       "vitess/lite:v1",
			Labels:      map[string]string{"a": "1", "b": "1"},
			VolumeClaim: &v1.PersistentVolumeClaimSpec{AccessModes: []string{"ReadWriteOnce"}},
			Vttablet:    &v1.ContainerSpec{ExtraFlags: map[string]string{"x": "1"}},
		},
		MasterEligible: &v1.TabletPoolSpec{
			Replicas: &two,
			Labels:   map[string]string{"b": "2"},
			Vttablet: &v1.ContainerSpec{ExtraFlags: map[string]string{"y": "2"}},
		},
		Batch: &v1.TabletPoolSpec{Replicas: &one, Image: "vitess/lite:v2", VolumeClaim: &v1.PersistentVolumeClaimSpec{AccessModes: []string{"ReadWriteMany"}}},
	}
	before := proto.Clone(tablets)
	replica, rdonly := Pools(tablets)
	if !proto.Equal(before, tablets) {
		t.Error("Pools changed its input")
	}
	if replica.GetReplicas() != 2 || replica.GetImage() != "vitess/lite:v1" {
		t.Errorf("replica = %v", replica)
	}
	if got := replica.GetLabels(); got["a"] != "1" || got["b"] != "2" {
		t.Errorf("maps must merge: %v", got)
	}
	if got := replica.GetVttablet().GetExtraFlags(); got["x"] != "1" || got["y"] != "2" {
		t.Errorf("nested maps must merge: %v", got)
	}
	if rdonly.GetImage() != "vitess/lite:v2" || rdonly.GetReplicas() != 1 {
		t.Errorf("rdonly = %v", rdonly)
	}
	if got := rdonly.GetVolumeClaim().GetAccessModes(); len(got) != 1 || got[0] != "ReadWriteMany" {
		t.Errorf("lists must replace, not append: %v", got)
	}
	if r, _ := Pools(&v1.TabletsSpec{Defaults: &v1.TabletPoolSpec{}}); r != nil {
		t.Error("an unmentioned pool must stay nil")
	}
}

func TestMergeTablets(t *testing.T) {
	two, three := int32(2), int32(3)
	base := &v1.TabletsSpec{MasterEligible: &v1.TabletPoolSpec{Replicas: &two, Image: "a"}}
	over := &v1.TabletsSpec{Replica: &v1.TabletPoolSpec{Replicas: &three}}
	got := MergeTablets(base, over)
	if got.GetMasterEligible() != nil || got.GetReplica().GetReplicas() != 3 || got.GetReplica().GetImage() != "a" {
		t.Errorf("MergeTablets = %v", got)
	}
}

func TestShardName(t *testing.T) {
	if ShardName(nil) != "0" || ShardName(&v1.KeyRange{End: "80"}) != "-80" || ShardName(&v1.KeyRange{Start: "80"}) != "80-" {
		t.Error("ShardName")
	}
}

func TestTabletUIDMatchesTheOriginalExample(t *testing.T) {
	// The original example's shard -80 in zone1 had tablets 0214747900 and
	// 0214747901 (replicas) and 1327744200 (rdonly).
	tests := []struct {
		typ   string
		index int
		want  uint32
	}{{TypeReplica, 0, 214747900}, {TypeReplica, 1, 214747901}, {TypeRdonly, 0, 1327744200}}
	for _, tt := range tests {
		if got := TabletUID("zone1", "main", "-80", tt.typ, tt.index); got != tt.want {
			t.Errorf("%s %d: uid %d, want %d", tt.typ, tt.index, got, tt.want)
		}
	}
}

func TestDurability(t *testing.T) {
	pool := func(n int32) *v1.TabletsSpec {
		return &v1.TabletsSpec{Replica: &v1.TabletPoolSpec{Replicas: &n}}
	}
	for _, tt := range []struct {
		name   string
		k      *v1.KeyspaceSpec
		served int32
		want   string
	}{
		{"named", &v1.KeyspaceSpec{DurabilityPolicy: "cross_cell", Tablets: pool(1)}, 1, "cross_cell"},
		{"unset with three replicas", &v1.KeyspaceSpec{Tablets: pool(3)}, 1, "semi_sync"},
		{"unset with two replicas", &v1.KeyspaceSpec{Tablets: pool(2)}, 1, "none"},
		{"unset with two replicas in each of two cells", &v1.KeyspaceSpec{Tablets: pool(2)}, 2, "semi_sync"},
		{"unset with one replica in each of three cells", &v1.KeyspaceSpec{Tablets: pool(1)}, 3, "semi_sync"},
		{"unset with one replica in each of two cells", &v1.KeyspaceSpec{Tablets: pool(1)}, 2, "none"},
		{"served in no cell counts as one", &v1.KeyspaceSpec{Tablets: pool(2)}, 0, "none"},
		{"unset with the deprecated alias", &v1.KeyspaceSpec{Tablets: &v1.TabletsSpec{MasterEligible: &v1.TabletPoolSpec{Replicas: proto.Int32(3)}}}, 1, "semi_sync"},
		{"unset with replicas from the defaults", &v1.KeyspaceSpec{Tablets: &v1.TabletsSpec{Defaults: &v1.TabletPoolSpec{Replicas: proto.Int32(3)}, Replica: &v1.TabletPoolSpec{}}}, 1, "semi_sync"},
		{"a shard with fewer", &v1.KeyspaceSpec{Tablets: pool(3), Shards: []*v1.ShardSpec{{Tablets: pool(2)}, {}}}, 1, "none"},
		{"a shard with fewer, in two cells", &v1.KeyspaceSpec{Tablets: pool(3), Shards: []*v1.ShardSpec{{Tablets: pool(1)}, {}}}, 2, "none"},
		{"no tablets", &v1.KeyspaceSpec{}, 3, "none"},
	} {
		if got := Durability(tt.k, tt.served); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestServedCells(t *testing.T) {
	cells := func(names ...string) []*v1.CellSpec {
		var out []*v1.CellSpec
		for _, n := range names {
			out = append(out, &v1.CellSpec{Name: n})
		}
		return out
	}
	withGates := cells("global", "zone1", "zone2", "zone3")
	withGates[1].Vtgate, withGates[2].Vtgate = &v1.ComponentSpec{}, &v1.ComponentSpec{}
	for _, tt := range []struct {
		name  string
		cells []*v1.CellSpec
		k     *v1.KeyspaceSpec
		want  int32
	}{
		{"the cells it lists", cells("global", "zone1", "zone2"), &v1.KeyspaceSpec{Cells: []string{"zone1", "zone2"}}, 2},
		{"none listed: every cell with a vtgate", withGates, &v1.KeyspaceSpec{}, 2},
		{"none listed, no vtgate anywhere: every cell", cells("zone1", "zone2", "zone3"), &v1.KeyspaceSpec{}, 3},
	} {
		if got := ServedCells(&v1.VitessClusterSpec{Cells: tt.cells}, tt.k); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
	cell := &v1.VitessCellSpec{WatchCells: []string{"zone1", "zone2", "zone3"}}
	if got := CellServedCells(cell, &v1.KeyspaceSpec{Cells: []string{"zone2"}}); got != 1 {
		t.Errorf("a cell's keyspace that lists one cell: %d, want 1", got)
	}
	if got := CellServedCells(cell, &v1.KeyspaceSpec{}); got != 3 {
		t.Errorf("a cell's keyspace that lists none: %d, want the 3 cells with tablets", got)
	}
}

func TestOldImages(t *testing.T) {
	for _, tt := range []struct {
		image string
		major int
	}{
		{"vitess/lite:v2.1.1", 2}, {"vitess/lite:v24.0.4", 24}, {"vitess/lite:22.0.1", 22}, {"vitess/lite:v23.0.0-rc1", 23},
		{"registry.local:5000/vitess/lite:v21.0.0-mysql84", 21}, {"registry.local:5000/vitess/lite", -1},
		{"vitess/lite:latest", -1}, {"vitess/lite:mysql84", -1}, {"vitess/lite@sha256:abc", -1}, {"vitess/lite:v24", -1}, {"", -1},
	} {
		if got := imageMajor(tt.image); got != tt.major {
			t.Errorf("imageMajor(%q) = %d, want %d", tt.image, got, tt.major)
		}
	}
	s := validCluster()
	s.Images = &v1.Images{Vttablet: "vitess/lite:v2.1.1", Vtgate: "vitess/lite:v24.0.4"}
	s.Cells[0].Vtctld = &v1.ComponentSpec{Image: "vitess/lite:v19.0.0"}
	s.Cells[0].Orchestrator = &v1.ComponentSpec{Image: "vitess/orchestrator:v1.0.0"} // never run: vtorc uses the cluster's image
	s.Keyspaces[0].Shards[1].Tablets = &v1.TabletsSpec{Rdonly: &v1.TabletPoolSpec{Vttablet: &v1.ContainerSpec{Image: "vitess/lite:v20.0.0"}}}
	want := []string{
		"spec.images.vttablet vitess/lite:v2.1.1 (Vitess 2)",
		"spec.cells[0].vtctld.image vitess/lite:v19.0.0 (Vitess 19)",
		"spec.keyspaces[0].shards[1].tablets.rdonly.vttablet.image vitess/lite:v20.0.0 (Vitess 20)",
	}
	if got := OldImages(s); !slices.Equal(got, want) {
		t.Errorf("OldImages = %q\nwant %q", got, want)
	}
}
