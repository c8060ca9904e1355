// Package vitess runs real Vitess on a real node (test/e2e/realnode)
// beside the test control plane: a VitessCluster as vtmeta renders it, on
// Vitess and MySQL images built here (MySQL 9.7 from Debian sid), and what
// only a real database can show — vtorc electing each shard's first
// primary, SQL through vtgate in both cells, and, under a continuous write
// load, an image rollout whose primaries move by planned reparent from the
// tablet Pods' preStop hook, a crashed primary, a drain through the
// Eviction API and a replica that loses its volume, each keeping every
// acknowledged write. It is test code, never shipped.
package vitess

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/vtmeta/vtmeta/internal/names"
	"github.com/vtmeta/vtmeta/internal/spec"
	"github.com/vtmeta/vtmeta/test/e2e/realnode"
	"github.com/vtmeta/vtmeta/test/e2e/realnode/images"
)

// The cluster under test.
const (
	Namespace = "default"
	Cluster   = "vt"
	Keyspace  = "commerce"
	// Secret holds the credentials.
	Secret = "vt-credentials"
	// AppUser and AppPassword are vtgate's user; DBAPassword is vt_dba's.
	AppUser     = "app"
	AppPassword = "app-Passw0rd"
	DBAPassword = "dba-Passw0rd"
	// Replicas and Rdonly are each shard's primary-eligible and rdonly
	// tablets in each cell.
	Replicas = 2
	Rdonly   = 1
	// BackupClaim is the claim the cluster keeps its backups on (Vitess
	// file storage); Restored is the cluster later restored from them.
	BackupClaim = "vt-backups"
	Restored    = "vt2"
)

// Shards are the keyspace's shards; Cells the cells that hold its tablets.
var (
	Shards = []string{"-80", "80-"}
	Cells  = []string{"zone1", "zone2"}
)

// Manifest is the VitessCluster of the scenario: two cells, zone1 with the
// 3-member topology etcd and vtctld, each with a vtgate, a vtorc, and, per
// shard, two primary-eligible tablets and one rdonly (four primary-eligible
// tablets per shard across the cells: vtmeta picks semi_sync); images and
// credentials as a user with a private registry would name them; the
// keyspace's VSchema declared in the spec, routing t by a hash of its id (etcd is
// the etcd image's reference, which follows the plane's etcd version).
func Manifest(etcd string) string {
	claim := fmt.Sprintf("{accessModes: [ReadWriteOnce], storageClassName: %s, resources: {requests: {storage: 1Gi}}}", realnode.StorageClass)
	return header(Cluster, etcd) + fmt.Sprintf(`  backup:
    volume: {claimName: %[11]s}
    retention: {minCount: 1, minAge: 1m}
  cells:
  - name: zone1
    etcd: {size: 3, volumeClaim: %[7]s}
    vtgate: {replicas: 1}
    vtorc: {}
  - name: zone2
    vtgate: {replicas: 1}
    vtorc: {}
  keyspaces:
  - name: %[8]s
    cells: [zone1, zone2]
    shards:
    - keyRange: {start: "", end: "80"}
    - keyRange: {start: "80", end: ""}
    vschema:
      vindexes: {hash: {type: hash}}
      tables: {t: {columnVindexes: [{column: id, name: hash}]}}
    tablets:
      defaults:
        volumeClaim: %[7]s
      replica: {replicas: %[9]d}
      rdonly: {replicas: %[10]d}
`, Cluster, Namespace, Secret, images.Vitess, images.MySQL, etcd, claim, Keyspace, Replicas, Rdonly, BackupClaim)
}

// header is the start of a VitessCluster of the scenario: its name,
// selector, credentials and images.
func header(name, etcd string) string {
	return fmt.Sprintf(`apiVersion: vitess.io/v1alpha1
kind: VitessCluster
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  selector: {matchLabels: {app: %[1]s}}
  credentials: {secretName: %[3]s}
  images: {vtctld: %[4]s, vtgate: %[4]s, vtorc: %[4]s, vttablet: %[4]s, mysqld: %[5]s, etcd: %[6]s}
`, name, Namespace, Secret, images.Vitess, images.MySQL, etcd)
}

// The S3-compatible server the restored cluster keeps its backups on:
// SeaweedFS's weed, built from its Go module (test/e2e/realnode/seaweedfs),
// run on the host at the node's address, where the Pods reach it.
const (
	S3Bucket = "vitess-backups"
	S3Root   = "vt"
	// S3Secret holds the restored cluster's S3 credentials.
	S3Secret = "vt-s3"
	s3Port   = 18333
)

// S3Endpoint is the URL the Pods and the test reach the S3 server at.
func S3Endpoint() string { return fmt.Sprintf("http://%s:%d", realnode.IP, s3Port) }

// RestoredManifest is the VitessCluster restored from the scenario
// cluster's backups once that is deleted and its backups are copied to an
// S3-compatible server: one cell, a one-member etcd, the same keyspace,
// shards and VSchema, two primary-eligible tablets per shard, its backups
// on S3 (endpoint, path-style addressing, credentials from a Secret) with
// a daily schedule.
func RestoredManifest(etcd string) string {
	claim := fmt.Sprintf("{accessModes: [ReadWriteOnce], storageClassName: %s, resources: {requests: {storage: 1Gi}}}", realnode.StorageClass)
	return header(Restored, etcd) + fmt.Sprintf(`  backup:
    s3: {bucket: %[9]s, root: %[10]s, endpoint: "%[11]s", region: us-east-1, forcePathStyle: true, credentialsSecretName: %[12]s}
    schedules: [{name: daily, schedule: "0 3 * * *"}]
  cells:
  - name: zone1
    etcd: {size: 1, volumeClaim: %[7]s}
    vtgate: {replicas: 1}
    vtorc: {}
  keyspaces:
  - name: %[8]s
    cells: [zone1]
    shards:
    - keyRange: {start: "", end: "80"}
    - keyRange: {start: "80", end: ""}
    vschema:
      vindexes: {hash: {type: hash}}
      tables: {t: {columnVindexes: [{column: id, name: hash}]}}
    tablets:
      defaults:
        volumeClaim: %[7]s
      replica: {replicas: 2}
`, Restored, Namespace, Secret, images.Vitess, images.MySQL, etcd, claim, Keyspace, S3Bucket, S3Root, S3Endpoint(), S3Secret)
}

// Volumes is how many volumes the node needs: a claim per tablet and etcd
// member, the backups', one per vtbackup run (each restores into a volume
// of its own, and the node's volumes are not reused once released; the
// restored cluster's backups to S3 are two more), the restored cluster's,
// and spares for claims made anew.
func Volumes() int { return len(Tablets()) + 3 + 1 + 16 + 2 + 5 + 3 }

// Prerequisites creates the credentials Secret (vtgate's user and the
// MySQL users' passwords) and the backups' claim.
func Prerequisites(ctx context.Context, c kubernetes.Interface) error {
	class := realnode.StorageClass
	if _, err := c.CoreV1().PersistentVolumeClaims(Namespace).Create(ctx, &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: BackupClaim},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: &class,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create claim %s: %w", BackupClaim, err)
	}
	users := fmt.Sprintf(`{%q: [{"Password": %q, "UserData": %q}]}`, AppUser, AppPassword, AppUser)
	if _, err := c.CoreV1().Secrets(Namespace).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: Secret},
		StringData: map[string]string{"vtgate-users.json": users, "vt_repl": "repl-Passw0rd", "vt_dba": DBAPassword, "vt_app": "vtapp-Passw0rd"},
	}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create Secret %s: %w", Secret, err)
	}
	return nil
}

// Tablet is one tablet of the scenario.
type Tablet struct {
	Cell, Shard, Type, Alias, Pod string
	UID                           uint32
}

// Tablets are the scenario's tablets: per cell and shard, the replicas
// then the rdonly.
func Tablets() []Tablet {
	var out []Tablet
	for _, cell := range Cells {
		for j, sh := range Shards {
			for _, p := range []struct {
				typ string
				n   int
			}{{spec.TypeReplica, Replicas}, {spec.TypeRdonly, Rdonly}} {
				for i := range p.n {
					uid := spec.PoolUID(spec.ShardBase(0, j), p.typ, i) // the keyspace's slot in each cell, the shard's range in it
					out = append(out, Tablet{Cell: cell, Shard: sh, Type: p.typ, UID: uid, Alias: names.Alias(cell, uid), Pod: names.Tablet(Cluster, cell, uid)})
				}
			}
		}
	}
	return out
}

// Socket is the MySQL socket of a tablet's mysqld.
func (t Tablet) Socket() string {
	return fmt.Sprintf("/vt/vtdataroot/vt_%010d/mysql.sock", t.UID)
}

// Vtctld runs vtctldclient, built with the images, against the cluster's
// vtctld, from the host.
type Vtctld struct {
	Bin, Server string
}

// NewVtctld finds the vtctld Service's address.
func NewVtctld(ctx context.Context, c kubernetes.Interface) (*Vtctld, error) {
	return NewVtctldOf(ctx, c, Cluster)
}

// NewVtctldOf finds the vtctld Service's address of a cluster.
func NewVtctldOf(ctx context.Context, c kubernetes.Interface, cluster string) (*Vtctld, error) {
	dir, err := images.BuildVitessBinaries(nil) // built with the images
	if err != nil {
		return nil, err
	}
	svc, err := c.CoreV1().Services(Namespace).Get(ctx, names.Vtctld(cluster, "zone1"), metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return &Vtctld{Bin: filepath.Join(dir, "vtctldclient"), Server: fmt.Sprintf("%s:%d", svc.Spec.ClusterIP, spec.VtctldGRPCPort)}, nil
}

// Run runs one vtctldclient command, bounded.
func (v *Vtctld) Run(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, v.Bin, append([]string{"--server=" + v.Server, "--action-timeout=45s"}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return strings.TrimSpace(out.String()), err
}

// ShardPrimary is the alias of the tablet the shard record names its
// primary, or "" when it names none.
func (v *Vtctld) ShardPrimary(ctx context.Context, shard string) (string, error) {
	out, err := v.Run(ctx, "GetShard", Keyspace+"/"+shard)
	if err != nil {
		return "", fmt.Errorf("GetShard %s/%s: %w: %s", Keyspace, shard, err, out)
	}
	return shardPrimary(out)
}

// shardPrimary reads the primary's alias from GetShard's JSON.
func shardPrimary(out string) (string, error) {
	var r struct {
		Shard struct {
			PrimaryAlias *struct {
				Cell string `json:"cell"`
				UID  uint32 `json:"uid"`
			} `json:"primary_alias"`
		} `json:"shard"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		return "", fmt.Errorf("GetShard's answer: %w: %s", err, out)
	}
	if a := r.Shard.PrimaryAlias; a != nil && a.Cell != "" {
		return names.Alias(a.Cell, a.UID), nil
	}
	return "", nil
}

// IsPrimary says whether the topology records the tablet as its shard's
// primary.
func (v *Vtctld) IsPrimary(ctx context.Context, alias string) bool {
	out, err := v.Run(ctx, "GetTablet", alias)
	return err == nil && primaryType(out)
}

// primaryType says whether GetTablet's JSON says PRIMARY (protojson puts
// one or two spaces after the colon).
func primaryType(out string) bool {
	for _, sep := range []string{`"type": "PRIMARY"`, `"type":  "PRIMARY"`, `"type":"PRIMARY"`} {
		if strings.Contains(out, sep) {
			return true
		}
	}
	return false
}

// Primaries waits until every shard has a primary, as the shard record and
// the tablet's own record say, and returns them by shard. Nothing here
// promotes a tablet: vtorc elects the first primaries.
func (v *Vtctld) Primaries(ctx context.Context, within time.Duration) (map[string]string, error) {
	deadline := time.Now().Add(within)
	for {
		got := map[string]string{}
		var last error
		for _, sh := range Shards {
			alias, err := v.ShardPrimary(ctx, sh)
			if err != nil {
				last = err
				continue
			}
			if alias != "" && v.IsPrimary(ctx, alias) {
				got[sh] = alias
			}
		}
		if len(got) == len(Shards) {
			return got, nil
		}
		if time.Now().After(deadline) {
			return got, fmt.Errorf("shards without a primary after %s: have %v (%v)", within, got, last)
		}
		select {
		case <-ctx.Done():
			return got, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// Gateway is the MySQL address of a cell's vtgate Service.
func Gateway(ctx context.Context, c kubernetes.Interface, cell string) (string, error) {
	return GatewayOf(ctx, c, Cluster, cell)
}

// GatewayOf is the MySQL address of a cluster's vtgate Service in a cell.
func GatewayOf(ctx context.Context, c kubernetes.Interface, cluster, cell string) (string, error) {
	svc, err := c.CoreV1().Services(Namespace).Get(ctx, names.Vtgate(cluster, cell), metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s:%d", svc.Spec.ClusterIP, spec.MySQLPort), nil
}

// Jobs is how many Jobs the cluster runs as it comes up: each cell's
// registration, the keyspace's setup and each shard's backup seed.
var Jobs = len(Cells) + 1 + len(Shards)

// WaitingFor names what the cluster still waits for, its tablets'
// readiness aside (a tablet serves, and is Ready, once its shard has a
// primary), or "" when nothing.
func WaitingFor(ctx context.Context, c kubernetes.Interface, tablets []Tablet) string {
	pods, err := c.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err.Error()
	}
	isTablet := map[string]bool{}
	for _, tb := range tablets {
		isTablet[tb.Pod] = true
	}
	var waiting []string
	seen := 0
	for _, p := range pods.Items {
		switch {
		case p.Status.Phase == corev1.PodSucceeded:
		case isTablet[p.Name]:
			seen++
			if !running(&p, "vttablet") || !running(&p, "mysqld") {
				waiting = append(waiting, "Pod "+p.Name+" running")
			}
		case !podReady(&p):
			waiting = append(waiting, "Pod "+p.Name+" Ready")
		}
	}
	if seen < len(tablets) {
		waiting = append(waiting, fmt.Sprintf("the tablet Pods (%d of %d)", seen, len(tablets)))
	}
	jobs, err := c.BatchV1().Jobs(Namespace).List(ctx, metav1.ListOptions{})
	if err != nil || len(jobs.Items) < Jobs {
		waiting = append(waiting, "the Jobs")
	}
	for _, j := range jobs.Items {
		if j.Status.Succeeded < 1 {
			waiting = append(waiting, "Job "+j.Name)
		}
	}
	return strings.Join(waiting, ", ")
}

// podReady says whether a Pod is Ready.
func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// running says whether a container of a Pod runs.
func running(p *corev1.Pod, container string) bool {
	for _, c := range p.Status.ContainerStatuses {
		if c.Name == container {
			return c.State.Running != nil
		}
	}
	return false
}
