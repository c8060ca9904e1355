package layer

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vtmeta/vtmeta/internal/golden"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

func TestStopTimings(t *testing.T) {
	for _, tt := range []struct {
		grace *int64
		want  timings
	}{
		{nil, timings{grace: 1800, reparent: 60, mysqlWait: 1710}},
		{proto.Int64(120), timings{grace: 120, reparent: 30, mysqlWait: 60}},
		{proto.Int64(3600), timings{grace: 3600, reparent: 60, mysqlWait: 3510}},
	} {
		got := stopTimings(&v1.TabletPoolSpec{TerminationGracePeriodSeconds: tt.grace})
		if got != tt.want {
			t.Errorf("grace %v: %+v, want %+v", tt.grace, got, tt.want)
		}
		if got.reparent+15+got.mysqlWait+10 > got.grace {
			t.Errorf("grace %v: the reparent, the wait and mysqld's shutdown do not fit", tt.grace)
		}
	}
}

// fakeVtctld is a vtctldclient that logs its arguments, answers GetTablet
// with the tablet type given, and fails PlannedReparentShard when told to.
func fakeVtctld(t *testing.T, dir, tabletType string, getFails, prsFails bool) {
	t.Helper()
	script := `#!/bin/sh
echo "$@" >> ` + dir + `/calls
case "$*" in
*GetTablet*) ` + map[bool]string{true: `echo "rpc error: code = Unavailable" >&2; exit 1`, false: `printf '{\n  "alias":  {"cell": "zone1", "uid": 100},\n  "type":  "` + tabletType + `"\n}\n'`}[getFails] + ` ;;
*PlannedReparentShard*) ` + map[bool]string{true: `echo "cannot find a tablet to reparent to" >&2; exit 1`, false: `echo ok`}[prsFails] + ` ;;
esac`
	if err := os.WriteFile(filepath.Join(dir, "vtctldclient"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestReparentScript runs the vttablet preStop against a fake
// vtctldclient: a primary moves away, anything else does nothing, a
// failure is said and the Pod stops anyway, and the mysqld hook is always
// released.
func TestReparentScript(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	req := golden.Load[*v1.TabletSyncRequest](t, "testdata/create-replica.request.json")
	tests := []struct {
		name, tabletType   string
		getFails, prsFails bool
		code               int
		calls, log         []string
	}{
		{"the primary moves away", "PRIMARY", false, false, 0,
			[]string{"--server=vitess-global-vtctld.default.svc:15999 --action-timeout=60s GetTablet zone1-0214747900",
				"--server=vitess-global-vtctld.default.svc:15999 --action-timeout=60s PlannedReparentShard main/-80 --avoid-primary=zone1-0214747900 --wait-replicas-timeout=30s"},
			[]string{"primary of main/-80: PlannedReparentShard", "the primary of main/-80 moved away"}},
		{"a replica does nothing", "REPLICA", false, false, 0,
			[]string{"GetTablet zone1-0214747900"}, []string{"not the primary of main/-80: nothing to move"}},
		// A failure is tried again, twice, asking afresh each time whether
		// the tablet is still the primary; then the Pod stops anyway.
		{"no other candidate", "PRIMARY", false, true, 1,
			[]string{"--action-timeout=60s GetTablet", "--action-timeout=60s PlannedReparentShard", "GetTablet", "PlannedReparentShard", "GetTablet", "PlannedReparentShard"},
			[]string{"attempt 1: planned reparent failed, trying again: cannot find a tablet to reparent to",
				"attempt 2: planned reparent failed, trying again", "planned reparent failed, stopping anyway: cannot find a tablet to reparent to"}},
		{"vtctld unreachable", "", true, false, 1,
			[]string{"GetTablet", "GetTablet", "GetTablet"}, []string{"attempt 1: cannot tell whether it is the primary of main/-80, trying again: rpc error",
				"cannot tell whether it is the primary of main/-80, stopping anyway: rpc error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			fakeVtctld(t, dir, tt.tabletType, tt.getFails, tt.prsFails)
			argv := reparentScript(req.GetParent(), stopTimings(req.GetParent().GetSpec().GetPool()))
			argv[2] = strings.ReplaceAll(argv[2], LifecycleDir, dir)
			argv[2] = strings.ReplaceAll(argv[2], "/proc/1/fd/1", dir+"/container.log")
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Env = []string{"PATH=" + dir + ":" + os.Getenv("PATH")}
			out, err := cmd.CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code {
				t.Errorf("exit %d, want %d: %s", code, tt.code, out)
			}
			calls, _ := os.ReadFile(filepath.Join(dir, "calls"))
			lines := strings.Split(strings.TrimSpace(string(calls)), "\n")
			if len(lines) != len(tt.calls) {
				t.Errorf("calls:\n%s\nwant %d", calls, len(tt.calls))
			}
			for i, want := range tt.calls {
				if i < len(lines) && !strings.Contains(lines[i], want) {
					t.Errorf("call %d = %q, want %q", i, lines[i], want)
				}
			}
			logged, _ := os.ReadFile(filepath.Join(dir, "container.log"))
			for _, want := range tt.log {
				if !strings.Contains(string(logged), "preStop zone1-0214747900: "+want) {
					t.Errorf("the container log lacks %q:\n%s", want, logged)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "reparent-done")); err != nil {
				t.Error("the mysqld hook is not released")
			}
		})
	}
}

// TestWaitScript: the mysqld hook returns once the vttablet hook is done,
// and after its bound when it never is.
func TestWaitScript(t *testing.T) {
	dir := t.TempDir()
	script := strings.ReplaceAll(waitScript(timings{reparent: -14})[2], LifecycleDir, dir) // a bound of 1s
	start := time.Now()
	if out, err := exec.Command("sh", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("returned after %s without the vttablet hook", d)
	}
	if err := os.WriteFile(filepath.Join(dir, "reparent-done"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	script = strings.ReplaceAll(waitScript(timings{reparent: 60})[2], LifecycleDir, dir)
	start = time.Now()
	if out, err := exec.Command("sh", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("waited %s although the vttablet hook was done", d)
	}
}
