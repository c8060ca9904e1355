package spec

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/robfig/cron/v3"

	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// BackupStorage is the storage implementation a backup block names: its
// storage block's, or its raw storage; "" when it keeps no backups.
func BackupStorage(b *v1.BackupSpec) string {
	switch {
	case b.GetVolume() != nil:
		return "file"
	case b.GetS3() != nil:
		return "s3"
	case b.GetGcs() != nil:
		return "gcs"
	case b.GetAzblob() != nil:
		return "azblob"
	}
	return b.GetStorage()
}

// cronParser reads a schedule as a CronJob does: five fields, or a
// descriptor such as @daily.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// SchedulePeriod is the longest time between two runs of a schedule over
// the year from base: how old a shard's latest backup may be while the
// schedule keeps it current.
func SchedulePeriod(schedule string, base time.Time) (time.Duration, error) {
	s, err := cronParser.Parse(schedule)
	if err != nil {
		return 0, err
	}
	var longest time.Duration
	prev := s.Next(base)
	if prev.IsZero() {
		return 0, errors.New("it never runs")
	}
	// The longest gap over a year (a schedule of some days of the month
	// runs unevenly), looked at over at most 10,000 runs.
	for range 10000 {
		next := s.Next(prev)
		if next.IsZero() || next.Sub(base) > 366*24*time.Hour {
			break
		}
		longest = max(longest, next.Sub(prev))
		prev = next
	}
	if longest == 0 {
		return 0, errors.New("it runs at most once a year")
	}
	return longest, nil
}

// RestoreTimestamp is a restore time (RFC 3339) as vttablet's
// --restore-from-backup-ts takes it: UTC, 2006-01-02.150405.
func RestoreTimestamp(rfc3339 string) (string, error) {
	t, err := time.Parse(time.RFC3339Nano, rfc3339)
	if err != nil {
		return "", err
	}
	return t.UTC().Format("2006-01-02.150405"), nil
}

// backupRootPattern is a prefix of backups in a bucket or container.
var backupRootPattern = regexp.MustCompile(`^[A-Za-z0-9_./-]*$`)

// Backup checks a backup block: its storage (one block, or the raw one),
// engine, retention, restore time and schedules; keyspaces names the
// cluster's keyspaces a schedule may name (nil: any).
func Backup(field string, b *v1.BackupSpec, keyspaces map[string][]string) error {
	var errs []error
	blocks := 0
	for _, set := range []bool{b.GetVolume() != nil, b.GetS3() != nil, b.GetGcs() != nil, b.GetAzblob() != nil} {
		if set {
			blocks++
		}
	}
	switch {
	case blocks > 1:
		errs = append(errs, fieldErr(field, "InvalidBackup", "set at most one of volume, s3, gcs and azblob"))
	case blocks == 1 && b.GetStorage() != "":
		errs = append(errs, fieldErr(field+".storage", "InvalidBackup", "storage is the raw form of a storage block: set it (with flags) or a volume, s3, gcs or azblob block, not both"))
	}
	if s := b.GetStorage(); s != "" && !slices.Contains([]string{"file", "s3", "gcs", "azblob", "ceph"}, s) {
		errs = append(errs, fieldErr(field+".storage", "InvalidBackup", "%q is not a backup storage: use file, s3, gcs, azblob or ceph", s))
	}
	if e := b.GetEngine(); e != "" && !slices.Contains([]string{"builtin", "xtrabackup", "mysqlshell"}, e) {
		errs = append(errs, fieldErr(field+".engine", "InvalidBackup", "%q is not a backup engine: use builtin, xtrabackup or mysqlshell", e))
	}
	if v := b.GetVolume(); v != nil {
		switch {
		case (v.GetClaimName() == "") == (v.GetNfs() == nil):
			errs = append(errs, fieldErr(field+".volume", "InvalidBackup", "set claimName or nfs, one of them"))
		case v.GetClaimName() != "":
			errs = append(errs, ObjectName(field+".volume.claimName", v.GetClaimName()))
		case v.GetNfs().GetServer() == "" || len(v.GetNfs().GetPath()) == 0 || v.GetNfs().GetPath()[0] != '/':
			errs = append(errs, fieldErr(field+".volume.nfs", "InvalidBackup", "an NFS share needs a server and an absolute path"))
		}
	}
	if s3 := b.GetS3(); s3 != nil {
		if s3.GetBucket() == "" {
			errs = append(errs, fieldErr(field+".s3.bucket", "InvalidBackup", "a bucket is required"))
		}
		if n := s3.GetCredentialsSecretName(); n != "" {
			errs = append(errs, ObjectName(field+".s3.credentialsSecretName", n))
		}
		if !backupRootPattern.MatchString(s3.GetRoot()) {
			errs = append(errs, fieldErr(field+".s3.root", "InvalidBackup", "%q: use letters, digits and _ . / -", s3.GetRoot()))
		}
	}
	if g := b.GetGcs(); g != nil {
		if g.GetBucket() == "" {
			errs = append(errs, fieldErr(field+".gcs.bucket", "InvalidBackup", "a bucket is required"))
		}
		if n := g.GetCredentialsSecretName(); n != "" {
			errs = append(errs, ObjectName(field+".gcs.credentialsSecretName", n))
		}
	}
	if a := b.GetAzblob(); a != nil {
		if a.GetAccountName() == "" || a.GetContainerName() == "" {
			errs = append(errs, fieldErr(field+".azblob", "InvalidBackup", "an account name and a container name are required"))
		}
		errs = append(errs, ObjectName(field+".azblob.credentialsSecretName", a.GetCredentialsSecretName()))
	}
	if r := b.GetRetention(); r != nil {
		if r.MinCount != nil && (r.GetMinCount() < 1 || r.GetMinCount() > 1000) {
			errs = append(errs, fieldErr(field+".retention.minCount", "InvalidBackup", "%d: keep 1 to 1000 backups", r.GetMinCount()))
		}
		if a := r.GetMinAge(); a != "" {
			if d, err := time.ParseDuration(a); err != nil || d <= 0 {
				errs = append(errs, fieldErr(field+".retention.minAge", "InvalidBackup", "%q is not a duration above zero: write it like 168h", a))
			}
		}
	}
	if t := b.GetRestoreTime(); t != "" {
		if _, err := RestoreTimestamp(t); err != nil {
			errs = append(errs, fieldErr(field+".restoreTime", "InvalidBackup", "%q is not an RFC 3339 time: write it like 2026-12-01T00:00:00Z", t))
		}
	}
	if len(b.GetSchedules()) > 0 && BackupStorage(b) == "" {
		errs = append(errs, fieldErr(field+".schedules", "InvalidBackup", "schedules need a storage: set backup.volume, s3, gcs or azblob"))
	}
	errs = append(errs, unique(field+".schedules", len(b.GetSchedules()), func(i int) string { return b.GetSchedules()[i].GetName() }))
	for i, sc := range b.GetSchedules() {
		f := fmt.Sprintf("%s.schedules[%d]", field, i)
		errs = append(errs, Name(f+".name", sc.GetName()))
		if len(sc.GetName()) > 20 {
			errs = append(errs, fieldErr(f+".name", "InvalidName", "%q is longer than 20 characters: CronJob names carry it after the shard's", sc.GetName()))
		}
		if _, err := SchedulePeriod(sc.GetSchedule(), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
			errs = append(errs, fieldErr(f+".schedule", "InvalidSchedule", "%q: %v; write five cron fields (0 3 * * * is daily at 03:00 UTC) or @hourly, @daily, @weekly", sc.GetSchedule(), err))
		}
		if k := sc.GetKeyspace(); k != "" {
			shards, ok := keyspaces[k]
			switch {
			case keyspaces != nil && !ok:
				errs = append(errs, fieldErr(f+".keyspace", "UnknownKeyspace", "keyspace %q is not in spec.keyspaces", k))
			case sc.GetShard() != "" && keyspaces != nil && !slices.Contains(shards, sc.GetShard()):
				errs = append(errs, fieldErr(f+".shard", "UnknownShard", "keyspace %s has no shard %q: it has %v", k, sc.GetShard(), shards))
			}
		} else if sc.GetShard() != "" {
			errs = append(errs, fieldErr(f+".shard", "InvalidBackup", "a shard needs its keyspace"))
		}
		if sc.GetShard() != "" {
			errs = append(errs, ValidShardName(f+".shard", sc.GetShard()))
		}
	}
	return errors.Join(errs...)
}
