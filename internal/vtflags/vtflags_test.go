package vtflags

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

func TestFlags(t *testing.T) {
	if got := Flag("backup_storage_implementation", "s3"); got != "--backup-storage-implementation=s3" {
		t.Errorf("Flag = %s", got)
	}
	if got := fmt.Sprint(Map(map[string]string{"b": "2", "--a_x": "1"})); got != "[--a-x=1 --b=2]" {
		t.Errorf("Map = %s", got)
	}
}

func TestBackup(t *testing.T) {
	tests := []struct {
		name, binary string
		backup       *v1.BackupSpec
		raw          map[string]string
		restore      bool
		want         string
	}{
		{"builtin to file, vttablet", "vttablet",
			&v1.BackupSpec{Storage: "file", Engine: "builtin", RestoreFromBackup: true, Flags: map[string]string{"file-backup-storage-root": "/backups"}},
			map[string]string{"gcs_backup_storage_bucket": "b"}, true,
			"[--backup-engine-implementation=builtin --backup-storage-implementation=file --file-backup-storage-root=/backups --gcs-backup-storage-bucket=b --restore-from-backup]"},
		{"only tablets restore", "vttablet", &v1.BackupSpec{Storage: "file", RestoreFromBackup: true}, nil, false,
			"[--backup-storage-implementation=file]"},
		{"xtrabackup gets its user and stream mode", "vttablet", &v1.BackupSpec{Storage: "s3", Engine: "xtrabackup"}, nil, false,
			"[--backup-engine-implementation=xtrabackup --backup-storage-implementation=s3 --xtrabackup-stream-mode=xbstream --xtrabackup-user=vt_dba]"},
		{"the block's flags win", "vttablet", &v1.BackupSpec{Engine: "xtrabackup", Flags: map[string]string{"xtrabackup_user": "backup"}}, nil, false,
			"[--backup-engine-implementation=xtrabackup --xtrabackup-stream-mode=xbstream --xtrabackup-user=backup]"},
		{"vtctld takes no engine flags", "vtctld", &v1.BackupSpec{Storage: "s3", Engine: "xtrabackup", Flags: map[string]string{"s3-backup-storage-bucket": "b"}}, nil, true,
			"[--backup-engine-implementation=xtrabackup --backup-storage-implementation=s3 --s3-backup-storage-bucket=b]"},
	}
	for _, tt := range tests {
		cfg := &v1.ClusterConfig{Backup: tt.backup, BackupFlags: tt.raw}
		if got := fmt.Sprint(Backup(tt.binary, cfg, tt.restore)); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

func TestCheck(t *testing.T) {
	for _, tt := range []struct {
		binary, flag, want string
	}{
		{"vttablet", "health-check-interval", ""},
		{"vttablet", "--health-check-interval", ""},
		{"vttablet", "health_check_interval", ""},
		{"vtorc", "cell", ""},
		{"vtorc", "recovery-period-block-duration", "vtorc (Vitess " + VitessVersion + ") has no flag --recovery-period-block-duration"},
		{"vttablet", "health-check-intervall", "did you mean --health-check-interval?"},
		{"vttablet", "health_check-interval", "has no flag --health_check-interval"},
		{"vtgate", "xyzzy", "see vtgate --help"},
		{"vtctld", "xtrabackup-user", "vtctld (Vitess " + VitessVersion + ") has no flag --xtrabackup-user"},
		{"etcd", "name", "knows no flags of etcd"},
	} {
		err := Check(tt.binary, tt.flag)
		if tt.want == "" {
			if err != nil {
				t.Errorf("Check(%s, %s) = %v", tt.binary, tt.flag, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Check(%s, %s) = %v, want %q", tt.binary, tt.flag, err, tt.want)
		}
	}
}

func TestEveryBinaryHasItsList(t *testing.T) {
	for _, b := range []string{"mysqlctld", "vtctld", "vtctldclient", "vtgate", "vtorc", "vttablet"} {
		if len(known[b]) < 40 || !slices.IsSorted(known[b]) {
			t.Errorf("%s: %d flags, sorted %v", b, len(known[b]), slices.IsSorted(known[b]))
		}
	}
}
