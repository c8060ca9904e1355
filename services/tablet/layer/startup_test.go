package layer

import (
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStartScript runs the vttablet container's start with sh: it waits
// for mysqlctld's socket, then runs the binary with its arguments; with no
// socket, it runs it anyway once the wait is over.
func TestStartScript(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "mysqlctl.sock")
	run := func(tries int) (string, time.Duration) {
		t.Helper()
		start := time.Now()
		out, err := exec.Command("sh", "-c", startScript(sock, tries), "echo", "--tablet-path=zone1-100", "--port=15000").CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return string(out), time.Since(start)
	}

	go func() {
		time.Sleep(1500 * time.Millisecond)
		if l, err := net.Listen("unix", sock); err == nil {
			t.Cleanup(func() { l.Close() })
		}
	}()
	out, took := run(30)
	if strings.TrimSpace(out) != "--tablet-path=zone1-100 --port=15000" {
		t.Errorf("the binary ran with %q, want its arguments", out)
	}
	if took < time.Second || took > 10*time.Second {
		t.Errorf("it started %s after the script: want after the socket (1.5 s), not before, not much later", took)
	}

	out, took = run(2)
	if took > 5*time.Second {
		t.Errorf("with the socket there, it took %s to start", took)
	}
	if strings.Contains(out, "starting anyway") {
		t.Errorf("with the socket there: %q", out)
	}

	sock = filepath.Join(dir, "none.sock")
	out, took = run(2)
	if !strings.Contains(out, "starting anyway") || !strings.Contains(out, "--tablet-path=zone1-100") || took < 2*time.Second {
		t.Errorf("no socket: %q after %s, want a word, then the binary, after the wait", out, took)
	}
}

// TestStartupProbeOutlastsTheWait checks that the liveness probe is held
// off for as long as vttablet may wait for mysqld, and a minute more.
func TestStartupProbeOutlastsTheWait(t *testing.T) {
	p := vttabletStartup()
	if d := p.PeriodSeconds * p.FailureThreshold; d < startWaitSeconds+60 || p.TCPSocket == nil || p.TCPSocket.Port.StrVal != "web" {
		t.Errorf("startup probe: %d s on %v, want at least %d s on the web port", d, p.TCPSocket, startWaitSeconds+60)
	}
}
