package spec

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// config is a cluster config as the cluster layer writes it.
func config() *v1.ClusterConfig {
	return &v1.ClusterConfig{
		Images: &v1.Images{Vttablet: DefaultVitessImage},
		Topology: &v1.TopologySpec{Implementation: "etcd2", GlobalServerAddress: "db-etcd-client.ns.svc:2379",
			GlobalRoot: "/vitess/global", CellRoot: "/vitess/zone1"},
		VtctldAddress: "db-global-vtctld.ns.svc:15999",
		ReclaimPolicy: ReclaimDelete,
	}
}

// scoped is a selector and template carrying identity labels.
func scoped(identity map[string]string) (*v1.LabelSelector, *v1.Template) {
	m := maps.Clone(identity)
	m["app"] = "vitess"
	return &v1.LabelSelector{MatchLabels: m}, &v1.Template{Metadata: &v1.TemplateMetadata{Labels: maps.Clone(m)}}
}

func validShard() *v1.VitessShardSpec {
	sel, tmpl := scoped(ShardIdentity("db", "zone1", "main", "-80"))
	return &v1.VitessShardSpec{
		ClusterConfig: config(), Cluster: "db", Cell: "zone1", Keyspace: "main", Name: "-80",
		KeyRange: &v1.KeyRange{End: "80"}, Selector: sel, Template: tmpl,
		Tablets: &v1.TabletsSpec{Replica: &v1.TabletPoolSpec{Replicas: proto.Int32(2)}},
	}
}

func validTablet() *v1.VitessTabletSpec {
	sel, tmpl := scoped(TabletIdentity("db", "zone1", "main", "-80", "replica", 1000))
	return &v1.VitessTabletSpec{
		ClusterConfig: config(), Cluster: "db", Cell: "zone1", Keyspace: "main", Shard: "-80",
		KeyRange: &v1.KeyRange{End: "80"}, Uid: 1000, Type: TypeReplica, Selector: sel, Template: tmpl,
		Pool: &v1.TabletPoolSpec{VolumeClaim: &v1.PersistentVolumeClaimSpec{Resources: &v1.VolumeResources{Requests: map[string]string{"storage": "10Gi"}}}},
	}
}

func validKeyspace() *v1.VitessKeyspaceSpec {
	sel, tmpl := scoped(KeyspaceIdentity("db", "zone1", "main"))
	return &v1.VitessKeyspaceSpec{ClusterConfig: config(), Cluster: "db", Cell: "zone1", Name: "main", Selector: sel, Template: tmpl, Shards: shards("-80", "80-")}
}

func validCell() *v1.VitessCellSpec {
	sel, tmpl := scoped(CellIdentity("db", "zone1"))
	return &v1.VitessCellSpec{ClusterConfig: config(), Cluster: "db", Name: "zone1", Selector: sel, Template: tmpl,
		Keyspaces: []*v1.KeyspaceSpec{{Name: "main"}}, WatchCells: []string{"zone1"}}
}

// hostile are values that must never name anything: what the issue found
// and its neighbours.
var hostile = []string{
	"zone_1", "My_Cluster", "zone\u202e1", "z\u043ene1", "zone1;touch /tmp/x", "$(id)", "", "-zone", "zone-",
	strings.Repeat("a", 64),
}

// TestLowerLayersCheckEveryIdentityField puts each hostile value in each
// field a lower layer builds names, labels or flags from: every one is
// refused, naming the field.
func TestLowerLayersCheckEveryIdentityField(t *testing.T) {
	type target struct {
		field string
		check func(v string) error
	}
	targets := []target{
		{"spec.cluster", func(v string) error { s := validShard(); s.Cluster = v; return ShardObject(s) }},
		{"spec.cell", func(v string) error { s := validShard(); s.Cell = v; return ShardObject(s) }},
		{"spec.keyspace", func(v string) error { s := validShard(); s.Keyspace = v; return ShardObject(s) }},
		{"spec.name", func(v string) error { s := validShard(); s.Name = v; return ShardObject(s) }},
		{"spec.cluster", func(v string) error { s := validTablet(); s.Cluster = v; return TabletObject(s) }},
		{"spec.cell", func(v string) error { s := validTablet(); s.Cell = v; return TabletObject(s) }},
		{"spec.keyspace", func(v string) error { s := validTablet(); s.Keyspace = v; return TabletObject(s) }},
		{"spec.shard", func(v string) error { s := validTablet(); s.Shard = v; return TabletObject(s) }},
		{"spec.cluster", func(v string) error { s := validKeyspace(); s.Cluster = v; return KeyspaceObject(s) }},
		{"spec.cell", func(v string) error { s := validKeyspace(); s.Cell = v; return KeyspaceObject(s) }},
		{"spec.name", func(v string) error { s := validKeyspace(); s.Name = v; return KeyspaceObject(s) }},
		{"spec.cluster", func(v string) error { s := validCell(); s.Cluster = v; return CellObject(s) }},
		{"spec.name", func(v string) error { s := validCell(); s.Name = v; return CellObject(s) }},
		{"spec.keyspaces[0].name", func(v string) error { s := validCell(); s.Keyspaces[0].Name = v; return CellObject(s) }},
		{"spec.watchCells[0]", func(v string) error { s := validCell(); s.WatchCells[0] = v; return CellObject(s) }},
		{"spec.keyspaceSetup[0].name", func(v string) error {
			s := validCell()
			s.KeyspaceSetup = []*v1.KeyspaceSetup{{Name: v}}
			return CellObject(s)
		}},
		{"spec.remoteKeyspaces[0].name", func(v string) error {
			s := validCell()
			s.RemoteKeyspaces = []*v1.RemoteKeyspace{{Name: v}}
			return CellObject(s)
		}},
		{"spec.clusterConfig.vtctldAddress", func(v string) error {
			s := validTablet()
			s.ClusterConfig.VtctldAddress = v + ":15999"
			if v == "" {
				s.ClusterConfig.VtctldAddress = "x:1 y"
			}
			return TabletObject(s)
		}},
		{"spec.clusterConfig.topology.globalServerAddress", func(v string) error {
			s := validKeyspace()
			s.ClusterConfig.Topology.GlobalServerAddress = v + ":2379"
			if v == "" {
				s.ClusterConfig.Topology.GlobalServerAddress = "a b"
			}
			return KeyspaceObject(s)
		}},
	}
	for _, tg := range targets {
		for _, v := range hostile {
			if strings.HasSuffix(tg.field, "Address") && len(v) > 63 {
				continue // a long host name is a host name all the same
			}
			t.Run(tg.field+"="+v, func(t *testing.T) {
				err := tg.check(v)
				if err == nil {
					t.Fatalf("%s %q accepted", tg.field, v)
				}
				if !strings.Contains(err.Error(), tg.field) {
					t.Errorf("error %q does not name %s", err, tg.field)
				}
			})
		}
	}
	// The valid objects pass.
	for name, err := range map[string]error{"cell": CellObject(validCell()), "keyspace": KeyspaceObject(validKeyspace()),
		"shard": ShardObject(validShard()), "tablet": TabletObject(validTablet())} {
		if err != nil {
			t.Errorf("a valid %s: %v", name, err)
		}
	}
}

// TestLowerLayersCheckWhatTheyInherit: reserved keys in inherited maps,
// identity labels that do not name the object, and other values the layer
// turns into flags, paths or references.
func TestLowerLayersCheckWhatTheyInherit(t *testing.T) {
	tests := []struct {
		name, field, reason string
		err                 func() error
	}{
		{"a cluster label of the hash key", "spec.clusterConfig.labels.vitess.io/desired-hash", "ReservedKey", func() error {
			s := validShard()
			s.ClusterConfig.Labels = map[string]string{"vitess.io/desired-hash": "0000000000000000"}
			return ShardObject(s)
		}},
		{"a pool label of the hash key", "spec.pool.labels.vitess.io/desired-hash", "ReservedKey", func() error {
			s := validTablet()
			s.Pool.Labels = map[string]string{"vitess.io/desired-hash": "0000000000000000"}
			return TabletObject(s)
		}},
		{"a shard pool annotation of Metacontroller's", "spec.tablets.replica.annotations.metacontroller.k8s.io/x", "ReservedKey", func() error {
			s := validShard()
			s.Tablets.Replica.Annotations = map[string]string{"metacontroller.k8s.io/x": "y"}
			return ShardObject(s)
		}},
		{"a template annotation of the hash key", "spec.template.metadata.annotations.vitess.io/desired-hash", "ReservedKey", func() error {
			s := validKeyspace()
			s.Template.Metadata.Annotations = map[string]string{"vitess.io/desired-hash": "0"}
			return KeyspaceObject(s)
		}},
		{"a template that names another cell", "spec.template.metadata.labels.vitess.io/cell", "IdentityMismatch", func() error {
			s := validShard()
			s.Template.Metadata.Labels[LabelCell] = "zone2"
			return ShardObject(s)
		}},
		{"a selector that names another tablet", "spec.selector.matchLabels.vitess.io/tablet-uid", "IdentityMismatch", func() error {
			s := validTablet()
			s.Selector.MatchLabels[LabelTabletUID] = "0000000001"
			return TabletObject(s)
		}},
		{"a template label of the hash key", "spec.template.metadata.labels.vitess.io/desired-hash", "ReservedKey", func() error {
			s := validCell()
			s.Template.Metadata.Labels["vitess.io/desired-hash"] = "0000000000000000"
			return CellObject(s)
		}},
		{"a shard name that is not its key range", "spec.name", "ShardNameMismatch", func() error {
			s := validShard()
			s.Name = "80-"
			return ShardObject(s)
		}},
		{"a cluster named with a digit first", "spec.cluster", "InvalidName", func() error {
			s := validCell()
			s.Cluster = "2024-db"
			return CellObject(s)
		}},
		{"a tablet volume of size 0", "spec.pool.volumeClaim.resources.requests.storage", "InvalidQuantity", func() error {
			s := validTablet()
			s.Pool.VolumeClaim.Resources.Requests["storage"] = "0"
			return TabletObject(s)
		}},
		{"a tablet volume of size -1Gi", "spec.pool.volumeClaim.resources.requests.storage", "InvalidQuantity", func() error {
			s := validTablet()
			s.Pool.VolumeClaim.Resources.Requests["storage"] = "-1Gi"
			return TabletObject(s)
		}},
		{"a topology root with a parent step", "spec.clusterConfig.topology.cellRoot", "InvalidPath", func() error {
			s := validTablet()
			s.ClusterConfig.Topology.CellRoot = "/vitess/../etc"
			return TabletObject(s)
		}},
		{"a topology implementation vtmeta does not run", "spec.clusterConfig.topology.implementation", "InvalidTopology", func() error {
			s := validCell()
			s.ClusterConfig.Topology.Implementation = "zk2"
			return CellObject(s)
		}},
		{"a durability policy of no one's", "spec.durabilityPolicy", "InvalidDurabilityPolicy", func() error {
			s := validShard()
			s.DurabilityPolicy = "none; reboot"
			return ShardObject(s)
		}},
		{"a keyspace twice in a cell", "spec.keyspaces[1]", "DuplicateName", func() error {
			s := validCell()
			s.Keyspaces = append(s.Keyspaces, &v1.KeyspaceSpec{Name: "main"})
			return CellObject(s)
		}},
		{"a remote keyspace twice", "spec.remoteKeyspaces[1]", "DuplicateName", func() error {
			s := validCell()
			s.RemoteKeyspaces = []*v1.RemoteKeyspace{{Name: "a"}, {Name: "a"}}
			return CellObject(s)
		}},
		{"a remote shard that is no shard name", "spec.remoteKeyspaces[0].shards[0]", "InvalidShardName", func() error {
			s := validCell()
			s.RemoteKeyspaces = []*v1.RemoteKeyspace{{Name: "a", Shards: []string{"-80 80-"}}}
			return CellObject(s)
		}},
		{"a watched cell twice", "spec.watchCells[1]", "DuplicateName", func() error {
			s := validCell()
			s.WatchCells = []string{"zone1", "zone1"}
			return CellObject(s)
		}},
		{"an image with a newline", "spec.clusterConfig.images.vttablet", "InvalidImage", func() error {
			s := validTablet()
			s.ClusterConfig.Images.Vttablet = "vitess/lite\n:v24"
			return TabletObject(s)
		}},
		{"a credentials Secret with a slash", "spec.clusterConfig.credentials.secretName", "InvalidName", func() error {
			s := validTablet()
			s.ClusterConfig.Credentials = &v1.Credentials{SecretName: "../x"}
			return TabletObject(s)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err()
			if err == nil {
				t.Fatal("accepted")
			}
			if !slices.Contains(Reasons(err), tt.reason) || !strings.Contains(err.Error(), tt.field+": ") {
				t.Errorf("error %q (reasons %v): want %s on %s", err, Reasons(err), tt.reason, tt.field)
			}
		})
	}
}

func TestReserved(t *testing.T) {
	for key, want := range map[string]bool{
		"vitess.io/cell": true, "Vitess.IO/cell": true, "x.vitess.io/a": true, "metacontroller.k8s.io/x": true,
		"app": false, "example.com/vitess.io": false, "notvitess.io/x": false, "vitess.io.example.com/x": false,
	} {
		if Reserved(key) != want {
			t.Errorf("Reserved(%q) = %v, want %v", key, !want, want)
		}
	}
}
