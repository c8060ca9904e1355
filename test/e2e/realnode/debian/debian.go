// Package debian gets the Debian packages the real node and its images
// are made of, through apt-get: Ensure installs the host's own (when the
// machine is Debian and the test runs as root; elsewhere it says what to
// install), and an Archive fetches pinned packages of another suite (sid)
// with apt state of its own, for an image's root file system, leaving the
// host's apt state as it was.
package debian

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
)

// mu serializes apt within the test binary: apt holds locks, the host's
// and each Archive's.
var mu sync.Mutex

// Ensure installs whichever of pkgs is not installed yet.
func Ensure(pkgs ...string) error {
	mu.Lock()
	defer mu.Unlock()
	var missing []string
	for _, p := range pkgs {
		if !Installed(p) {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	how := "apt-get install " + strings.Join(missing, " ")
	if _, err := exec.LookPath("apt-get"); err != nil {
		return fmt.Errorf("the real node needs the Debian packages %s, and this machine has no apt-get: install their equivalents or run on Debian", strings.Join(missing, ", "))
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("the real node needs the Debian packages %s: run as root, or install them first (%s)", strings.Join(missing, ", "), how)
	}
	install := func() error {
		return run(append([]string{"apt-get", "install", "-y", "-q", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=300"}, missing...)...)
	}
	if err := install(); err != nil {
		// A fresh machine has no package lists yet.
		if uerr := run("apt-get", "update", "-q", "-o", "DPkg::Lock::Timeout=300"); uerr != nil {
			return errors.Join(err, uerr)
		}
		if err := install(); err != nil {
			return err
		}
	}
	for _, p := range missing {
		if !Installed(p) {
			return fmt.Errorf("%s: still not installed after %s", p, how)
		}
	}
	return nil
}

// Installed says whether a package is installed.
func Installed(pkg string) bool {
	out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", pkg).Output()
	return err == nil && strings.TrimSpace(string(out)) == "install ok installed"
}

// Version is the installed version of a package.
func Version(pkg string) (string, error) {
	out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", pkg).Output()
	if err != nil {
		return "", fmt.Errorf("dpkg-query %s: %w", pkg, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Files lists the paths a package installed (directories included).
func Files(pkg string) ([]string, error) {
	out, err := exec.Command("dpkg-query", "-L", pkg).Output()
	if err != nil {
		return nil, fmt.Errorf("dpkg-query -L %s: %w", pkg, err)
	}
	var files []string
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "/") && l != "/." {
			files = append(files, l)
		}
	}
	return files, nil
}

func run(args ...string) error {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), err, tail(string(out), 20))
	}
	return nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
