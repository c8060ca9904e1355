//go:build linux

package vitess

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/vtmeta/vtmeta/internal/spec"
	"github.com/vtmeta/vtmeta/test/e2e/realnode/images"
)

// Goals for the longest gap between acknowledged writes of a shard: a
// planned reparent (the rollout, the drain) and a failover.
const (
	plannedGap  = 5 * time.Second
	failoverGap = 30 * time.Second
)

// rollout gives the tablets new images (the same content under new tags,
// as a user pushing a new build would) while a writer inserts through
// vtgate, and lets vtmeta replace every tablet Pod, one at a time: every
// acknowledged row is there afterwards, each primary moved by a planned
// reparent from its preStop before its Pod stopped, vtorc ran no emergency
// reparent, the cluster stayed Available, and every tablet runs on the
// claim it had.
func (s *scenario) rollout(t *testing.T, ctx context.Context) {
	vttablet, mysqld := images.Vitess+"-rollout", images.MySQL+"-rollout"
	for src, dst := range map[string]string{images.Vitess: vttablet, images.MySQL: mysqld} {
		if err := s.node.Tag(src, dst); err != nil {
			t.Fatal(err)
		}
	}
	claims := s.claimUIDs(t, ctx)
	pods := s.podUIDs(t, ctx)
	before, err := s.recoveries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	g := s.guard(ctx)
	available := s.availability(ctx)
	l := s.startLoad()
	s.edit(t, ctx, func(spec map[string]any) {
		imgs := spec["images"].(map[string]any)
		imgs["vttablet"], imgs["mysqld"] = vttablet, mysqld
	})
	samples, unavailable, first := available()
	s.waitServing(t, ctx)
	s.finish(t, ctx, l, plannedGap)
	g.check(t, len(Shards), true)
	s.emergencies(t, ctx, "rollout", before, true)
	line := fmt.Sprintf("rollout: the cluster was Available in %d of %d samples (one a second)", samples-unavailable, samples)
	t.Log(line)
	fmt.Println(line)
	if unavailable > 0 {
		t.Errorf("the cluster was not Available during the rollout: first %s", first)
	}
	for name, uid := range s.podUIDs(t, ctx) {
		if pods[name] == uid {
			t.Errorf("Pod %s was not replaced by the rollout", name)
		}
	}
	for _, tb := range s.tablets {
		p, err := s.c.CoreV1().Pods(Namespace).Get(ctx, tb.Pod, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range p.Spec.Containers {
			if want := map[string]string{"vttablet": vttablet, "mysqld": mysqld}[c.Name]; c.Image != want {
				t.Errorf("Pod %s: container %s runs %s, want %s", tb.Pod, c.Name, c.Image, want)
			}
		}
	}
	if now := s.claimUIDs(t, ctx); fmt.Sprint(now) != fmt.Sprint(claims) {
		t.Errorf("claims changed: %v, were %v", now, claims)
	}
}

// emergencies prints the recoveries vtorc ran since before, and the
// emergency reparents among them; none is what a planned step wants.
func (s *scenario) emergencies(t *testing.T, ctx context.Context, step string, before Recoveries, wantNone bool) Recoveries {
	t.Helper()
	after, err := s.recoveries(ctx)
	if err != nil {
		t.Error(err)
		return nil
	}
	d := after.Since(before)
	line := fmt.Sprintf("%s: vtorc's recoveries: %s; emergency reparents: %d", step, d, d.Emergency())
	t.Log(line)
	fmt.Println(line)
	if wantNone && d.Emergency() != 0 {
		t.Errorf("%s: vtorc ran %d emergency reparents, want none", step, d.Emergency())
	}
	return d
}

// crash kills a primary as a machine failure would: its containers get
// SIGKILL (no preStop, no clean shutdown) and its Pod is deleted with no
// grace. vtorc elects a replica; semi-sync keeps every acknowledged write;
// the lost tablet comes back on its claim as a replica.
func (s *scenario) crash(t *testing.T, ctx context.Context) {
	shard := Shards[0]
	old, err := s.vtctld.ShardPrimary(ctx, shard)
	if err != nil || old == "" {
		t.Fatalf("shard %s: primary %q (%v)", shard, old, err)
	}
	tb := s.tablet(old)
	claims := s.claimUIDs(t, ctx)
	before, err := s.recoveries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l := s.startLoad()
	p, err := s.c.CoreV1().Pods(Namespace).Get(ctx, tb.Pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range p.Status.ContainerStatuses {
		if err := s.node.Kill(c.ContainerID); err != nil {
			t.Fatalf("kill %s of %s: %v", c.Name, tb.Pod, err)
		}
	}
	crashed := time.Now()
	zero := int64(0)
	if err := s.c.CoreV1().Pods(Namespace).Delete(ctx, tb.Pod, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	var now string
	if err := retry(ctx, 5*time.Minute, func() error {
		now, err = s.vtctld.ShardPrimary(ctx, shard)
		if err == nil && (now == "" || now == old || !s.vtctld.IsPrimary(ctx, now)) {
			err = fmt.Errorf("the shard record names %q", now)
		}
		return err
	}); err != nil {
		t.Fatalf("shard %s: no new primary after %s was killed: %v\n%s", shard, old, err, s.pods(ctx))
	}
	elected := time.Since(crashed)
	line := fmt.Sprintf("crash: the primary %s of %s was killed; %s became its primary %s later", old, shard, now, elected.Round(100*time.Millisecond))
	t.Log(line)
	fmt.Println(line)
	if typ := s.tablet(now).Type; typ != spec.TypeReplica {
		t.Errorf("the new primary %s is of the %s pool, want a primary-eligible replica", now, typ)
	}
	rebuilt := s.rejoin(t, ctx, tb)
	s.waitServing(t, ctx)
	s.ready(t, ctx, 10*time.Minute)
	s.finish(t, ctx, l, failoverGap)
	if d := s.emergencies(t, ctx, "crash", before, false); d != nil && d.Emergency() == 0 {
		t.Errorf("crash: vtorc's counters show no emergency reparent, yet the primary moved from %s to %s", old, now)
	}
	if now := s.claimUIDs(t, ctx); !rebuilt && now[tb.Pod] != claims[tb.Pod] {
		t.Errorf("the crashed tablet came back on another claim: %s, was %s", now[tb.Pod], claims[tb.Pod])
	}
}

// errantGTID is what vttablet says when its mysqld holds a transaction the
// shard's primary does not have.
const errantGTID = "Errant GTID detected"

// rejoin waits for a crashed primary's tablet to serve again as a replica
// on its claim. A primary killed between writing a transaction to its
// binlog and a replica's acknowledgement comes back with that transaction,
// which no client was told had committed and the new primary does not
// have: vttablet refuses to replicate (an errant GTID). The remedy the
// docs give (troubleshooting.md) is to rebuild the tablet: delete its
// claim and Pod; it comes back on a new volume from the latest backup.
// rejoin does that when vttablet says so, and says whether it did.
func (s *scenario) rejoin(t *testing.T, ctx context.Context, tb Tablet) bool {
	t.Helper()
	errant := false
	if err := retry(ctx, 5*time.Minute, func() error {
		p, err := s.c.CoreV1().Pods(Namespace).Get(ctx, tb.Pod, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if podReady(p) {
			return nil
		}
		logs, err := s.c.CoreV1().Pods(Namespace).GetLogs(tb.Pod, &corev1.PodLogOptions{Container: "vttablet"}).DoRaw(ctx)
		if err == nil && strings.Contains(string(logs), errantGTID) {
			errant = true
			return backoff(errors.New(errantGTID))
		}
		return fmt.Errorf("%s is not Ready yet", tb.Pod)
	}); err != nil && !errant {
		t.Fatalf("the crashed tablet %s did not come back: %v\n%s", tb.Alias, err, s.pods(ctx))
	}
	if !errant {
		return false
	}
	line := fmt.Sprintf("crash: %s came back with an errant GTID (a transaction in its binlog no replica acknowledged and no client saw commit); rebuilding it from the latest backup: its claim and Pod deleted", tb.Alias)
	t.Log(line)
	fmt.Println(line)
	start := time.Now()
	s.rebuild(t, ctx, tb)
	line = fmt.Sprintf("crash: %s rebuilt and serving %s later", tb.Alias, time.Since(start).Round(time.Second))
	t.Log(line)
	fmt.Println(line)
	return true
}

// rebuild deletes a tablet's claim and Pod, as losing a node's disk would,
// and waits until the tablet serves again: a new claim Bound to a new
// volume, a new Pod Ready. It returns the old volume's name and the new's.
func (s *scenario) rebuild(t *testing.T, ctx context.Context, tb Tablet) (was, now string) {
	t.Helper()
	claims, pods := s.c.CoreV1().PersistentVolumeClaims(Namespace), s.c.CoreV1().Pods(Namespace)
	claim, err := claims.Get(ctx, tb.Pod, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("rebuild %s: %v", tb.Alias, err)
	}
	pod, err := pods.Get(ctx, tb.Pod, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("rebuild %s: %v", tb.Alias, err)
	}
	if err := claims.Delete(ctx, tb.Pod, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("rebuild %s: %v", tb.Alias, err)
	}
	if err := pods.Delete(ctx, tb.Pod, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("rebuild %s: %v", tb.Alias, err)
	}
	var fresh *corev1.PersistentVolumeClaim
	if err := retry(ctx, 10*time.Minute, func() error {
		c, err := claims.Get(ctx, tb.Pod, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if c.UID == claim.UID || c.Status.Phase != corev1.ClaimBound {
			return fmt.Errorf("claim %s: %s, %s", tb.Pod, c.UID, c.Status.Phase)
		}
		p, err := pods.Get(ctx, tb.Pod, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if p.UID == pod.UID || !podReady(p) {
			return errors.New("the tablet's new Pod is not Ready yet")
		}
		fresh = c
		return nil
	}); err != nil {
		t.Fatalf("rebuild %s: %v\n%s", tb.Alias, err, s.pods(ctx))
	}
	if fresh.Spec.VolumeName == claim.Spec.VolumeName {
		t.Errorf("rebuild %s: the new claim is bound to the old volume %s", tb.Alias, fresh.Spec.VolumeName)
	}
	return claim.Spec.VolumeName, fresh.Spec.VolumeName
}

// drain evicts every tablet Pod of one shard, in both cells, through the
// Eviction API as kubectl drain does (each Pod's eviction retried every 5
// seconds while its budget refuses it, then waited out): the budgets hold,
// the primary moves by planned reparent before its Pod stops, and nothing
// acknowledged is lost.
func (s *scenario) drain(t *testing.T, ctx context.Context) {
	shard := Shards[1]
	before, err := s.recoveries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	g := s.guard(ctx)
	down := s.watchDown(ctx, shard)
	l := s.startLoad()
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	refused := 0
	var errs []error
	for _, tb := range s.tablets {
		if tb.Shard != shard {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := s.evict(ctx, tb.Pod, 15*time.Minute)
			mu.Lock()
			defer mu.Unlock()
			refused += n
			if err != nil {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	drained := time.Since(start)
	for _, err := range errs {
		t.Error(err)
	}
	s.ready(t, ctx, 10*time.Minute)
	s.waitServing(t, ctx)
	down.stop()
	s.finish(t, ctx, l, plannedGap)
	// The shard's budget spans its cells: one of its tablets is down at a
	// time, so every primary the drain evicts has replicas to move to, and
	// moves by a planned reparent before its Pod stops.
	g.check(t, 1, true)
	s.emergencies(t, ctx, "drain", before, true)
	down.mu.Lock()
	defer down.mu.Unlock()
	line := fmt.Sprintf("drain: %s's tablet Pods evicted in %s, %d evictions refused by the budgets on the way; most down at once: %v per cell, %d in all",
		shard, drained.Round(time.Second), refused, down.perCell, down.total)
	t.Log(line)
	fmt.Println(line)
	if down.total > 1 {
		t.Errorf("drain: %d of %s's tablet Pods were down at once (%v per cell); the shard's budget allows one", down.total, shard, down.perCell)
	}
	if refused == 0 {
		t.Errorf("drain: the budgets refused no eviction: they did not hold the drain back")
	}
}

// evict evicts a Pod as kubectl drain does: an eviction the budget
// refuses (429) is asked again every 5 seconds; once granted, it waits
// until the Pod is gone. It returns how many times the budget refused.
func (s *scenario) evict(ctx context.Context, name string, within time.Duration) (int, error) {
	p, err := s.c.CoreV1().Pods(Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return 0, err
	}
	uid := p.UID
	deadline := time.Now().Add(within)
	refused := 0
	for {
		err := s.c.PolicyV1().Evictions(Namespace).Evict(ctx, &policyv1.Eviction{
			ObjectMeta:    metav1.ObjectMeta{Name: name, Namespace: Namespace},
			DeleteOptions: &metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}},
		})
		switch {
		case err == nil, apierrors.IsNotFound(err), apierrors.IsConflict(err):
			return refused, s.gone(ctx, name, uid, deadline)
		case apierrors.IsTooManyRequests(err):
			refused++
		default:
			return refused, fmt.Errorf("evict %s: %w", name, err)
		}
		if time.Now().After(deadline) {
			return refused, fmt.Errorf("evict %s: still refused after %s: %w", name, within, err)
		}
		time.Sleep(5 * time.Second)
	}
}

// gone waits until the Pod of that UID is no more.
func (s *scenario) gone(ctx context.Context, name string, uid types.UID, deadline time.Time) error {
	for {
		p, err := s.c.CoreV1().Pods(Namespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) || (err == nil && p.UID != uid) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pod %s: still there (%v)", name, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// lostVolume deletes a replica's claim and Pod, as losing a node's disk
// would: the tablet comes back on a new, empty volume, restores the latest
// backup, catches up from the primary, and serves with every row of its
// shard.
func (s *scenario) lostVolume(t *testing.T, ctx context.Context) {
	shard := Shards[0]
	primary, err := s.vtctld.ShardPrimary(ctx, shard)
	if err != nil {
		t.Fatal(err)
	}
	var tb Tablet
	for _, cell := range []string{Cells[1], Cells[0]} {
		for _, x := range s.tablets {
			if tb.Pod == "" && x.Cell == cell && x.Shard == shard && x.Type == spec.TypeReplica && x.Alias != primary {
				tb = x
			}
		}
	}
	l := s.startLoad()
	start := time.Now()
	was, now := s.rebuild(t, ctx, tb)
	back := time.Since(start)
	s.ready(t, ctx, 10*time.Minute)
	s.finish(t, ctx, l, plannedGap)

	count := "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM vt_" + Keyspace + ".t"
	want, err := s.mysql(ctx, s.tablet(primary), count)
	if err != nil {
		t.Fatal(err)
	}
	// The latest backup can be many writes behind (the schedule is daily
	// after step 4): catching up on this machine takes minutes.
	var got string
	caughtUp := time.Now()
	if err := retry(ctx, 8*time.Minute, func() error {
		got, err = s.mysql(ctx, tb, count)
		if err == nil && got != want {
			err = fmt.Errorf("%s has %q (rows, highest id), the primary %q", tb.Alias, got, want)
		}
		return err
	}); err != nil {
		t.Error(err)
	}
	behind := time.Since(caughtUp).Round(time.Second)
	p, err := s.c.CoreV1().Pods(Namespace).Get(ctx, tb.Pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	restored, err := restoredBackupTime(ctx, p)
	if err != nil || restored == "" {
		t.Errorf("%s restored no backup (%q, %v): it should have, its volume being empty", tb.Alias, restored, err)
	}
	serving := false
	if err := retry(ctx, time.Minute, func() error {
		rows, err := vitessTablets(ctx, s.gates["zone1"])
		for _, r := range rows {
			serving = serving || (r["alias"] == tb.Alias && r["tablettype"] == "REPLICA" && r["state"] == "SERVING")
		}
		if err == nil && !serving {
			err = errors.New("not a serving replica in SHOW VITESS_TABLETS")
		}
		return err
	}); err != nil {
		t.Errorf("%s: %v", tb.Alias, err)
	}
	line := fmt.Sprintf("lost volume: %s came back %s later on a new volume (%s, was %s), restored the backup of %s, caught up with the primary %s (rows, highest id: %s) %s after the load stopped, serving: %v",
		tb.Alias, back.Round(time.Second), now, was, restored, primary, strings.ReplaceAll(got, "\t", ", "), behind, serving)
	t.Log(line)
	fmt.Println(line)
}
