//go:build linux

package vitess

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"sync"
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
	c       kubernetes.Interface
	vcs     dynamic.ResourceInterface
	vtctld  *Vtctld
	gates   map[string]*sql.DB // by cell
	tablets []Tablet
}

// TestVitessOnARealNode is the Vitess scenario: the cluster comes up Ready
// on a real node, each shard gets a serving primary, SQL works through both
// cells' vtgates, a rollout under a write load keeps every acknowledged
// write, a lost tablet Pod comes back on its claim with its rows, and the
// preStop hook runs against the real vtctld.
func TestVitessOnARealNode(t *testing.T) {
	if os.Getenv("VTMETA_E2E") == "" {
		t.Skip("set VTMETA_E2E=1 (make test-vitess) to run Vitess on a real node")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Minute)
	defer cancel()
	dir := t.TempDir()
	start := time.Now()
	node, err := realnode.Prepare(ctx, realnode.Options{Dir: dir, Log: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Stop()
	imgs, err := images.All()
	if err != nil {
		t.Fatal(err)
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
	if err := realnode.Volumes(ctx, c, 8, "2Gi"); err != nil {
		t.Fatal(err)
	}
	if err := Prerequisites(ctx, c); err != nil {
		t.Fatal(err)
	}
	etcd := ""
	for _, img := range imgs {
		if strings.Contains(img.Ref, "/etcd:") {
			etcd = img.Ref
		}
	}
	vc, err := plane.Decode(Manifest(etcd))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.CreateAll(ctx, []*unstructured.Unstructured{vc}); err != nil {
		t.Fatal(err)
	}
	gvr, _ := plane.Resource("VitessCluster")
	s := &scenario{e: e, c: c, vcs: e.Client.Resource(gvr).Namespace(Namespace), gates: map[string]*sql.DB{}, tablets: Tablets()}

	t.Run("1 the cluster comes up", func(t *testing.T) { s.comesUp(t, ctx) })
	if t.Failed() {
		return
	}
	t.Run("2 each shard gets a serving primary, and the cluster is Ready", func(t *testing.T) { s.primaries(t, ctx) })
	if t.Failed() {
		return
	}
	t.Run("3 SQL through each cell's vtgate", func(t *testing.T) { s.sql(t, ctx) })
	if t.Failed() {
		return
	}
	t.Run("4 a rollout under load keeps every acknowledged write", func(t *testing.T) { s.rollout(t, ctx) })
	t.Run("5 a tablet Pod lost comes back with its rows", func(t *testing.T) { s.lost(t, ctx) })
	t.Run("6 the preStop hook against the real vtctld", func(t *testing.T) { s.preStop(t, ctx) })
}

// comesUp waits until the cluster is up but for its primaries: etcd's
// quorum, vtctld, vtorc, both vtgates, the Jobs run by the real
// vtctldclient, and every tablet's vttablet and mysqld running on its
// claim. A tablet serves, and its Pod is Ready, once its shard has a
// primary, which vtorc would elect and, on MariaDB, the next step does.
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
		if time.Since(start) > 12*time.Minute {
			t.Fatalf("the cluster is not up after 12 minutes: waiting for %s\n%s", last, s.pods(ctx))
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
	if len(jobs.Items) < 4 { // register zone1 and zone2, set up the keyspace, rebuild zone2's serving graph
		t.Errorf("%d Jobs, want 4", len(jobs.Items))
	}
	etcd, err := s.c.AppsV1().StatefulSets(Namespace).Get(ctx, Cluster+"-etcd", metav1.GetOptions{})
	if err != nil || etcd.Status.ReadyReplicas != 3 {
		t.Errorf("etcd: %v ready of 3 (%v)", etcd.Status.ReadyReplicas, err)
	}
	if s.vtctld, err = NewVtctld(ctx, s.c); err != nil {
		t.Fatal(err)
	}
}

// primaries promotes each shard's tablet (a test-side step: vtorc cannot
// discover a MariaDB tablet), checks that vtgate sees both primaries
// serving, and that the cluster is then Ready.
func (s *scenario) primaries(t *testing.T, ctx context.Context) {
	defer s.ready(t, ctx)
	if err := Promote(ctx, s.vtctld, s.tablets, t.Logf); err != nil {
		t.Fatal(err)
	}
	for _, cell := range []string{"zone1", "zone2"} {
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
	deadline := time.Now().Add(2 * time.Minute)
	for {
		serving, err := servingPrimaries(ctx, s.gates["zone1"])
		if err == nil && len(serving) == len(Shards) {
			t.Logf("SHOW VITESS_TABLETS: %v", serving)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("vtgate does not see a serving primary in every shard: %v (%v)", serving, err)
		}
		time.Sleep(2 * time.Second)
	}
}

// ready waits for the VitessCluster's Ready condition.
func (s *scenario) ready(t *testing.T, ctx context.Context) {
	start := time.Now()
	last := ""
	for {
		vc, err := s.vcs.Get(ctx, Cluster, metav1.GetOptions{})
		if err == nil {
			st, msg := plane.Condition(vc, "Ready")
			if st == "True" {
				t.Logf("the cluster is Ready (%s after its primaries)", time.Since(start).Round(time.Second))
				return
			}
			if msg != last {
				t.Logf("%s: %s", time.Since(start).Round(time.Second), msg)
				last = msg
			}
		}
		if time.Since(start) > 5*time.Minute {
			t.Fatalf("the cluster is not Ready: %s\n%s", last, s.pods(ctx))
		}
		time.Sleep(2 * time.Second)
	}
}

// servingPrimaries lists, from SHOW VITESS_TABLETS, the shards whose
// primary serves.
func servingPrimaries(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, "SHOW VITESS_TABLETS")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
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
		if row["keyspace"] == Keyspace && row["tablettype"] == "PRIMARY" && row["state"] == "SERVING" {
			out = append(out, row["shard"])
		}
	}
	return out, rows.Err()
}

// sql applies a VSchema with a hash vindex, creates a table, writes 1,000
// rows through both cells' vtgates (zone2 holds no tablet of the keyspace)
// and reads them back; both shards hold rows, each where the hash says.
func (s *scenario) sql(t *testing.T, ctx context.Context) {
	vschema := `{"sharded": true, "vindexes": {"hash": {"type": "hash"}}, "tables": {"t": {"column_vindexes": [{"column": "id", "name": "hash"}]}}}`
	if out, err := s.vtctld.Run(ctx, "ApplyVSchema", "--vschema="+vschema, Keyspace); err != nil {
		t.Fatalf("ApplyVSchema: %v %s", err, out)
	}
	if _, err := s.gates["zone1"].ExecContext(ctx, "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, v VARCHAR(64))"); err != nil {
		t.Fatalf("CREATE TABLE: %v", err)
	}
	for id := int64(1); id <= 1000; id++ {
		cell := []string{"zone1", "zone2"}[id%2]
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
		ids, err := shardIDs(ctx, s.gates["zone1"], sh)
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
	// vtgate authenticates: a wrong password is refused.
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

// shardIDs reads the ids one shard holds, addressing it directly.
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

// rollout changes the tablets' Pod template (an extra vttablet flag) while
// a writer inserts through vtgate, and lets vtmeta roll it out: afterwards
// every acknowledged row is there, each tablet runs on the claim it had,
// and each old Pod's preStop said what it did.
func (s *scenario) rollout(t *testing.T, ctx context.Context) {
	claims := s.claimUIDs(t, ctx)
	pods := s.podUIDs(t, ctx)
	logs := s.follow(ctx)
	fixer := s.writable(ctx, t)
	defer fixer()
	w := StartWriter(s.gates["zone1"], 1_000_000)
	time.Sleep(3 * time.Second)
	s.edit(t, ctx, func(spec map[string]any) {
		ks := spec["keyspaces"].([]any)[0].(map[string]any)
		ks["tablets"].(map[string]any)["defaults"].(map[string]any)["vttablet"] = map[string]any{"extraFlags": map[string]any{"queryserver-config-pool-size": "24"}}
	})
	s.waitServing(t, ctx)
	time.Sleep(3 * time.Second)
	s.check(t, ctx, w.Stop(), 1_000_000)
	for name, uid := range s.podUIDs(t, ctx) {
		if pods[name] == uid {
			t.Errorf("Pod %s was not replaced by the rollout", name)
		}
	}
	if now := s.claimUIDs(t, ctx); fmt.Sprint(now) != fmt.Sprint(claims) {
		t.Errorf("claims changed: %v, were %v", now, claims)
	}
	for _, tb := range s.tablets {
		got := logs.lines(tb.Pod)
		if !strings.Contains(got, "preStop "+tb.Alias+": primary of "+Keyspace+"/"+tb.Shard+": PlannedReparentShard --avoid-primary="+tb.Alias) ||
			!strings.Contains(got, "preStop "+tb.Alias+": planned reparent failed, stopping anyway:") {
			t.Errorf("the preStop of %s did not say what it did; its vttablet said:\n%s", tb.Pod, got)
		}
	}
}

// lost deletes a tablet Pod with no grace at all: it comes back on the same
// claim with its rows, and its shard serves again.
func (s *scenario) lost(t *testing.T, ctx context.Context) {
	tb := s.tablets[0]
	claims := s.claimUIDs(t, ctx)
	fixer := s.writable(ctx, t)
	defer fixer()
	w := StartWriter(s.gates["zone1"], 3_000_000)
	time.Sleep(3 * time.Second)
	zero := int64(0)
	if err := s.c.CoreV1().Pods(Namespace).Delete(ctx, tb.Pod, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second)
	s.waitServing(t, ctx)
	time.Sleep(3 * time.Second)
	s.check(t, ctx, w.Stop(), 3_000_000)
	if now := s.claimUIDs(t, ctx); now[tb.Pod] != claims[tb.Pod] {
		t.Errorf("the tablet came back on another claim: %s, was %s", now[tb.Pod], claims[tb.Pod])
	}
	var n int
	if err := s.gates["zone2"].QueryRowContext(ctx, "SELECT COUNT(*) FROM t WHERE id <= 1000").Scan(&n); err != nil || n != 1000 {
		t.Errorf("after the lost Pod, %d of the first 1000 rows (%v)", n, err)
	}
}

// preStop deletes a primary tablet's Pod as a drain would (with its grace
// period): the hook runs against the real vtctld, parses, finds no other
// candidate (one tablet per shard here), says so in the container's log
// and does not hold the Pod past its bound.
func (s *scenario) preStop(t *testing.T, ctx context.Context) {
	tb := s.tablets[1]
	logs := s.follow(ctx)
	fixer := s.writable(ctx, t)
	defer fixer()
	old, err := s.c.CoreV1().Pods(Namespace).Get(ctx, tb.Pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := s.c.CoreV1().Pods(Namespace).Delete(ctx, tb.Pod, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for {
		p, err := s.c.CoreV1().Pods(Namespace).Get(ctx, tb.Pod, metav1.GetOptions{})
		if err != nil || p.UID != old.UID {
			break
		}
		if time.Since(start) > 3*time.Minute {
			t.Fatalf("the Pod is still stopping after 3 minutes")
		}
		time.Sleep(200 * time.Millisecond)
	}
	took := time.Since(start)
	t.Logf("the primary's Pod stopped %s after its deletion (the reparent is bounded to 60s)", took.Round(100*time.Millisecond))
	if took > 90*time.Second {
		t.Errorf("the Pod took %s to stop: the hook must not hold it past its bound", took)
	}
	time.Sleep(2 * time.Second)
	got := logs.lines(tb.Pod)
	for _, want := range []string{
		"preStop " + tb.Alias + ": primary of " + Keyspace + "/" + tb.Shard + ": PlannedReparentShard --avoid-primary=" + tb.Alias,
		"preStop " + tb.Alias + ": planned reparent failed, stopping anyway:",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the vttablet log lacks %q:\n%s", want, got)
		}
	}
	events, _ := s.c.CoreV1().Events(Namespace).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.uid=" + string(old.UID)})
	for _, ev := range events.Items {
		if ev.Reason == "FailedPreStopHook" {
			t.Logf("event %s: %s", ev.Reason, ev.Message)
		}
	}
	s.waitServing(t, ctx)
}

// check reads what a load left and reports it, one line per shard saying
// what was acknowledged and what was lost; nothing acknowledged may be.
func (s *scenario) check(t *testing.T, ctx context.Context, writes []Write, from int64) {
	present, err := Present(ctx, s.gates["zone1"], from)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Report(writes, present) {
		t.Log(r)
		fmt.Println(r)
		if len(r.Lost) > 0 {
			t.Errorf("shard %s lost %d acknowledged writes: %v", r.Shard, len(r.Lost), r.Lost[:min(len(r.Lost), 10)])
		}
		if r.Acknowledged == 0 {
			t.Errorf("shard %s acknowledged no write", r.Shard)
		}
	}
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
		if time.Since(start) > 15*time.Minute {
			t.Fatalf("the edit did not roll out in 15 minutes: %s\n%s", last, s.pods(ctx))
		}
		time.Sleep(time.Second)
	}
}

// waitServing waits until vtgate sees every shard's primary serving.
func (s *scenario) waitServing(t *testing.T, ctx context.Context) {
	if err := retry(ctx, 5*time.Minute, func() error {
		serving, err := servingPrimaries(ctx, s.gates["zone1"])
		if err == nil && len(serving) != len(Shards) {
			err = fmt.Errorf("serving primaries in %v only", serving)
		}
		return err
	}); err != nil {
		t.Fatalf("%v\n%s", err, s.pods(ctx))
	}
}

// writable is the MariaDB step: a restarted primary comes back read-only
// and Vitess cannot make a MariaDB writable, so while a tablet Pod runs but
// is not Ready, turn read_only off through its mysqld socket. It runs until
// the returned function is called.
func (s *scenario) writable(ctx context.Context, t *testing.T) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			for _, tb := range s.tablets {
				p, err := s.c.CoreV1().Pods(Namespace).Get(ctx, tb.Pod, metav1.GetOptions{})
				if err != nil || p.DeletionTimestamp != nil || podReady(p) || !running(p, "mysqld") {
					continue
				}
				out, err := s.e.Kubectl(ctx, "exec", tb.Pod, "-c", "mysqld", "--", "mysql", "-u", "vt_dba", "-p"+DBAPassword,
					"-S", tb.Socket(), "-e", "SET GLOBAL read_only = OFF")
				if err == nil {
					t.Logf("MariaDB step: read_only off on %s", tb.Alias)
				} else if !strings.Contains(out, "Can't connect") {
					t.Logf("MariaDB step on %s: %v %s", tb.Alias, err, strings.TrimSpace(out))
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(2 * time.Second):
			}
		}
	}()
	return func() { cancel(); <-done }
}

// logFollower keeps the vttablet container's log lines of every tablet Pod
// from when it was asked, across the Pods' replacements.
type logFollower struct {
	mu  sync.Mutex
	got map[string][]string // by Pod name
}

func (l *logFollower) lines(pod string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.got[pod], "\n")
}

// follow streams the vttablet logs of the current tablet Pods until their
// containers end (the preStop writes to the container's log).
func (s *scenario) follow(ctx context.Context) *logFollower {
	l := &logFollower{got: map[string][]string{}}
	for _, tb := range s.tablets {
		since := metav1.NewTime(time.Now().Add(-time.Second))
		r, err := s.c.CoreV1().Pods(Namespace).GetLogs(tb.Pod, &corev1.PodLogOptions{Container: "vttablet", Follow: true, SinceTime: &since}).Stream(ctx)
		if err != nil {
			continue
		}
		go func() {
			defer r.Close()
			sc := bufio.NewScanner(r)
			sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
			for sc.Scan() {
				if strings.Contains(sc.Text(), "preStop") {
					l.mu.Lock()
					l.got[tb.Pod] = append(l.got[tb.Pod], sc.Text())
					l.mu.Unlock()
				}
			}
		}()
	}
	return l
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
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Second)
	}
}

// keepLogs copies the plane's and node's logs to VTMETA_E2E_LOGS when the
// test failed.
func keepLogs(t *testing.T, dir string) {
	dst := os.Getenv("VTMETA_E2E_LOGS")
	if dst == "" || !t.Failed() {
		return
	}
	if err := os.CopyFS(dst, os.DirFS(dir)); err != nil {
		t.Logf("keep logs: %v", err)
	} else {
		t.Logf("logs kept in %s", dst)
	}
}
