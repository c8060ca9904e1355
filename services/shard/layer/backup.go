package layer

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vtmeta/vtmeta/internal/backup"
	"github.com/vtmeta/vtmeta/internal/conditions"
	"github.com/vtmeta/vtmeta/internal/dbpod"
	"github.com/vtmeta/vtmeta/internal/kube"
	"github.com/vtmeta/vtmeta/internal/names"
	"github.com/vtmeta/vtmeta/internal/observed"
	"github.com/vtmeta/vtmeta/internal/rollout"
	"github.com/vtmeta/vtmeta/internal/spec"
	"github.com/vtmeta/vtmeta/internal/vtflags"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// A shard's backups are taken by vtbackup, never by a serving tablet: it
// restores the latest backup into a volume of its own, catches up with the
// primary and takes a new backup. One VitessShard of each shard runs them
// (spec.runsBackups, the one in the first cell its keyspace is served in):
//   - a seed Job, once, when the shard is new: an initial backup of the
//     empty shard, which its tablets (waiting for a backup to restore)
//     then restore, so that any tablet that joins later restores too;
//   - a CronJob per schedule that covers the shard.

// The child types of a shard's backups.
var (
	jobType     = rollout.Type{Kind: "Job", APIVersion: "batch/v1"}
	cronJobType = rollout.Type{Kind: "CronJob", APIVersion: "batch/v1"}
)

// backupComponent labels the Pods of vtbackup.
const backupComponent = "vtbackup"

// seedName is the name of the shard's seed Job.
func seedName(p *v1.VitessShard) string {
	return names.Join(p.GetMetadata().GetName(), "backup-seed")
}

// cronJobName is the name of the CronJob of a schedule: at most 52
// characters, as the CronJob controller adds 11 to name its Jobs.
func cronJobName(p *v1.VitessShard, schedule string) string {
	return names.JoinMax(52, p.GetMetadata().GetName(), "backup", schedule)
}

// schedules are the backup schedules that cover the shard.
func schedules(s *v1.VitessShardSpec) []*v1.BackupSchedule {
	var out []*v1.BackupSchedule
	for _, sc := range s.GetClusterConfig().GetBackup().GetSchedules() {
		if (sc.GetKeyspace() == "" || sc.GetKeyspace() == s.GetKeyspace()) && (sc.GetShard() == "" || sc.GetShard() == s.GetName()) {
			out = append(out, sc)
		}
	}
	return out
}

// BackupJobs are the shard's backup children, in rollout order: its
// CronJobs, then its seed Job, built while the shard is new (no tablet
// observed) and held as last applied once it exists (a Job cannot change,
// and has run).
func BackupJobs(p *v1.VitessShard, obs observed.Children) ([]rollout.Child, error) {
	s := p.GetSpec()
	if !s.GetRunsBackups() || !backup.Configured(s.GetClusterConfig()) {
		return nil, nil
	}
	var out []rollout.Child
	for _, sc := range schedules(s) {
		cj, err := cronJob(p, sc)
		if err != nil {
			return nil, err
		}
		c, err := kube.Child(cronJobType.Kind, cronJobType.APIVersion, cj)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if o := obs.Get(jobType.Kind, jobType.APIVersion, seedName(p)); o != nil {
		c, err := rollout.Held(o)
		if err != nil {
			return nil, err
		}
		return append(out, c), nil
	}
	if len(obs.Names(tabletType.Kind, tabletType.APIVersion)) > 0 {
		return out, nil // not a new shard: its first backup is its schedules'
	}
	seed, err := seedJob(p)
	if err != nil {
		return nil, err
	}
	c, err := kube.Child(jobType.Kind, jobType.APIVersion, seed)
	if err != nil {
		return nil, err
	}
	return append(out, c), nil
}

// seedJob is the Job that seeds a new shard with an initial backup. When a
// complete backup exists (a cluster restored from another's backups),
// vtbackup does nothing.
func seedJob(p *v1.VitessShard) (*batchv1.Job, error) {
	replica, _ := spec.Pools(p.GetSpec().GetTablets())
	pod, err := vtbackupPod(p, replica.GetMysql().GetResources(), "spec.tablets.replica.mysql.resources", "--initial-backup")
	if err != nil {
		return nil, err
	}
	backoff := int32(6)
	return &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: backupMeta(p, seedName(p)),
		Spec:       batchv1.JobSpec{BackoffLimit: &backoff, Template: pod},
	}, nil
}

// cronJob is a schedule's CronJob. Its vtbackup may take the shard's first
// backup (--allow-first-backup): a shard made before backups were set has
// none, and its first backup replicates the whole shard from its primary
// (which therefore needs every binary log since the shard began).
func cronJob(p *v1.VitessShard, sc *v1.BackupSchedule) (*batchv1.CronJob, error) {
	pod, err := vtbackupPod(p, sc.GetResources(), "spec.clusterConfig.backup.schedules."+sc.GetName()+".resources", "--allow-first-backup")
	if err != nil {
		return nil, err
	}
	backoff, deadline, history := int32(2), int64(600), int32(3)
	utc := "Etc/UTC"
	return &batchv1.CronJob{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"},
		ObjectMeta: backupMeta(p, cronJobName(p, sc.GetName())),
		Spec: batchv1.CronJobSpec{
			Schedule:                   sc.GetSchedule(),
			TimeZone:                   &utc,
			ConcurrencyPolicy:          batchv1.ForbidConcurrent,
			StartingDeadlineSeconds:    &deadline,
			SuccessfulJobsHistoryLimit: &history,
			FailedJobsHistoryLimit:     &history,
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: pod.Labels},
				Spec:       batchv1.JobSpec{BackoffLimit: &backoff, Template: pod},
			},
		},
	}, nil
}

// backupMeta is the metadata of a backup Job or CronJob.
func backupMeta(p *v1.VitessShard, name string) metav1.ObjectMeta {
	s := p.GetSpec()
	return metav1.ObjectMeta{
		Name:      name,
		Namespace: p.GetMetadata().GetNamespace(),
		Labels: spec.Over(s.GetClusterConfig().GetLabels(),
			spec.Labels(s.GetSelector(), s.GetTemplate(), ComponentLabel, backupComponent)),
		Annotations: spec.Over(s.GetClusterConfig().GetAnnotations(), s.GetTemplate().GetMetadata().GetAnnotations()),
	}
}

// vtbackupDataRoot is VTDATAROOT of vtbackup: a volume of its own, made
// for the Pod and gone with it (vtbackup's data directory must start
// empty).
const vtbackupDataRoot = "/vt/vtdataroot"

// vtbackupPod is the Pod template of a vtbackup run: the tablets' init
// container (vtbackup and the config files handed to the mysqld image,
// the init SQL and passwords written), and vtbackup in the mysqld image,
// which starts a mysqld of its own on an ephemeral volume the size of the
// replicas' (restoring the shard needs as much room as a tablet has).
func vtbackupPod(p *v1.VitessShard, res *v1.ResourceRequirements, resField, mode string) (corev1.PodTemplateSpec, error) {
	s := p.GetSpec()
	cfg := s.GetClusterConfig()
	replica, _ := spec.Pools(s.GetTablets())
	vtImage := cmp.Or(replica.GetVttablet().GetImage(), replica.GetImage(), cfg.GetImages().GetVttablet(), spec.DefaultVitessImage)
	mysqldImage := cmp.Or(replica.GetMysql().GetImage(), cfg.GetImages().GetMysqld(), spec.DefaultMysqldImage)
	resources, err := kube.Resources(resField, res)
	if err != nil {
		return corev1.PodTemplateSpec{}, err
	}
	podSec, err := kube.SecurityContext("spec.tablets.replica.securityContext", replica.GetSecurityContext().GetJson())
	if err != nil {
		return corev1.PodTemplateSpec{}, err
	}
	claim, err := kube.ClaimSpec("spec.tablets.replica.volumeClaim", replica.GetVolumeClaim())
	if err != nil {
		return corev1.PodTemplateSpec{}, err
	}
	backups := backup.PodParts(cfg)
	args := append(vtflags.Topology(cfg.GetTopology()),
		vtflags.Flag("init-keyspace", s.GetKeyspace()),
		vtflags.Flag("init-shard", s.GetName()),
		vtflags.Flag("init-db-sql-file", dbpod.InitSQLFile),
		mode,
	)
	args = slices.Concat(args, backup.Flags("vtbackup", cfg), backup.Retention(cfg.GetBackup()), dbpod.CredentialsFlags(cfg))
	meta := backupMeta(p, "")
	containerSec := kube.ContainerSecurity()
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: meta.Labels, Annotations: meta.Annotations},
		Spec: corev1.PodSpec{
			RestartPolicy:   corev1.RestartPolicyNever,
			SecurityContext: podSec,
			Volumes: slices.Concat([]corev1.Volume{{Name: "vtdataroot", VolumeSource: corev1.VolumeSource{
				Ephemeral: &corev1.EphemeralVolumeSource{VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{Spec: claim}}}}},
				dbpod.Volumes(cfg), backups.Volumes),
			InitContainers: []corev1.Container{dbpod.InitContainer(cfg, vtImage, "vtbackup", containerSec)},
			Containers: []corev1.Container{{
				Name:    "vtbackup",
				Image:   mysqldImage,
				Command: []string{dbpod.SharedVT + "/bin/vtbackup"},
				Args:    args,
				Env: append([]corev1.EnvVar{{Name: "VTDATAROOT", Value: vtbackupDataRoot}, {Name: "VTROOT", Value: dbpod.SharedVT}},
					backups.Env...),
				Resources: resources,
				VolumeMounts: append([]corev1.VolumeMount{{Name: "vtdataroot", MountPath: vtbackupDataRoot}, dbpod.SharedMount, dbpod.CredentialsMount},
					backups.Mounts...),
				SecurityContext: containerSec,
			}},
		},
	}, nil
}

// lastBackup is when the shard's latest backup run by vtmeta succeeded:
// the latest of its CronJobs' last success and its seed Job's completion,
// "" when none has succeeded.
func lastBackup(p *v1.VitessShard, obs observed.Children) string {
	var latest time.Time
	consider := func(ts string) {
		if t, err := time.Parse(time.RFC3339, ts); err == nil && t.After(latest) {
			latest = t
		}
	}
	if o := obs.Get(jobType.Kind, jobType.APIVersion, seedName(p)); o != nil {
		if ok, _ := rollout.Healthy(o); ok {
			consider(o.GetStatus().GetCompletionTime())
		}
	}
	for _, sc := range schedules(p.GetSpec()) {
		consider(obs.Get(cronJobType.Kind, cronJobType.APIVersion, cronJobName(p, sc.GetName())).GetStatus().GetLastSuccessfulTime())
	}
	if latest.IsZero() {
		return ""
	}
	return latest.UTC().Format(time.RFC3339)
}

// overdueSlack is what a backup may be late beyond its schedule's period:
// the time vtbackup takes.
const overdueSlack = time.Hour

// backedUp is the shard's BackedUp condition, or nil when no schedule
// covers it: its latest backup is at most one period of its most frequent
// schedule (plus an hour for vtbackup to run) old.
func backedUp(p *v1.VitessShard, last string, now time.Time) *v1.Condition {
	var period time.Duration
	for _, sc := range schedules(p.GetSpec()) {
		if d, err := spec.SchedulePeriod(sc.GetSchedule(), now); err == nil && (period == 0 || d < period) {
			period = d
		}
	}
	if period == 0 || !p.GetSpec().GetRunsBackups() {
		return nil
	}
	allowed := period + overdueSlack
	t, err := time.Parse(time.RFC3339, last)
	switch {
	case err != nil:
		return conditions.New(rollout.BackedUp, false, "NoBackup", "no backup of the shard has succeeded yet; its schedules allow "+allowed.String()+" between backups")
	case now.Sub(t) > allowed:
		return conditions.New(rollout.BackedUp, false, "Overdue", fmt.Sprintf("the latest backup is %s old, more than the %s its schedules allow", now.Sub(t).Round(time.Minute), allowed))
	}
	return conditions.New(rollout.BackedUp, true, "Current", "the latest backup, at "+last+", is no older than the "+allowed.String()+" the schedules allow")
}
