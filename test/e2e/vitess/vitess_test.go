//go:build linux

package vitess

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/vtmeta/vtmeta/test/e2e/plane"
	"github.com/vtmeta/vtmeta/test/e2e/realnode"
	"github.com/vtmeta/vtmeta/test/e2e/realnode/images"
)

// scenario is what every step of the test shares.
type scenario struct {
	e       *plane.Env
	node    *realnode.Node
	c       kubernetes.Interface
	vcs     dynamic.ResourceInterface
	vtctld  *Vtctld
	gates   map[string]*sql.DB // by cell
	tablets []Tablet
	// etcd is the etcd image's reference.
	etcd string
	// weed is the SeaweedFS command step 10 serves S3 with.
	weed string
	// next is the first id the next load writes.
	next int64
}

// TestVitessOnARealNode is the Vitess scenario on MySQL: the cluster comes
// up on a real node, each shard seeded by an initial backup, and vtorc
// elects each shard's first primary; SQL works through both cells'
// vtgates; then, each under a continuous write load that must keep every
// acknowledged write, scheduled backups, an image rollout whose primaries
// move by planned reparent from their Pods' preStop, a primary that
// crashes, a drain of a shard's tablet Pods through the Eviction API, and
// a replica that loses its volume and restores the latest backup; every
// series the dashboards and alerts select is scraped from the real
// processes; and a new cluster restores every row from the deleted one's
// backups.
func TestVitessOnARealNode(t *testing.T) {
	if os.Getenv("VTMETA_E2E") == "" {
		t.Skip("set VTMETA_E2E=1 (make test-vitess) to run Vitess on a real node")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 75*time.Minute)
	defer cancel()
	dir := t.TempDir()
	start := time.Now()
	node, err := realnode.Prepare(ctx, realnode.Options{Dir: dir, Log: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Stop()
	// The plane first, with its progress: the etcd image is built from it.
	if err := plane.Build(t.Logf); err != nil {
		t.Fatal(err)
	}
	imgStart := time.Now()
	imgs, err := images.All(t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("images built or found in %s", time.Since(imgStart).Round(time.Second))
	only := map[string]bool{} // VTMETA_E2E_STEPS=1,2,3,4,10: those steps alone
	for _, n := range strings.Split(os.Getenv("VTMETA_E2E_STEPS"), ",") {
		if n = strings.TrimSpace(n); n != "" {
			only[n] = true
		}
	}
	selected := func(n string) bool { return len(only) == 0 || only[n] }
	// SeaweedFS (step 10's S3 server) is built now, with the machine to
	// itself: built beside the running cluster it took twice as long and
	// shared the cores with the steps that measure gaps.
	weed := ""
	if selected("10") {
		weedStart := time.Now()
		if weed, err = buildWeed(t.Logf); err != nil {
			t.Fatal(err)
		}
		t.Logf("SeaweedFS built or found in %s", time.Since(weedStart).Round(time.Second))
	}
	e, err := plane.Up(ctx, plane.Options{Dir: dir, Log: t.Logf, Network: realnode.Network(), Metacontroller: os.Getenv("METACONTROLLER_BIN")})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	defer keepLogs(t, dir)
	if err := node.Join(ctx, e.Kubeconfig, e.Config, imgs...); err != nil {
		t.Fatal(err)
	}
	t.Logf("Metacontroller: %s; node and plane up in %s", e.Driver, time.Since(start).Round(time.Second))
	c, err := kubernetes.NewForConfig(e.Config)
	if err != nil {
		t.Fatal(err)
	}
	if err := realnode.OnlyNode(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := realnode.Volumes(ctx, c, Volumes(), "2Gi"); err != nil {
		t.Fatal(err)
	}
	if err := Prerequisites(ctx, c); err != nil {
		t.Fatal(err)
	}
	vc, err := plane.Decode(Manifest(etcdImage(imgs)))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.CreateAll(ctx, []*unstructured.Unstructured{vc}); err != nil {
		t.Fatal(err)
	}
	gvr, _ := plane.Resource("VitessCluster")
	s := &scenario{e: e, node: node, c: c, vcs: e.Client.Resource(gvr).Namespace(Namespace), gates: map[string]*sql.DB{}, tablets: Tablets(), etcd: etcdImage(imgs), weed: weed, next: 1_000_000}

	steps := []struct {
		name string
		run  func(*testing.T, context.Context)
		// stop: a later step makes no sense when this one failed.
		stop bool
	}{
		{"1 the cluster comes up", s.comesUp, true},
		{"2 vtorc elects each shard's first primary; the cluster is Ready; restart counts", s.primaries, true},
		{"3 SQL through each cell's vtgate", s.sql, true},
		{"4 scheduled backups under load; retention prunes", s.backups, false},
		{"5 an image rollout under load moves every primary from its preStop", s.rollout, false},
		{"6 a primary crashes: vtorc elects a replica", s.crash, false},
		{"7 a drain of one shard through the Eviction API", s.drain, false},
		{"8 a replica loses its volume, restores the latest backup and catches up", s.lostVolume, false},
		{"9 Prometheus's view: every series the dashboards and alerts select is real", s.scrape, false},
		{"10 a new cluster restores every row from a deleted one's backups", s.restore, false},
	}
	for _, st := range steps {
		if n, _, _ := strings.Cut(st.name, " "); !selected(n) {
			continue
		}
		begin := time.Now()
		ok := t.Run(st.name, func(t *testing.T) { st.run(t, ctx) })
		t.Logf("step %q took %s", st.name, time.Since(begin).Round(time.Second))
		if !ok && st.stop {
			return
		}
	}
	t.Logf("the scenario took %s", time.Since(start).Round(time.Second))
}

// etcdImage is the etcd image's reference among the built images.
func etcdImage(imgs []images.Image) string {
	for _, img := range imgs {
		if strings.Contains(img.Ref, "/etcd:") {
			return img.Ref
		}
	}
	return ""
}

// comesUp waits until the cluster is up but for its primaries: etcd's
// quorum, vtctld, both vtorcs and vtgates, the Jobs run by the real
// vtctldclient, and every tablet's vttablet and mysqld running on its
// claim. A tablet serves, and its Pod is Ready, once its shard has a
// primary, which vtorc elects next.
func (s *scenario) comesUp(t *testing.T, ctx context.Context) {
	start := time.Now()
	last := ""
	for {
		waiting := WaitingFor(ctx, s.c, s.tablets)
		if waiting == "" {
			break
		}
		if waiting != last {
			t.Logf("%s: waiting for %s", time.Since(start).Round(time.Second), waiting)
			last = waiting
		}
		if time.Since(start) > 15*time.Minute {
			t.Fatalf("the cluster is not up after 15 minutes: waiting for %s\n%s", last, s.pods(ctx))
		}
		time.Sleep(2 * time.Second)
	}
	t.Logf("the cluster is up %s after it was created", time.Since(start).Round(time.Second))
	jobs, err := s.c.BatchV1().Jobs(Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs.Items {
		if j.Status.Succeeded < 1 {
			t.Errorf("Job %s did not complete", j.Name)
		}
	}
	if len(jobs.Items) != Jobs { // register zone1 and zone2, set up the keyspace
		t.Errorf("%d Jobs, want %d", len(jobs.Items), Jobs)
	}
	etcd, err := s.c.AppsV1().StatefulSets(Namespace).Get(ctx, Cluster+"-etcd", metav1.GetOptions{})
	if err != nil || etcd.Status.ReadyReplicas != 3 {
		t.Errorf("etcd: %v ready of 3 (%v)", etcd.Status.ReadyReplicas, err)
	}
	if s.vtctld, err = NewVtctld(ctx, s.c); err != nil {
		t.Fatal(err)
	}
}

// primaries waits, without promoting anything, for vtorc to elect each
// shard's first primary; checks that the keyspace is semi_sync and each
// primary waits for a replica's acknowledgement; that vtgate sees both
// primaries serving; that the cluster is then Ready; and prints every
// Pod's restart count.
func (s *scenario) primaries(t *testing.T, ctx context.Context) {
	start := time.Now()
	primaries, err := s.vtctld.Primaries(ctx, 10*time.Minute)
	if err != nil {
		t.Fatalf("%v\n%s", err, s.pods(ctx))
	}
	t.Logf("vtorc elected the first primaries %v (%s after the cluster was up)", primaries, time.Since(start).Round(time.Second))
	if rec, err := s.recoveries(ctx); err != nil {
		t.Error(err)
	} else {
		t.Logf("vtorc's recoveries: %s", rec)
		if rec.Emergency() != 0 {
			t.Errorf("vtorc ran %d emergency reparents while the cluster came up", rec.Emergency())
		}
	}
	if out, err := s.vtctld.Run(ctx, "GetKeyspace", Keyspace); err != nil || !strings.Contains(out, `"semi_sync"`) {
		t.Errorf("GetKeyspace %s: %v %s, want durability policy semi_sync", Keyspace, err, out)
	}
	s.gatesOf(t, ctx)
	s.waitServing(t, ctx)
	for sh, alias := range primaries {
		if err := retry(ctx, time.Minute, func() error {
			out, err := s.mysql(ctx, s.tablet(alias), "SELECT @@global.rpl_semi_sync_source_enabled, (SELECT VARIABLE_VALUE FROM performance_schema.global_status WHERE VARIABLE_NAME = 'Rpl_semi_sync_source_clients')")
			if err != nil {
				return err
			}
			if f := strings.Fields(out); len(f) != 2 || f[0] != "1" || f[1] == "0" {
				return fmt.Errorf("semi-sync source enabled, clients: %q, want 1 and at least one", out)
			}
			t.Logf("shard %s: the primary %s waits for a semi-sync acknowledgement (enabled, clients: %s)", sh, alias, out)
			return nil
		}); err != nil {
			t.Errorf("shard %s, primary %s: %v", sh, alias, err)
		}
	}
	s.ready(t, ctx, 10*time.Minute)
	s.restarts(t, ctx)
}

// gatesOf opens a connection pool to each cell's vtgate.
func (s *scenario) gatesOf(t *testing.T, ctx context.Context) map[string]*sql.DB {
	for _, cell := range Cells {
		if s.gates[cell] != nil {
			continue
		}
		addr, err := Gateway(ctx, s.c, cell)
		if err != nil {
			t.Fatal(err)
		}
		db, err := Open(addr)
		if err != nil {
			t.Fatal(err)
		}
		s.gates[cell] = db
	}
	return s.gates
}

// restarts prints every Pod's restart count: the goal is none, components
// waiting for what they need rather than crash-looping.
func (s *scenario) restarts(t *testing.T, ctx context.Context) {
	pods, err := s.c.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	total := 0
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodSucceeded {
			continue
		}
		n := 0
		var why []string
		for _, c := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
			n += int(c.RestartCount)
			if c.RestartCount > 0 && c.LastTerminationState.Terminated != nil {
				why = append(why, fmt.Sprintf("%s exited %d (%s)", c.Name, c.LastTerminationState.Terminated.ExitCode, c.LastTerminationState.Terminated.Reason))
			}
		}
		total += n
		lines = append(lines, fmt.Sprintf("  %-32s %d %s", p.Name, n, strings.Join(why, ", ")))
	}
	sort.Strings(lines)
	msg := fmt.Sprintf("restart counts once the cluster is Ready (goal 0): %d in all\n%s", total, strings.Join(lines, "\n"))
	t.Log(msg)
	fmt.Println(msg)
}

// ready waits for the VitessCluster's Ready condition.
func (s *scenario) ready(t *testing.T, ctx context.Context, within time.Duration) {
	t.Helper()
	start := time.Now()
	last := ""
	for {
		vc, err := s.vcs.Get(ctx, Cluster, metav1.GetOptions{})
		if err == nil {
			st, msg := plane.Condition(vc, "Ready")
			if st == "True" {
				t.Logf("the cluster is Ready (after %s)", time.Since(start).Round(time.Second))
				return
			}
			if msg != last {
				t.Logf("%s: %s", time.Since(start).Round(time.Second), msg)
				last = msg
			}
		}
		if time.Since(start) > within {
			t.Fatalf("the cluster is not Ready after %s: %s\n%s", within, last, s.pods(ctx))
		}
		time.Sleep(2 * time.Second)
	}
}

// servingPrimaries lists, from SHOW VITESS_TABLETS, the shards whose
// primary serves.
func servingPrimaries(ctx context.Context, db *sql.DB) ([]string, error) {
	tablets, err := vitessTablets(ctx, db)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, row := range tablets {
		if row["keyspace"] == Keyspace && row["tablettype"] == "PRIMARY" && row["state"] == "SERVING" {
			out = append(out, row["shard"])
		}
	}
	return out, nil
}

// vitessTablets is SHOW VITESS_TABLETS, a map of lower-case column names
// to values per row.
func vitessTablets(ctx context.Context, db *sql.DB) ([]map[string]string, error) {
	rows, err := db.QueryContext(ctx, "SHOW VITESS_TABLETS")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []map[string]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := map[string]string{}
		for i, c := range cols {
			row[strings.ToLower(c)] = vals[i].String
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

// sql applies a VSchema with a hash vindex, creates a table, writes 1,000
// rows through both cells' vtgates and reads them back through each; both
// shards hold rows, each where the hash says; a wrong password is refused.
func (s *scenario) sql(t *testing.T, ctx context.Context) {
	// The VSchema is the spec's: the cell layer applied it, and the
	// cluster is Ready only once it has.
	out, err := s.vtctld.Run(ctx, "GetVSchema", Keyspace)
	var vs struct {
		Sharded  bool `json:"sharded"`
		Vindexes map[string]struct {
			Type string `json:"type"`
		} `json:"vindexes"`
	}
	if err == nil {
		err = json.Unmarshal([]byte(out), &vs)
	}
	if err != nil || !vs.Sharded || vs.Vindexes["hash"].Type != "hash" {
		t.Fatalf("GetVSchema %s: %v %s, want the spec's sharded VSchema with its hash vindex", Keyspace, err, out)
	}
	if _, err := s.gates["zone1"].ExecContext(ctx, "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, v VARCHAR(64))"); err != nil {
		t.Fatalf("CREATE TABLE: %v", err)
	}
	for id := int64(1); id <= 1000; id++ {
		cell := Cells[id%2]
		if err := retry(ctx, 30*time.Second, func() error {
			_, err := s.gates[cell].ExecContext(ctx, "INSERT INTO t (id, v) VALUES (?, ?)", id, fmt.Sprint("row ", id))
			return err
		}); err != nil {
			t.Fatalf("INSERT %d through %s's vtgate: %v", id, cell, err)
		}
	}
	for cell, db := range s.gates {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n); err != nil || n != 1000 {
			t.Errorf("through %s's vtgate: %d rows (%v), want 1000", cell, n, err)
		}
	}
	total := 0
	for _, sh := range Shards {
		ids, err := shardIDs(ctx, s.gates["zone2"], sh)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if ShardOf(id) != sh {
				t.Errorf("row %d is in shard %s, the hash vindex says %s", id, sh, ShardOf(id))
				break
			}
		}
		if len(ids) == 0 {
			t.Errorf("shard %s holds no row", sh)
		}
		t.Logf("shard %s holds %d rows", sh, len(ids))
		total += len(ids)
	}
	if total != 1000 {
		t.Errorf("the shards hold %d rows, want 1000", total)
	}
	addr, err := Gateway(ctx, s.c, "zone2")
	if err != nil {
		t.Fatal(err)
	}
	bad, err := OpenAs(addr, AppUser, "not-the-password")
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	if err := bad.PingContext(ctx); err == nil || !strings.Contains(err.Error(), "Access denied") {
		t.Errorf("a wrong password: %v, want Access denied", err)
	}
}

// shardIDs reads the ids one shard holds, addressing its primary directly.
func shardIDs(ctx context.Context, db *sql.DB, shard string) ([]int64, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "USE `"+Keyspace+":"+shard+"`"); err != nil {
		return nil, fmt.Errorf("USE %s:%s: %w", Keyspace, shard, err)
	}
	rows, err := conn.QueryContext(ctx, "SELECT id FROM t")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// load is a write load under way: its writer and what it started from.
type load struct {
	w    *Writer
	from int64
}

// startLoad starts writing through zone1's vtgate, from ids no earlier
// load used, and lets it run a moment before the disruption.
func (s *scenario) startLoad() load {
	l := load{w: StartWriter(s.gates["zone1"], s.next), from: s.next}
	s.next += 100_000_000
	time.Sleep(3 * time.Second)
	return l
}

// finish stops a load after a moment and checks what it left: it reads
// every row back (a page at a time) and prints the line per shard, failing
// on any acknowledged write lost; gap is the goal for the longest gap,
// which is reported, not enforced.
func (s *scenario) finish(t *testing.T, ctx context.Context, l load, gap time.Duration) []ShardReport {
	t.Helper()
	time.Sleep(3 * time.Second)
	writes := l.w.Stop()
	present, err := Present(ctx, s.gates["zone1"], l.from)
	if err != nil {
		t.Fatal(err)
	}
	reports := Report(writes, present)
	for _, r := range reports {
		verdict := "met"
		if r.LongestGap > gap {
			verdict = "missed"
		}
		line := fmt.Sprintf("%s (goal %s: %s)", r, gap, verdict)
		t.Log(line)
		fmt.Println(line)
		if len(r.Lost) > 0 {
			t.Errorf("shard %s lost %d acknowledged writes: %v", r.Shard, len(r.Lost), r.Lost[:min(len(r.Lost), 10)])
		}
		if r.Acknowledged == 0 {
			t.Errorf("shard %s acknowledged no write", r.Shard)
		}
	}
	return reports
}

// edit changes the cluster's spec and waits until the change has rolled
// out: observed, Updated and Ready.
func (s *scenario) edit(t *testing.T, ctx context.Context, change func(spec map[string]any)) {
	vc, err := s.vcs.Get(ctx, Cluster, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	change(vc.Object["spec"].(map[string]any))
	if vc, err = s.vcs.Update(ctx, vc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	gen := vc.GetGeneration()
	start := time.Now()
	last := ""
	for {
		got, err := s.vcs.Get(ctx, Cluster, metav1.GetOptions{})
		if err == nil {
			og, _, _ := unstructured.NestedInt64(got.Object, "status", "observedGeneration")
			r, _ := plane.Condition(got, "Ready")
			u, _ := plane.Condition(got, "Updated")
			if og == gen && r == "True" && u == "True" {
				t.Logf("the edit rolled out in %s", time.Since(start).Round(time.Second))
				return
			}
			if _, msg := plane.Condition(got, "Progressing"); msg != last {
				t.Logf("%s: %s", time.Since(start).Round(time.Second), msg)
				last = msg
			}
		}
		if time.Since(start) > 25*time.Minute {
			t.Fatalf("the edit did not roll out in 25 minutes: %s\n%s", last, s.pods(ctx))
		}
		time.Sleep(time.Second)
	}
}

// waitServing waits until vtgate sees every shard's primary serving.
func (s *scenario) waitServing(t *testing.T, ctx context.Context) {
	t.Helper()
	if err := retry(ctx, 5*time.Minute, func() error {
		for _, cell := range Cells {
			serving, err := servingPrimaries(ctx, s.gates[cell])
			if err == nil && len(serving) != len(Shards) {
				err = fmt.Errorf("%s's vtgate: serving primaries in %v only", cell, serving)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, s.pods(ctx))
	}
}

// tablet is the scenario's tablet of an alias.
func (s *scenario) tablet(alias string) Tablet {
	for _, tb := range s.tablets {
		if tb.Alias == alias {
			return tb
		}
	}
	return Tablet{Alias: alias}
}

// mysql runs a query on a tablet's mysqld as vt_dba, through kubectl exec
// and the image's mysql client, and returns its tab-separated answer.
func (s *scenario) mysql(ctx context.Context, tb Tablet, query string) (string, error) {
	out, err := s.e.Kubectl(ctx, "exec", tb.Pod, "-c", "mysqld", "--", "mysql", "-u", "vt_dba", "-p"+DBAPassword,
		"-S", tb.Socket(), "-N", "-B", "-e", query)
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if !strings.Contains(l, "Using a password on the command line") && strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	if err != nil {
		return "", fmt.Errorf("%s on %s: %w: %s", query, tb.Alias, err, strings.Join(lines, "\n"))
	}
	return strings.Join(lines, "\n"), nil
}

func (s *scenario) claimUIDs(t *testing.T, ctx context.Context) map[string]types.UID {
	return s.uids(t, func(name string) (metav1.Object, error) {
		return s.c.CoreV1().PersistentVolumeClaims(Namespace).Get(ctx, name, metav1.GetOptions{})
	})
}

func (s *scenario) podUIDs(t *testing.T, ctx context.Context) map[string]types.UID {
	return s.uids(t, func(name string) (metav1.Object, error) {
		return s.c.CoreV1().Pods(Namespace).Get(ctx, name, metav1.GetOptions{})
	})
}

// uids maps each tablet's Pod name to the UID of the object get returns
// under that name (a tablet's Pod and claim share it).
func (s *scenario) uids(t *testing.T, get func(name string) (metav1.Object, error)) map[string]types.UID {
	out := map[string]types.UID{}
	for _, tb := range s.tablets {
		o, err := get(tb.Pod)
		if err != nil {
			t.Fatal(err)
		}
		out[tb.Pod] = o.GetUID()
	}
	return out
}

// pods describes every Pod, for failure messages.
func (s *scenario) pods(ctx context.Context) string {
	out, _ := s.e.Kubectl(ctx, "get", "pods,jobs,pvc", "-o", "wide")
	return out
}

// retry calls f until it succeeds or the time is up.
func retry(ctx context.Context, within time.Duration, f func() error) error {
	deadline := time.Now().Add(within)
	for {
		err := f()
		if err == nil || errors.Is(err, errStop) || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Second)
	}
}

// keepLogs copies the plane's and node's logs, and every container's, to
// VTMETA_E2E_LOGS when the test failed.
func keepLogs(t *testing.T, dir string) {
	dst := os.Getenv("VTMETA_E2E_LOGS")
	if dst == "" || !t.Failed() {
		return
	}
	for _, d := range []struct{ from, to string }{{dir, dst}, {filepath.Join(realnode.RootDir, "pod-logs"), filepath.Join(dst, "pod-logs")}} {
		if err := copyFiles(d.from, d.to); err != nil {
			t.Logf("keep logs: %v", err)
		}
	}
	t.Logf("logs kept in %s", dst)
}

// copyFiles copies the regular files under from to the same places under
// to.
func copyFiles(from, to string) error {
	return filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(to, rel)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
}
