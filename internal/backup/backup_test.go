package backup

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/vtmeta/vtmeta/internal/vtflags"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

func TestFlags(t *testing.T) {
	tests := []struct {
		name, binary string
		backup       *v1.BackupSpec
		raw          map[string]string
		want         string
	}{
		{"raw file storage, vttablet", "vttablet",
			&v1.BackupSpec{Storage: "file", Engine: "builtin", Flags: map[string]string{"file-backup-storage-root": "/backups"}},
			map[string]string{"gcs_backup_storage_bucket": "b"},
			"[--backup-engine-implementation=builtin --backup-storage-implementation=file --file-backup-storage-root=/backups --gcs-backup-storage-bucket=b]"},
		{"xtrabackup gets its user and stream mode", "vttablet", &v1.BackupSpec{Storage: "s3", Engine: "xtrabackup"}, nil,
			"[--backup-engine-implementation=xtrabackup --backup-storage-implementation=s3 --xtrabackup-stream-mode=xbstream --xtrabackup-user=vt_dba]"},
		{"the block's flags win", "vttablet", &v1.BackupSpec{Engine: "xtrabackup", Flags: map[string]string{"xtrabackup_user": "backup"}}, nil,
			"[--backup-engine-implementation=xtrabackup --xtrabackup-stream-mode=xbstream --xtrabackup-user=backup]"},
		{"vtctld takes no engine flags", "vtctld", &v1.BackupSpec{Storage: "s3", Engine: "xtrabackup", Flags: map[string]string{"s3-backup-storage-bucket": "b"}}, nil,
			"[--backup-engine-implementation=xtrabackup --backup-storage-implementation=s3 --s3-backup-storage-bucket=b]"},
		{"a volume", "vtbackup", &v1.BackupSpec{Volume: &v1.BackupVolume{ClaimName: "backups"}}, nil,
			"[--backup-storage-implementation=file --file-backup-storage-root=/vt/backups]"},
		{"s3 on a store of one's own", "vtctld", &v1.BackupSpec{S3: &v1.S3BackupStorage{Bucket: "b", Root: "db", Endpoint: "http://s3.local:8333", ForcePathStyle: true}}, nil,
			"[--backup-storage-implementation=s3 --s3-backup-aws-endpoint=http://s3.local:8333 --s3-backup-aws-region=us-east-1 --s3-backup-force-path-style=true --s3-backup-storage-bucket=b --s3-backup-storage-root=db]"},
		{"gcs", "vttablet", &v1.BackupSpec{Gcs: &v1.GCSBackupStorage{Bucket: "b", Root: "r"}}, nil,
			"[--backup-storage-implementation=gcs --gcs-backup-storage-bucket=b --gcs-backup-storage-root=r]"},
		{"azblob", "vtbackup", &v1.BackupSpec{Azblob: &v1.AzblobBackupStorage{AccountName: "acct", ContainerName: "c", CredentialsSecretName: "az"}}, nil,
			"[--azblob-backup-account-key-file=/vt/azblob-credentials/account-key --azblob-backup-account-name=acct --azblob-backup-container-name=c --backup-storage-implementation=azblob]"},
	}
	for _, tt := range tests {
		cfg := &v1.ClusterConfig{Backup: tt.backup, BackupFlags: tt.raw}
		got := Flags(tt.binary, cfg)
		if fmt.Sprint(got) != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
		for _, f := range got {
			name, _, _ := strings.Cut(strings.TrimPrefix(f, "--"), "=")
			if err := vtflags.Check(tt.binary, name); err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
		}
	}
}

func TestRestore(t *testing.T) {
	for _, tt := range []struct {
		name string
		b    *v1.BackupSpec
		want string
	}{
		{"no backups", nil, "[]"},
		{"the latest", &v1.BackupSpec{S3: &v1.S3BackupStorage{Bucket: "b"}}, "[--restore-from-backup --wait-for-backup-interval=10s]"},
		{"at or before a time", &v1.BackupSpec{Volume: &v1.BackupVolume{ClaimName: "c"}, RestoreTime: "2026-12-01T01:02:03+01:00"},
			"[--restore-from-backup --wait-for-backup-interval=10s --restore-from-backup-ts=2026-12-01.000203]"},
	} {
		if got := fmt.Sprint(Restore(&v1.ClusterConfig{Backup: tt.b})); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestPodParts(t *testing.T) {
	s3 := PodParts(&v1.ClusterConfig{Backup: &v1.BackupSpec{S3: &v1.S3BackupStorage{Bucket: "b", Endpoint: "http://seaweedfs:8333", CredentialsSecretName: "s3"}}})
	env := map[string]corev1.EnvVar{}
	for _, e := range s3.Env {
		env[e.Name] = e
	}
	if env["AWS_ACCESS_KEY_ID"].ValueFrom.SecretKeyRef.Name != "s3" || env["AWS_SECRET_ACCESS_KEY"].ValueFrom == nil || env["AWS_REQUEST_CHECKSUM_CALCULATION"].Value != "when_required" {
		t.Errorf("s3 env %v: the keys come from the Secret, never as values", s3.Env)
	}
	aws := PodParts(&v1.ClusterConfig{Backup: &v1.BackupSpec{S3: &v1.S3BackupStorage{Bucket: "b", Endpoint: "https://s3.eu-west-1.amazonaws.com"}}})
	if len(aws.Env) != 0 {
		t.Errorf("AWS itself takes the SDK's checksums, and no Secret was named: %v", aws.Env)
	}
	vol := PodParts(&v1.ClusterConfig{Backup: &v1.BackupSpec{Volume: &v1.BackupVolume{Nfs: &v1.NFSVolume{Server: "nfs", Path: "/b"}}}})
	if len(vol.Volumes) != 1 || vol.Volumes[0].NFS == nil || vol.Mounts[0].MountPath != Root {
		t.Errorf("nfs %v", vol)
	}
	gcs := PodParts(&v1.ClusterConfig{Backup: &v1.BackupSpec{Gcs: &v1.GCSBackupStorage{Bucket: "b", CredentialsSecretName: "g"}}})
	if len(gcs.Volumes) != 1 || gcs.Env[0].Value != "/vt/gcs-credentials/key.json" {
		t.Errorf("gcs %v", gcs)
	}
}
