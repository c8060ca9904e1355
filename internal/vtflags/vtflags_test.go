package vtflags

import (
	"fmt"
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
	cfg := &v1.ClusterConfig{
		Backup:      &v1.BackupSpec{Storage: "file", Engine: "builtin", RestoreFromBackup: true, Flags: map[string]string{"file-backup-storage-root": "/backups"}},
		BackupFlags: map[string]string{"gcs_backup_storage_bucket": "b"},
	}
	want := "[--backup-storage-implementation=file --backup-engine-implementation=builtin --file-backup-storage-root=/backups --gcs-backup-storage-bucket=b --restore-from-backup]"
	if got := fmt.Sprint(Backup(cfg, true)); got != want {
		t.Errorf("Backup = %s", got)
	}
	if got := fmt.Sprint(Backup(cfg, false)); got == want {
		t.Error("only tablets restore")
	}
}
