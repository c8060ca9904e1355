package layer

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"

	"github.com/vtmeta/vtmeta/internal/conditions"
	"github.com/vtmeta/vtmeta/internal/golden"
	"github.com/vtmeta/vtmeta/internal/hookctx"
	"github.com/vtmeta/vtmeta/internal/rollout"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// TestRenderedFlagsAreVitessFlags checks every flag the golden responses
// give a Vitess binary — vttablet's through the tablets' specs, and
// vtbackup's in the backup Jobs of every storage kind — against that
// binary's own flag list.
func TestRenderedFlagsAreVitessFlags(t *testing.T) {
	seen := golden.VitessFlagsIn(t, "testdata")
	for _, want := range []string{"vtbackup --initial-backup", "vtbackup --allow-first-backup", "vtbackup --s3-backup-force-path-style",
		"vtbackup --gcs-backup-storage-bucket", "vtbackup --azblob-backup-account-key-file", "vtbackup --file-backup-storage-root",
		"vtbackup --min-retention-time", "vtbackup --backup-engine-implementation"} {
		if !seen[want] {
			t.Errorf("no golden response renders %s", want)
		}
	}
}

// jobs decodes the Jobs and CronJobs of a response.
func jobs(t *testing.T, resp *v1.ShardSyncResponse) (seed *batchv1.Job, crons map[string]*batchv1.CronJob) {
	t.Helper()
	crons = map[string]*batchv1.CronJob{}
	for _, c := range resp.GetChildren() {
		s := string(c.GetJson())
		switch {
		case strings.Contains(s, `"kind":"CronJob"`):
			var cj batchv1.CronJob
			if err := json.Unmarshal(c.GetJson(), &cj); err != nil {
				t.Fatal(err)
			}
			crons[cj.Name] = &cj
		case strings.Contains(s, `"kind":"Job"`):
			seed = &batchv1.Job{}
			if err := json.Unmarshal(c.GetJson(), seed); err != nil {
				t.Fatal(err)
			}
		}
	}
	return seed, crons
}

// TestBackupsOfAShard: a new shard gets its seed Job and a CronJob per
// schedule that covers it; the seed Job is kept as it ran; a shard made
// before backups were set gets no seed (its schedules take its first
// backup); BackedUp follows the CronJobs' last success.
func TestBackupsOfAShard(t *testing.T) {
	req := load(t, "backup-volume")
	l := golden.NewLoop(t, req, Sync)
	seed, crons := jobs(t, l.Sync())
	if seed == nil || !strings.Contains(strings.Join(seed.Spec.Template.Spec.Containers[0].Args, " "), "--initial-backup") {
		t.Fatalf("a new shard has no seed Job taking an initial backup: %v", seed)
	}
	if len(crons) != 2 {
		t.Fatalf("%d CronJobs, want the hourly and daily schedules'", len(crons))
	}
	for _, cj := range crons {
		args := strings.Join(cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Args, " ")
		for _, want := range []string{"--allow-first-backup", "--init-keyspace=main", "--init-shard=-80", "--min-retention-count=3", "--min-retention-time=168h", "--file-backup-storage-root=/vt/backups"} {
			if !strings.Contains(args, want) {
				t.Errorf("CronJob %s lacks %s: %s", cj.Name, want, args)
			}
		}
		if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent || *cj.Spec.TimeZone != "Etc/UTC" {
			t.Errorf("CronJob %s: %+v", cj.Name, cj.Spec)
		}
	}
	l.Apply()
	l.API.ReadyAll()
	// The seed Job exists: it is sent back exactly as it was applied, even
	// once the spec would render it otherwise.
	record := l.API.Raw("Job", seed.Name)
	req.Parent.Spec.Tablets.Replica.Mysql = &v1.ContainerSpec{Image: "registry.example.com/mysql:9.7"}
	for _, c := range l.Sync().GetChildren() {
		if strings.Contains(string(c.GetJson()), `"kind":"Job"`) && string(c.GetJson()) != record {
			t.Errorf("the seed Job was rebuilt:\n%s\nwas\n%s", c.GetJson(), record)
		}
	}
	// A shard whose tablets exist and has no seed Job gets none.
	old := load(t, "backup-volume")
	old.Children = l.API.Children()
	delete(old.Children["Job.batch/v1"].Objects, "default/"+seed.Name)
	if s, _ := jobs(t, mustSync(t, old)); s != nil {
		t.Error("a shard made before backups were set got a seed Job")
	}

	// BackedUp: the CronJobs' last success against the hourly schedule.
	now := golden.Now
	backedUp := func(last time.Time) *v1.Condition {
		for _, o := range l.API.Children()["CronJob.batch/v1"].GetObjects() {
			if strings.HasSuffix(o.GetMetadata().GetName(), "hourly") {
				o.Status.LastSuccessfulTime = last.Format(time.RFC3339)
			}
		}
		req.Children = l.API.Children()
		resp, err := Sync(hookctx.WithNow(golden.Context(), now), req)
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.GetStatus().GetLastBackupTime(); !last.IsZero() && got != last.UTC().Format(time.RFC3339) {
			t.Errorf("lastBackupTime %q, want %s", got, last)
		}
		return conditions.Find(resp.GetStatus().GetConditions(), rollout.BackedUp)
	}
	if c := backedUp(now.Add(-30 * time.Minute)); c.GetStatus() != conditions.True {
		t.Errorf("a backup 30 minutes old under an hourly schedule: %v", c)
	}
	if c := backedUp(now.Add(-3 * time.Hour)); c.GetStatus() != conditions.False || c.GetReason() != "Overdue" {
		t.Errorf("a backup 3 hours old under an hourly schedule: %v", c)
	}
}

// TestOnlyTheShardThatRunsBackupsHasJobs: the VitessShards of other cells,
// and a cluster without storage, run no backup Job; a schedule of another
// keyspace or shard does not cover this one.
func TestOnlyTheShardThatRunsBackupsHasJobs(t *testing.T) {
	req := load(t, "backup-volume")
	req.Parent.Spec.RunsBackups = false
	if seed, crons := jobs(t, mustSync(t, req)); seed != nil || len(crons) > 0 {
		t.Error("a shard of another cell runs backup Jobs")
	}
	req = load(t, "backup-s3")
	req.Parent.Spec.ClusterConfig.Backup.Schedules[0].Shard = "80-"
	if _, crons := jobs(t, mustSync(t, req)); len(crons) > 0 {
		t.Error("a schedule of shard 80- covers -80")
	}
}
