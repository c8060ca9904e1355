package vtflags

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestFlags(t *testing.T) {
	if got := Flag("backup_storage_implementation", "s3"); got != "--backup-storage-implementation=s3" {
		t.Errorf("Flag = %s", got)
	}
	if got := fmt.Sprint(Map(map[string]string{"b": "2", "--a_x": "1"})); got != "[--a-x=1 --b=2]" {
		t.Errorf("Map = %s", got)
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
	for _, b := range []string{"mysqlctld", "vtbackup", "vtctld", "vtctldclient", "vtgate", "vtorc", "vttablet"} {
		if len(known[b]) < 40 || !slices.IsSorted(known[b]) {
			t.Errorf("%s: %d flags, sorted %v", b, len(known[b]), slices.IsSorted(known[b]))
		}
	}
}
