//go:build linux

package vitess

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/vtmeta/vtmeta/internal/spec"
	"github.com/vtmeta/vtmeta/test/e2e/plane"
)

// The schedule the backup step adds, and the one it leaves: daily at
// 03:00 UTC (the layers refuse a schedule that runs at most once a year), so the
// CronJob stays, for the final backup, without loading the rest of the
// scenario.
const (
	scheduleName  = "often"
	everyMinute   = "* * * * *"
	daily         = "0 3 * * *"
	backupsWanted = 1
)

// shardOfLabel is a shard's name as Vitess spells it, from the spelling of
// object names and labels (x for an open end).
func shardOfLabel(l string) string {
	return strings.ReplaceAll(l, "x", "")
}

// cronJobs are the scenario cluster's backup CronJobs, by shard.
func (s *scenario) cronJobs(ctx context.Context) (map[string]batchv1.CronJob, error) {
	return s.cronJobsOf(ctx, Cluster)
}

// cronJobsOf are a cluster's backup CronJobs, by shard.
func (s *scenario) cronJobsOf(ctx context.Context, cluster string) (map[string]batchv1.CronJob, error) {
	list, err := s.c.BatchV1().CronJobs(Namespace).List(ctx, metav1.ListOptions{LabelSelector: "vitess.io/cluster=" + cluster + ",vitess.io/component=vtbackup"})
	if err != nil {
		return nil, err
	}
	out := map[string]batchv1.CronJob{}
	for _, cj := range list.Items {
		out[shardOfLabel(cj.Labels["vitess.io/shard"])] = cj
	}
	return out, nil
}

// jobsOf are the succeeded Jobs a CronJob ran, oldest first.
func (s *scenario) jobsOf(ctx context.Context, cronJob string) ([]batchv1.Job, error) {
	list, err := s.c.BatchV1().Jobs(Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []batchv1.Job
	for _, j := range list.Items {
		for _, o := range j.OwnerReferences {
			if o.Kind == "CronJob" && o.Name == cronJob && j.Status.Succeeded > 0 {
				out = append(out, j)
			}
		}
	}
	slices.SortFunc(out, func(a, b batchv1.Job) int { return a.CreationTimestamp.Compare(b.CreationTimestamp.Time) })
	return out, nil
}

// backupNames lists a shard's complete backups, as vtctld reads them from
// the storage.
func backupNames(ctx context.Context, v *Vtctld, shard string) ([]string, error) {
	out, err := v.Run(ctx, "GetBackups", Keyspace+"/"+shard)
	if err != nil {
		return nil, fmt.Errorf("GetBackups %s/%s: %w: %s", Keyspace, shard, err, out)
	}
	var names []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			names = append(names, l)
		}
	}
	return names, nil
}

// backupBytes is the size of each of a shard's backups on the node, from
// the backup claim's volume (Vitess file storage keeps a backup under
// <root>/<keyspace>/<shard>/<name>).
func (s *scenario) backupBytes(ctx context.Context, shard string) (map[string]int64, error) {
	base, err := s.backupRoot(ctx)
	if err != nil {
		return nil, err
	}
	root := filepath.Join(base, Keyspace, shard)
	out := map[string]int64{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		name, _, _ := strings.Cut(rel, string(filepath.Separator))
		out[name] += info.Size()
		return nil
	})
	return out, err
}

// setSchedule sets the scenario's one backup schedule and waits for it to
// roll out.
func (s *scenario) setSchedule(t *testing.T, ctx context.Context, cron string) {
	s.edit(t, ctx, func(sp map[string]any) {
		sp["backup"].(map[string]any)["schedules"] = []any{map[string]any{"name": scheduleName, "schedule": cron}}
	})
}

// backups: a schedule of a backup a minute, under write load, has vtbackup
// take backups of every shard without taking a serving tablet out; the
// writes keep every acknowledged row; GetBackups lists the backups and the
// retention (one kept, older than a minute pruned) has pruned the shard's seed;
// the cluster reports itself backed up.
func (s *scenario) backups(t *testing.T, ctx context.Context) {
	seeds := map[string][]string{}
	for _, sh := range Shards {
		names, err := backupNames(ctx, s.vtctld, sh)
		if err != nil {
			t.Fatal(err)
		}
		if len(names) != 1 {
			t.Fatalf("shard %s has backups %q before any schedule, want its seed alone", sh, names)
		}
		seeds[sh] = names
	}
	l := s.startLoad()
	start := time.Now()
	s.setSchedule(t, ctx, everyMinute)
	var cjs map[string]batchv1.CronJob
	if err := retry(ctx, 15*time.Minute, func() error {
		var err error
		if cjs, err = s.cronJobs(ctx); err != nil {
			return err
		}
		for _, sh := range Shards {
			cj, ok := cjs[sh]
			if !ok {
				return fmt.Errorf("shard %s has no backup CronJob", sh)
			}
			jobs, err := s.jobsOf(ctx, cj.Name)
			if err != nil {
				return err
			}
			if len(jobs) < backupsWanted {
				return fmt.Errorf("shard %s: %d scheduled backups succeeded, want %d", sh, len(jobs), backupsWanted)
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, s.pods(ctx))
	}
	took := time.Since(start)
	s.finish(t, ctx, l, plannedGap)
	if err := s.conditionTrue(ctx, Cluster, "BackedUp", 3*time.Minute); err != nil {
		t.Error(err)
	}
	s.setSchedule(t, ctx, daily)
	// No run in flight: retention prunes at a run's end.
	if err := retry(ctx, 10*time.Minute, func() error {
		cjs, err := s.cronJobs(ctx)
		if err != nil {
			return err
		}
		for sh, cj := range cjs {
			if len(cj.Status.Active) > 0 {
				return fmt.Errorf("shard %s: a backup is running", sh)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, sh := range Shards {
		jobs, err := s.jobsOf(ctx, cjs[sh].Name)
		if err != nil {
			t.Fatal(err)
		}
		var durations []string
		for _, j := range jobs {
			if j.Status.StartTime != nil && j.Status.CompletionTime != nil {
				durations = append(durations, j.Status.CompletionTime.Sub(j.Status.StartTime.Time).Round(100*time.Millisecond).String())
			}
		}
		names, err := backupNames(ctx, s.vtctld, sh)
		if err != nil {
			t.Fatal(err)
		}
		if len(names) != backupsWanted || slices.Contains(names, seeds[sh][0]) {
			t.Errorf("shard %s: GetBackups lists %q; want the %d newest, the seed %s pruned by retention", sh, names, backupsWanted, seeds[sh][0])
		}
		sizes, err := s.backupBytes(ctx, sh)
		if err != nil {
			t.Fatal(err)
		}
		var mb []string
		for _, n := range names {
			mb = append(mb, fmt.Sprintf("%.1f MB", float64(sizes[n])/1e6))
			if sizes[n] == 0 {
				t.Errorf("shard %s: backup %s holds no bytes on the volume", sh, n)
			}
		}
		line := fmt.Sprintf("backup: shard %s took %d backups under load in %s (vtbackup Jobs of %s), kept %s (%s), retention pruned the seed %s",
			sh, len(jobs), took.Round(time.Second), strings.Join(durations, ", "), strings.Join(names, ", "), strings.Join(mb, ", "), seeds[sh][0])
		t.Log(line)
		fmt.Println(line)
	}
}

// restoredBackupTime is what a tablet's vttablet says it restored: the
// time of the backup, or "" when it restored none.
func restoredBackupTime(ctx context.Context, pod *corev1.Pod) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s:%d/debug/vars", pod.Status.PodIP, spec.WebPort), nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	var vars struct {
		RestoredBackupTime string `json:"RestoredBackupTime"`
	}
	if err := json.Unmarshal(b, &vars); err != nil {
		return "", fmt.Errorf("%s's /debug/vars: %w", pod.Name, err)
	}
	return vars.RestoredBackupTime, nil
}

// backupNow runs one more backup of every shard of a cluster, now, from
// each shard's CronJob (as kubectl create job --from=cronjob does), as
// Jobs named <prefix>-<shard>, and waits for them.
func (s *scenario) backupNow(t *testing.T, ctx context.Context, cluster, prefix string) {
	cjs, err := s.cronJobsOf(ctx, cluster)
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range Shards {
		cj, ok := cjs[sh]
		if !ok {
			t.Fatalf("shard %s of %s has no backup CronJob", sh, cluster)
		}
		if out, err := s.e.Kubectl(ctx, "create", "job", prefix+"-"+cj.Labels["vitess.io/shard"], "--from=cronjob/"+cj.Name); err != nil {
			t.Fatalf("create the %s backup of %s: %v %s", prefix, sh, err, out)
		}
	}
	if err := retry(ctx, 10*time.Minute, func() error {
		for _, sh := range Shards {
			j, err := s.c.BatchV1().Jobs(Namespace).Get(ctx, prefix+"-"+cjs[sh].Labels["vitess.io/shard"], metav1.GetOptions{})
			if err != nil {
				return err
			}
			if j.Status.Failed > 2 {
				return backoff(fmt.Errorf("the %s backup of %s failed %d times", prefix, sh, j.Status.Failed))
			}
			if j.Status.Succeeded == 0 {
				return fmt.Errorf("the %s backup of %s runs", prefix, sh)
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, s.pods(ctx))
	}
}

// backoff marks an error retrying will not mend.
func backoff(err error) error { return errors.Join(errStop, err) }

// errStop is in an error that stops a retry.
var errStop = errors.New("giving up")

// restore: every row is read (by key) and each shard backed up once more,
// with no write in flight; the cluster is deleted; its backups are copied
// to an S3-compatible server (SeaweedFS, on the host), as a user moving
// them to an object store would; a new cluster on that S3 storage restores
// every shard from its latest backup before it serves (vtbackup's seed
// finds the backups and does nothing; each tablet's vttablet says which
// backup it restored); vtorc elects the primaries; the new cluster holds
// every row, compared by key; and it backs every shard up to S3 from its
// CronJob, which GetBackups then lists.
func (s *scenario) restore(t *testing.T, ctx context.Context) {
	if s.weed == "" {
		t.Fatal("SeaweedFS was not built before the scenario")
	}
	want, err := Present(ctx, s.gates["zone1"], 0)
	if err != nil {
		t.Fatal(err)
	}
	s.backupNow(t, ctx, Cluster, "final")
	latest := map[string]string{}
	for _, sh := range Shards {
		names, err := backupNames(ctx, s.vtctld, sh)
		if err != nil || len(names) == 0 {
			t.Fatalf("shard %s: backups %q (%v)", sh, names, err)
		}
		latest[sh] = names[len(names)-1]
	}
	for _, db := range s.gates {
		db.Close()
	}
	s.gates = map[string]*sql.DB{}
	if err := s.vcs.Delete(ctx, Cluster, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := retry(ctx, 10*time.Minute, func() error {
		pods, err := s.c.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{LabelSelector: "vitess.io/cluster=" + Cluster})
		if err != nil {
			return err
		}
		if n := len(pods.Items); n > 0 {
			return fmt.Errorf("%d Pods of %s remain", n, Cluster)
		}
		return nil
	}); err != nil {
		t.Fatalf("deleting %s: %v\n%s", Cluster, err, s.pods(ctx))
	}
	t.Logf("%s deleted; %d rows acknowledged before its last backups (%v)", Cluster, len(want), latest)
	startS3(t, ctx, s.weed, t.TempDir())
	copyStart := time.Now()
	files, size, err := s.copyBackupsToS3(ctx)
	if err != nil || files == 0 {
		t.Fatalf("copy the backups to S3: %d files (%v)", files, err)
	}
	t.Logf("copied %d files (%.1f MB) of %s's backups to s3://%s/%s on %s in %s", files, float64(size)/1e6, Cluster, S3Bucket, S3Root, S3Endpoint(), time.Since(copyStart).Round(time.Second))
	if _, err := s.c.CoreV1().Secrets(Namespace).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: S3Secret},
		StringData: map[string]string{"AWS_ACCESS_KEY_ID": "vtmeta", "AWS_SECRET_ACCESS_KEY": "vtmeta-s3-secret"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	vc, err := plane.Decode(RestoredManifest(s.etcd))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := s.e.CreateAll(ctx, []*unstructured.Unstructured{vc}); err != nil {
		t.Fatal(err)
	}
	var v *Vtctld
	if err := retry(ctx, 10*time.Minute, func() error {
		var err error
		v, err = NewVtctldOf(ctx, s.c, Restored)
		if err == nil {
			_, err = v.Run(ctx, "GetKeyspaces")
		}
		return err
	}); err != nil {
		t.Fatalf("%s's vtctld: %v\n%s", Restored, err, s.pods(ctx))
	}
	primaries, err := v.Primaries(ctx, 15*time.Minute)
	if err != nil {
		t.Fatalf("%v\n%s", err, s.pods(ctx))
	}
	t.Logf("%s: vtorc elected the primaries %v %s after it was created", Restored, primaries, time.Since(start).Round(time.Second))
	addr, err := GatewayOf(ctx, s.c, Restored, "zone1")
	if err != nil {
		t.Fatal(err)
	}
	db, err := Open(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var got map[int64]bool
	if err := retry(ctx, 5*time.Minute, func() error {
		serving, err := servingPrimaries(ctx, db)
		if err == nil && len(serving) != len(Shards) {
			err = fmt.Errorf("serving primaries in %v only", serving)
		}
		if err == nil {
			got, err = Present(ctx, db, 0)
		}
		return err
	}); err != nil {
		t.Fatalf("%s's vtgate: %v\n%s", Restored, err, s.pods(ctx))
	}
	serving := time.Since(start)
	pods, err := s.c.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{LabelSelector: "vitess.io/cluster=" + Restored + ",vitess.io/component=vttablet"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		when, err := restoredBackupTime(ctx, p)
		if err != nil || when == "" {
			t.Errorf("tablet Pod %s restored no backup (%q, %v)", p.Name, when, err)
		}
	}
	if len(pods.Items) != len(Shards)*2 {
		t.Errorf("%d tablet Pods of %s, want %d", len(pods.Items), Restored, len(Shards)*2)
	}
	for _, sh := range Shards {
		wanted, restored, missing, extra := 0, 0, []int64{}, []int64{}
		for id := range want {
			if ShardOf(id) != sh {
				continue
			}
			wanted++
			if got[id] {
				restored++
			} else {
				missing = append(missing, id)
			}
		}
		for id := range got {
			if ShardOf(id) == sh && !want[id] {
				extra = append(extra, id)
			}
		}
		line := fmt.Sprintf("restore: shard %s restored %d of %d rows from %s; %s serving %s after it was created",
			sh, restored, wanted, latest[sh], Restored, serving.Round(time.Second))
		t.Log(line)
		fmt.Println(line)
		if len(missing) > 0 || len(extra) > 0 || wanted == 0 {
			slices.Sort(missing)
			slices.Sort(extra)
			t.Errorf("shard %s: %d rows missing (%v), %d never written (%v)", sh, len(missing), missing[:min(10, len(missing))], len(extra), extra[:min(10, len(extra))])
		}
	}
	s.vtctld = v
	if err := s.conditionTrue(ctx, Restored, "Ready", 10*time.Minute); err != nil {
		t.Error(err)
	}
	// The write path: each shard backed up to S3 by vtbackup (which
	// restores the latest backup from S3 first), listed by vtctld.
	backupStart := time.Now()
	s.backupNow(t, ctx, Restored, "s3")
	took := time.Since(backupStart).Round(time.Second)
	for _, sh := range Shards {
		names, err := backupNames(ctx, v, sh)
		if err != nil {
			t.Fatal(err)
		}
		if len(names) < 2 || names[len(names)-1] == latest[sh] || !slices.Contains(names, latest[sh]) {
			t.Errorf("shard %s: GetBackups on S3 lists %v; want %s and a newer one", sh, names, latest[sh])
			continue
		}
		newest := names[len(names)-1]
		objs, err := s3Objects(ctx, S3Root+"/"+Keyspace+"/"+sh+"/"+newest+"/")
		if err != nil {
			t.Fatal(err)
		}
		var size int64
		for _, n := range objs {
			size += n
		}
		line := fmt.Sprintf("s3: shard %s backed up to s3://%s/%s/%s/%s/%s (%d objects, %.1f MB) by its CronJob's vtbackup in %s; GetBackups lists %d",
			sh, S3Bucket, S3Root, Keyspace, sh, newest, len(objs), float64(size)/1e6, took, len(names))
		t.Log(line)
		fmt.Println(line)
		if len(objs) == 0 || size == 0 {
			t.Errorf("shard %s: backup %s has no objects in the bucket", sh, newest)
		}
	}
}

// conditionTrue waits until a VitessCluster's condition is True.
func (s *scenario) conditionTrue(ctx context.Context, cluster, cond string, within time.Duration) error {
	return retry(ctx, within, func() error {
		vc, err := s.vcs.Get(ctx, cluster, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if st, msg := plane.Condition(vc, cond); st != "True" {
			return fmt.Errorf("%s's %s condition: %s %s", cluster, cond, st, msg)
		}
		return nil
	})
}
