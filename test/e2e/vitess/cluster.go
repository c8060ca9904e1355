// Package vitess runs real Vitess on a real node (test/e2e/realnode)
// beside the test control plane: a VitessCluster as vtmeta renders it, on
// Vitess and MariaDB images built here, and what only a real database can
// show — SQL through vtgate in both cells, a rollout under a write load
// that keeps every acknowledged write, a tablet Pod lost, and the tablet
// Pods' preStop hook against the real vtctld. It is test code, never
// shipped.
//
// MariaDB is the only MySQL obtainable on these machines, and Vitess 24
// supports it only partly: a shard has one primary-eligible tablet (a
// replica cannot join: its errant-GTID check needs MySQL's server_uuid),
// vtorc cannot discover a MariaDB tablet, so the scenario promotes each
// shard's tablet itself, and a restarted primary comes back read-only
// (mariadb10.cnf) and cannot be made writable by Vitess (it asks for
// super_read_only), so the scenario turns read_only off itself. Each of
// those is a test-side step, never something vtmeta renders.
package vitess

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
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
	// Secret holds the credentials; ConfigMap the MariaDB init SQL.
	Secret    = "vt-credentials"
	ConfigMap = "vt-mariadb-init"
	// AppUser and AppPassword are vtgate's user; DBAPassword is vt_dba's.
	AppUser     = "app"
	AppPassword = "app-Passw0rd"
	DBAPassword = "dba-Passw0rd"
)

// Shards are the keyspace's shards.
var Shards = []string{"-80", "80-"}

// Manifest is the VitessCluster of the scenario: two cells, zone1 with the
// 3-member topology etcd, vtctld, vtorc, a vtgate and every tablet (one
// primary-eligible tablet per shard), zone2 with a vtgate only, whose
// keyspace lives entirely in zone1; images, init SQL and credentials as a
// user with a private registry would name them (etcd is the etcd image's
// reference, which follows the plane's etcd version).
func Manifest(etcd string) string {
	claim := fmt.Sprintf("{accessModes: [ReadWriteOnce], storageClassName: %s, resources: {requests: {storage: 1Gi}}}", realnode.StorageClass)
	return fmt.Sprintf(`apiVersion: vitess.io/v1alpha1
kind: VitessCluster
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  selector: {matchLabels: {app: %[1]s}}
  credentials: {secretName: %[3]s}
  initSql: {configMapName: %[4]s}
  images: {vtctld: %[5]s, vtgate: %[5]s, vtorc: %[5]s, vttablet: %[5]s, mysqld: %[6]s, etcd: %[7]s}
  cells:
  - name: zone1
    etcd: {size: 3, volumeClaim: %[8]s}
    vtgate: {replicas: 1}
  - name: zone2
    vtgate: {replicas: 1}
  keyspaces:
  - name: %[9]s
    cells: [zone1]
    shards:
    - keyRange: {start: "", end: "80"}
    - keyRange: {start: "80", end: ""}
    tablets:
      defaults:
        volumeClaim: %[8]s
      replica: {replicas: 1}
`, Cluster, Namespace, Secret, ConfigMap, images.Vitess, images.MariaDB, etcd, claim, Keyspace)
}

// Prerequisites creates the credentials Secret and the init SQL ConfigMap.
func Prerequisites(ctx context.Context, c kubernetes.Interface) error {
	sql, err := images.MariaDBInitSQLContent()
	if err != nil {
		return err
	}
	users := fmt.Sprintf(`{%q: [{"Password": %q, "UserData": %q}]}`, AppUser, AppPassword, AppUser)
	if _, err := c.CoreV1().Secrets(Namespace).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: Secret},
		StringData: map[string]string{"vtgate-users.json": users, "vt_repl": "repl-Passw0rd", "vt_dba": DBAPassword, "vt_app": "vtapp-Passw0rd"},
	}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create Secret %s: %w", Secret, err)
	}
	if _, err := c.CoreV1().ConfigMaps(Namespace).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: ConfigMap},
		Data:       map[string]string{"init_db.sql": string(sql)},
	}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create ConfigMap %s: %w", ConfigMap, err)
	}
	return nil
}

// Tablet is one tablet of the scenario.
type Tablet struct {
	Shard, Alias, Pod string
	UID               uint32
}

// Tablets are the scenario's tablets, one per shard.
func Tablets() []Tablet {
	var out []Tablet
	for i, sh := range Shards {
		uid := spec.PoolUID(spec.ShardBase(0, i), spec.TypeReplica, 0) // the keyspace's slot in zone1, the shard's range in it
		out = append(out, Tablet{Shard: sh, UID: uid, Alias: names.Alias("zone1", uid), Pod: names.Tablet(Cluster, "zone1", uid)})
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
	dir, err := images.BuildVitessBinaries()
	if err != nil {
		return nil, err
	}
	svc, err := c.CoreV1().Services(Namespace).Get(ctx, names.Vtctld(Cluster, "zone1"), metav1.GetOptions{})
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

// IsPrimary says whether the topology records the tablet as its shard's
// primary.
func (v *Vtctld) IsPrimary(ctx context.Context, t Tablet) bool {
	out, err := v.Run(ctx, "GetTablet", t.Alias)
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

// Gateway is the MySQL address of a cell's vtgate Service.
func Gateway(ctx context.Context, c kubernetes.Interface, cell string) (string, error) {
	svc, err := c.CoreV1().Services(Namespace).Get(ctx, names.Vtgate(Cluster, cell), metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s:%d", svc.Spec.ClusterIP, spec.MySQLPort), nil
}

// WaitingFor names what the cluster still waits for, its tablets'
// readiness aside (a tablet is Ready once its shard has a primary), or ""
// when nothing.
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
		waiting = append(waiting, "the tablet Pods")
	}
	jobs, err := c.BatchV1().Jobs(Namespace).List(ctx, metav1.ListOptions{})
	if err != nil || len(jobs.Items) < 4 {
		waiting = append(waiting, "the Jobs")
	}
	for _, j := range jobs.Items {
		if j.Status.Succeeded < 1 {
			waiting = append(waiting, "Job "+j.Name)
		}
	}
	return strings.Join(waiting, ", ")
}

// Promote makes each tablet its shard's primary with a planned reparent
// that names it: what vtorc does on MySQL, and cannot on MariaDB (it cannot
// discover a MariaDB tablet), so here it is a test-side step.
func Promote(ctx context.Context, v *Vtctld, tablets []Tablet, logf func(string, ...any)) error {
	for _, tb := range tablets {
		if v.IsPrimary(ctx, tb) {
			continue
		}
		out, err := v.Run(ctx, "PlannedReparentShard", Keyspace+"/"+tb.Shard, "--new-primary="+tb.Alias)
		logf("promote %s: %v %s", tb.Alias, err, out)
		deadline := time.Now().Add(2 * time.Minute)
		for !v.IsPrimary(ctx, tb) {
			if time.Now().After(deadline) {
				return fmt.Errorf("%s is not its shard's primary after 2 minutes", tb.Alias)
			}
			time.Sleep(2 * time.Second)
		}
	}
	return nil
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
