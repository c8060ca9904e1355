// Package backup renders what a Pod that reads or writes Vitess backups
// needs of the cluster's backup block: the storage's flags (each binary
// gets those it takes), its volume or credentials, the restore flags of
// a tablet, and vtbackup's retention.
package backup

import (
	"cmp"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/vtmeta/vtmeta/internal/spec"
	"github.com/vtmeta/vtmeta/internal/vtflags"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// Paths in the Pods where a backup volume and credentials are mounted.
const (
	// Root is where a backup volume is mounted (Vitess file storage).
	Root = "/vt/backups"
	// gcsDir holds a GCS service account's key.
	gcsDir = "/vt/gcs-credentials"
	// azblobDir holds an Azure storage account's key.
	azblobDir = "/vt/azblob-credentials"
)

// Configured says whether the cluster keeps backups.
func Configured(cfg *v1.ClusterConfig) bool {
	return spec.BackupStorage(cfg.GetBackup()) != ""
}

// XtrabackupUser is the MySQL user the xtrabackup engine backs up as: the
// dba user of Vitess's init_db.sql, which xtrabackup reaches over the
// socket (Vitess passes it no password).
const XtrabackupUser = "vt_dba"

// Flags are the backup flags of a binary that reads or writes backups
// (vttablet, vtctld, vtbackup): the storage and its settings, the engine
// and what it requires (xtrabackup: its user and the xbstream stream mode,
// as the tar default does not work with XtraBackup 8), then the block's own
// flags and the deprecated raw ones, which win. Only flags the binary
// takes are kept: vtctld takes the storage's but none of an engine's.
func Flags(binary string, cfg *v1.ClusterConfig) []string {
	b := cfg.GetBackup()
	flags := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			flags[k] = v
		}
	}
	set("backup-storage-implementation", spec.BackupStorage(b))
	set("backup-engine-implementation", b.GetEngine())
	if b.GetEngine() == "xtrabackup" {
		flags["xtrabackup-user"] = XtrabackupUser
		flags["xtrabackup-stream-mode"] = "xbstream"
	}
	if b.GetVolume() != nil {
		flags["file-backup-storage-root"] = Root
	}
	if s3 := b.GetS3(); s3 != nil {
		set("s3-backup-storage-bucket", s3.GetBucket())
		set("s3-backup-storage-root", s3.GetRoot())
		set("s3-backup-aws-region", cmp.Or(s3.GetRegion(), "us-east-1"))
		set("s3-backup-aws-endpoint", s3.GetEndpoint())
		set("s3-backup-server-side-encryption", s3.GetServerSideEncryption())
		if s3.GetForcePathStyle() {
			flags["s3-backup-force-path-style"] = "true"
		}
	}
	if g := b.GetGcs(); g != nil {
		set("gcs-backup-storage-bucket", g.GetBucket())
		set("gcs-backup-storage-root", g.GetRoot())
	}
	if a := b.GetAzblob(); a != nil {
		set("azblob-backup-account-name", a.GetAccountName())
		set("azblob-backup-container-name", a.GetContainerName())
		set("azblob-backup-storage-root", a.GetRoot())
		flags["azblob-backup-account-key-file"] = azblobDir + "/account-key"
	}
	for _, m := range []map[string]string{b.GetFlags(), cfg.GetBackupFlags()} {
		for k, v := range m {
			flags[vtflags.Name(k)] = v
		}
	}
	for k := range flags {
		if !vtflags.Knows(binary, k) {
			delete(flags, k)
		}
	}
	return vtflags.Map(flags)
}

// WaitForBackup is how often a tablet whose volume is empty looks again
// for a backup to restore while its shard has none yet: a new shard's
// tablets wait for the initial backup that seeds it.
const WaitForBackup = "10s"

// Restore are a tablet's restore flags: when the cluster keeps backups, a
// tablet whose volume is empty restores the latest backup (or the latest
// at or before the restore time), waiting for one while there is none.
func Restore(cfg *v1.ClusterConfig) []string {
	if !Configured(cfg) {
		return nil
	}
	out := []string{"--restore-from-backup", vtflags.Flag("wait-for-backup-interval", WaitForBackup)}
	if t := cfg.GetBackup().GetRestoreTime(); t != "" {
		if ts, err := spec.RestoreTimestamp(t); err == nil {
			out = append(out, vtflags.Flag("restore-from-backup-ts", ts))
		}
	}
	return out
}

// Retention are vtbackup's retention flags: prune backups older than the
// minimum age, keeping the minimum count.
func Retention(b *v1.BackupSpec) []string {
	r := b.GetRetention()
	out := []string{vtflags.Flag("min-retention-count", fmt.Sprint(max(r.GetMinCount(), 1)))}
	if a := r.GetMinAge(); a != "" {
		out = append(out, vtflags.Flag("min-retention-time", a))
	}
	return out
}

// Pod is what a Pod whose containers read or write backups needs of the
// storage: volumes, the mounts of those containers and their environment
// (the storage's credentials, from a Secret, never written in a spec).
type Pod struct {
	Volumes []corev1.Volume
	Mounts  []corev1.VolumeMount
	Env     []corev1.EnvVar
}

// PodParts is the Pod of the cluster's backup storage.
func PodParts(cfg *v1.ClusterConfig) Pod {
	b := cfg.GetBackup()
	var p Pod
	if v := b.GetVolume(); v != nil {
		src := corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: v.GetClaimName()}}
		if n := v.GetNfs(); n != nil {
			src = corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: n.GetServer(), Path: n.GetPath()}}
		}
		p.Volumes = append(p.Volumes, corev1.Volume{Name: "backups", VolumeSource: src})
		p.Mounts = append(p.Mounts, corev1.VolumeMount{Name: "backups", MountPath: Root})
	}
	if s3 := b.GetS3(); s3 != nil {
		if secret := s3.GetCredentialsSecretName(); secret != "" {
			for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
				p.Env = append(p.Env, corev1.EnvVar{Name: k, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: k}}})
			}
		}
		if s3.GetEndpoint() != "" && !strings.HasSuffix(hostOf(s3.GetEndpoint()), ".amazonaws.com") {
			// S3-compatible stores refuse the checksums the AWS SDK
			// sends by default since 2025; it sends them when required.
			p.Env = append(p.Env, corev1.EnvVar{Name: "AWS_REQUEST_CHECKSUM_CALCULATION", Value: "when_required"},
				corev1.EnvVar{Name: "AWS_RESPONSE_CHECKSUM_VALIDATION", Value: "when_required"})
		}
	}
	if g := b.GetGcs(); g != nil && g.GetCredentialsSecretName() != "" {
		p.Volumes = append(p.Volumes, secretVolume("gcs-credentials", g.GetCredentialsSecretName(), "key.json"))
		p.Mounts = append(p.Mounts, corev1.VolumeMount{Name: "gcs-credentials", MountPath: gcsDir, ReadOnly: true})
		p.Env = append(p.Env, corev1.EnvVar{Name: "GOOGLE_APPLICATION_CREDENTIALS", Value: gcsDir + "/key.json"})
	}
	if a := b.GetAzblob(); a != nil {
		p.Volumes = append(p.Volumes, secretVolume("azblob-credentials", a.GetCredentialsSecretName(), "account-key"))
		p.Mounts = append(p.Mounts, corev1.VolumeMount{Name: "azblob-credentials", MountPath: azblobDir, ReadOnly: true})
	}
	return p
}

// secretVolume is a volume of one key of a Secret.
func secretVolume(name, secret, key string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
		SecretName: secret, Items: []corev1.KeyToPath{{Key: key, Path: key}}}}}
}

// hostOf is the host of a URL, lower-cased, without its port.
func hostOf(url string) string {
	_, rest, _ := strings.Cut(url, "://")
	host, _, _ := strings.Cut(rest, "/")
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return strings.ToLower(host)
}
