//go:build linux

package images

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vtmeta/vtmeta/test/e2e/realnode/debian"
)

// TestMySQLImage checks the mysqld image without the plane: its packages
// come through apt-get with the host's apt state left as it was, a pin
// that sid no longer has fails saying where to move it, and, in the image
// unpacked and entered with chroot as uid 999, mysqld is MySQL 9.7.4 and
// Vitess's mysqlctld initializes a data dir with Vitess's stock config and
// init SQL, after which mysqld answers as MySQL with a server UUID and
// super_read_only on.
func TestMySQLImage(t *testing.T) {
	if os.Getenv("VTMETA_E2E") == "" {
		t.Skip("set VTMETA_E2E=1 to build and check the mysqld image")
	}
	if os.Geteuid() != 0 {
		t.Skip("the mysqld image check needs root (apt-get, chroot, mount)")
	}
	pins, err := MySQLPins()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("the fetch leaves the host's apt state as it was", func(t *testing.T) {
		before := aptState(t)
		start := time.Now()
		debs, err := Sid().Fetch(pins)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("fetched %d packages in %s", len(debs), time.Since(start).Round(10*time.Millisecond))
		if len(debs) != len(pins) {
			t.Errorf("%d .debs for %d pins", len(debs), len(pins))
		}
		if after := aptState(t); after != before {
			t.Errorf("the host's apt state changed:\n%s", diffLines(before, after))
		}
	})

	t.Run("a pin sid no longer has says where to move it", func(t *testing.T) {
		moved := append([]debian.Pin{}, pins...)
		want := ""
		for i, p := range moved {
			if p.Package == "mysql-server-core" {
				want = "move the pin to mysql-server-core " + p.Version
				moved[i].Version = "9.7.3-1"
			}
		}
		_, err := Sid().Fetch(moved)
		t.Logf("the fetch says: %v", err)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), mysqlPinsFile) {
			t.Errorf("a pin of a version sid does not have: %v; want an error saying %q in %s", err, want, mysqlPinsFile)
		}
	})

	start := time.Now()
	img, err := BuildMySQL()
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(img.Tarball)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image %s: %d MiB (built or found in %s)", img.Ref, fi.Size()>>20, time.Since(start).Round(10*time.Millisecond))
	root := t.TempDir()
	if err := Unpack(img, root); err != nil {
		t.Fatal(err)
	}

	t.Run("the root file system", func(t *testing.T) {
		for link, want := range map[string]string{"bin": "usr/bin", "sbin": "usr/sbin", "lib": "usr/lib", "lib64": "usr/lib64", "usr/bin/sh": "dash"} {
			if got, err := os.Readlink(filepath.Join(root, link)); err != nil || got != want {
				t.Errorf("/%s -> %q (%v), want -> %s", link, got, err, want)
			}
		}
		if libc, _ := filepath.Glob(filepath.Join(root, "usr/lib/*/libc.so.6")); len(libc) != 1 {
			t.Errorf("the image has no libc of its own: %v", libc)
		}
		for _, d := range []struct {
			path string
			mode fs.FileMode
			uid  uint32
		}{
			{"tmp", fs.ModeDir | fs.ModeSticky | 0o777, 0},
			{"var/lib/mysql-files", fs.ModeDir | 0o750, uid},
			{"var/lib/mysql", fs.ModeDir | 0o750, uid},
		} {
			fi, err := os.Stat(filepath.Join(root, d.path))
			if err != nil {
				t.Errorf("/%s: %v", d.path, err)
				continue
			}
			if got := fi.Sys().(*syscall.Stat_t).Uid; fi.Mode() != d.mode || got != d.uid {
				t.Errorf("/%s: %s owned by %d, want %s owned by %d", d.path, fi.Mode(), got, d.mode, d.uid)
			}
		}
		passwd, _ := os.ReadFile(filepath.Join(root, "etc/passwd"))
		if !strings.Contains(string(passwd), ":999:999:") {
			t.Errorf("/etc/passwd has no user 999:\n%s", passwd)
		}
	})

	undo, err := enter(root)
	if err != nil {
		t.Fatal(err)
	}
	defer undo()

	t.Run("mysqld --version as uid 999", func(t *testing.T) {
		out, err := chroot(root, nil, "mysqld", "--version").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Ver "+MySQLVersion+"-") {
			t.Errorf("mysqld --version: %v %q, want Ver %s", err, out, MySQLVersion)
		}
	})

	t.Run("mysqlctld initializes MySQL with Vitess's stock config", func(t *testing.T) {
		bin, err := BuildVitessBinaries(t.Logf)
		if err != nil {
			t.Fatal(err)
		}
		mod, err := vitessModuleDir()
		if err != nil {
			t.Fatal(err)
		}
		// As a tablet Pod's init container hands them to the mysqld
		// container: mysqlctld and Vitess's config directory.
		vt := filepath.Join(root, "vt")
		if err := os.MkdirAll(filepath.Join(vt, "bin"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := exec.Command("cp", filepath.Join(bin, "mysqlctld"), filepath.Join(vt, "bin")).Run(); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("cp", "-R", filepath.Join(mod, "config"), vt).CombinedOutput(); err != nil {
			t.Fatalf("copy config: %v %s", err, out)
		}
		if err := os.MkdirAll(filepath.Join(vt, "vtdataroot"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(filepath.Join(vt, "vtdataroot"), uid, uid); err != nil {
			t.Fatal(err)
		}
		var log bytes.Buffer
		env := []string{"VTROOT=/vt", "VTDATAROOT=/vt/vtdataroot"}
		// A port of its own: the chroot shares the host's network.
		cmd := chroot(root, env, "/vt/bin/mysqlctld", "--tablet-uid=100", "--mysql-port=23306", "--socket-file=/vt/vtdataroot/mysqlctl.sock")
		cmd.Stdout, cmd.Stderr = &log, &log
		started := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		defer func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case err := <-exited:
				t.Logf("mysqlctld stopped (%v)", err)
			case <-time.After(2 * time.Minute):
				t.Errorf("mysqlctld did not stop within 2 minutes of SIGTERM")
			}
			if left := inRoot(root); len(left) > 0 {
				t.Errorf("processes left in the image's root after mysqlctld stopped: %v", left)
			}
		}()
		query := "SELECT @@version, @@server_uuid, @@super_read_only"
		var out []byte
		deadline := time.Now().Add(4 * time.Minute)
		for {
			out, err = chroot(root, nil, "mysql", "-u", "vt_dba", "-S", "/vt/vtdataroot/vt_0000000100/mysql.sock", "-N", "-B", "-e", query).CombinedOutput()
			if err == nil {
				break
			}
			select {
			case err := <-exited:
				t.Fatalf("mysqlctld exited: %v\n%s", err, tailLines(log.String(), 40))
			case <-time.After(time.Second):
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %v %s\nmysqlctld:\n%s", query, err, out, tailLines(log.String(), 40))
			}
		}
		t.Logf("mysqlctld initialized and started MySQL in %s; %s: %s", time.Since(started).Round(100*time.Millisecond), query, bytes.TrimSpace(out))
		f := strings.Fields(string(out))
		uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
		if len(f) != 3 || !strings.HasPrefix(f[0], MySQLVersion+"-") || !uuid.MatchString(f[1]) || f[2] != "1" {
			t.Errorf("%s: %q, want %s-..., a UUID, 1", query, out, MySQLVersion)
		}
		if !strings.Contains(log.String(), "version: {9 7 4}") && !strings.Contains(log.String(), "9.7.4") {
			t.Errorf("mysqlctld did not log the flavor it detected:\n%s", tailLines(log.String(), 40))
		}
	})
}

// chroot is a command run in root as uid 999, with env over a PATH.
func chroot(root string, env []string, name string, args ...string) *exec.Cmd {
	// Built by hand: exec.Command would look name up on the host.
	cmd := &exec.Cmd{Path: name, Args: append([]string{name}, args...)}
	if !strings.HasPrefix(name, "/") {
		cmd.Path, cmd.Args = "/usr/bin/env", append([]string{"env", name}, args...)
	}
	cmd.Dir = "/"
	cmd.Env = append([]string{"PATH=/usr/bin:/usr/sbin", "HOME=/tmp"}, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root, Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	return cmd
}

// enter gives root what a container runtime gives a container: device
// nodes and /proc. The returned function takes them away.
func enter(root string) (func(), error) {
	for _, d := range []struct {
		name       string
		major, min uint32
	}{{"null", 1, 3}, {"zero", 1, 5}, {"random", 1, 8}, {"urandom", 1, 9}} {
		p := filepath.Join(root, "dev", d.name)
		if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, int(d.major<<8|d.min)); err != nil {
			return nil, fmt.Errorf("mknod %s: %w", p, err)
		}
		if err := os.Chmod(p, 0o666); err != nil {
			return nil, err
		}
	}
	proc := filepath.Join(root, "proc")
	if err := syscall.Mount("proc", proc, "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
		return nil, fmt.Errorf("mount %s: %w", proc, err)
	}
	return func() {
		for _, pid := range inRoot(root) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		_ = syscall.Unmount(proc, syscall.MNT_DETACH)
	}, nil
}

// inRoot lists the processes whose root is root.
func inRoot(root string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		if r, err := os.Readlink(filepath.Join("/proc", e.Name(), "root")); err == nil && r == root {
			pids = append(pids, pid)
		}
	}
	return pids
}

// aptState lists the host's apt and dpkg state: every path with its size,
// modification time and mode.
func aptState(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, dir := range []string{"/etc/apt", "/var/lib/apt", "/var/cache/apt", "/var/lib/dpkg"} {
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return nil
			}
			fmt.Fprintf(&b, "%s %d %d %s\n", p, fi.Size(), fi.ModTime().UnixNano(), fi.Mode())
			return nil
		})
	}
	return b.String()
}

// diffLines names the lines one of a and b has and the other lacks.
func diffLines(a, b string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	ma, mb := in(a), in(b)
	var out []string
	for l := range ma {
		if !mb[l] {
			out = append(out, "- "+l)
		}
	}
	for l := range mb {
		if !ma[l] {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}

func tailLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
