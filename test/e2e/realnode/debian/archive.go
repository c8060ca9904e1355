package debian

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
)

// Pin is one package at one version.
type Pin struct {
	Package, Version string
}

func (p Pin) String() string { return p.Package + " " + p.Version }

// ParsePins reads pins written one a line, "package version"; blank lines
// and lines starting with # are skipped.
func ParsePins(text string) ([]Pin, error) {
	var pins []Pin
	seen := map[string]bool{}
	for i, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		f := strings.Fields(l)
		if len(f) != 2 {
			return nil, fmt.Errorf("line %d: %q: want \"package version\"", i+1, l)
		}
		if seen[f[0]] {
			return nil, fmt.Errorf("line %d: %s is pinned twice", i+1, f[0])
		}
		seen[f[0]] = true
		pins = append(pins, Pin{Package: f[0], Version: f[1]})
	}
	if len(pins) == 0 {
		return nil, errors.New("no pins")
	}
	return pins, nil
}

// Archive is one suite of a Debian archive, fetched from by apt-get
// through the suite's signed index, with a configuration, source list,
// state, package lists and package cache of its own, all under Dir: the
// host's apt configuration hooks, sources, lists, caches and dpkg state
// are neither read for the fetch nor changed by it. Of the host's
// configuration it takes only how to reach the mirror (proxies) and
// whether to check a Release file's dates (a machine whose mirror serves
// a frozen snapshot turns that off); signatures are always checked, with
// Keyring.
type Archive struct {
	// Dir holds apt's configuration, state, lists and the fetched .debs.
	Dir string
	// Mirror is the archive's address, e.g. http://deb.debian.org/debian.
	Mirror string
	// Suite is the suite, e.g. sid.
	Suite string
	// Keyring is the keyring the suite's index must be signed with.
	Keyring string
	// PinsFile names where the pins are kept, for the messages that ask
	// for a pin to move.
	PinsFile string
}

// Fetch updates the suite's index and downloads exactly the pinned
// packages, each at its pinned version, into Dir/archives (a package
// already there is not downloaded again); it returns their paths, in the
// pins' order. It fails, saying which pin to move and where to, when the
// suite no longer has a pinned version, and, saying what to add, when the
// pinned packages need one that is not pinned: the pins must be the whole
// of what is installed.
func (a Archive) Fetch(pins []Pin) ([]string, error) {
	mu.Lock()
	defer mu.Unlock()
	if _, err := exec.LookPath("apt-get"); err != nil {
		return nil, fmt.Errorf("fetching Debian %s packages needs apt-get, which this machine does not have: run on Debian", a.Suite)
	}
	conf, err := a.configure()
	if err != nil {
		return nil, err
	}
	if _, err := a.apt(conf, "apt-get", "update", "-q"); err != nil {
		return nil, fmt.Errorf("debian %s: update the index from %s: %w", a.Suite, a.Mirror, err)
	}
	if err := a.checkPins(conf, pins); err != nil {
		return nil, err
	}
	args := []string{"install", "-q", "-y", "--no-install-recommends"}
	for _, p := range pins {
		args = append(args, p.Package+"="+p.Version)
	}
	// What installing them into an empty system would install: the pins
	// must be all of it.
	sim, err := a.apt(conf, "apt-get", append(slices.Clone(args), "--simulate")...)
	if err != nil {
		return nil, fmt.Errorf("debian %s: resolve the pinned packages: %w", a.Suite, err)
	}
	if err := a.checkClosure(pins, sim); err != nil {
		return nil, err
	}
	if _, err := a.apt(conf, "apt-get", append(args, "--download-only")...); err != nil {
		return nil, fmt.Errorf("debian %s: download the pinned packages: %w", a.Suite, err)
	}
	var debs []string
	for _, p := range pins {
		deb, err := a.cached(p)
		if err != nil {
			return nil, err
		}
		debs = append(debs, deb)
	}
	return debs, nil
}

// configure writes the archive's apt configuration and returns its path.
func (a Archive) configure() (string, error) {
	for _, d := range []string{"conf.d", "lists/partial", "archives/partial", "cache", "state"} {
		if err := os.MkdirAll(filepath.Join(a.Dir, d), 0o755); err != nil {
			return "", err
		}
	}
	for _, f := range []string{"status", "empty.conf"} {
		if err := os.WriteFile(filepath.Join(a.Dir, f), nil, 0o644); err != nil {
			return "", err
		}
	}
	sources := fmt.Sprintf("deb [signed-by=%s] %s %s main\n", a.Keyring, a.Mirror, a.Suite)
	if err := os.WriteFile(filepath.Join(a.Dir, "sources.list"), []byte(sources), 0o644); err != nil {
		return "", err
	}
	host, err := hostAcquire()
	if err != nil {
		return "", err
	}
	arch := runtime.GOARCH
	var b strings.Builder
	set := func(key, value string) { fmt.Fprintf(&b, "%s %q;\n", key, value) }
	// The host's configuration parts (hooks that run after an update or
	// clean /var/cache/apt) and main file are replaced by empty ones.
	set("Dir::Etc::Parts", filepath.Join(a.Dir, "conf.d"))
	set("Dir::Etc::Main", filepath.Join(a.Dir, "empty.conf"))
	set("Dir::Etc::SourceList", filepath.Join(a.Dir, "sources.list"))
	set("Dir::Etc::SourceParts", filepath.Join(a.Dir, "conf.d"))
	set("Dir::Etc::Preferences", filepath.Join(a.Dir, "empty.conf"))
	set("Dir::Etc::PreferencesParts", filepath.Join(a.Dir, "conf.d"))
	set("Dir::State", filepath.Join(a.Dir, "state"))
	set("Dir::State::Lists", filepath.Join(a.Dir, "lists"))
	// An empty dpkg status: dependencies resolve as on an empty system.
	set("Dir::State::status", filepath.Join(a.Dir, "status"))
	set("Dir::Cache", filepath.Join(a.Dir, "cache"))
	set("Dir::Cache::Archives", filepath.Join(a.Dir, "archives"))
	set("Dir::Log", filepath.Join(a.Dir, "state"))
	set("APT::Architecture", arch)
	fmt.Fprintf(&b, "APT::Architectures { %q; };\n", arch)
	set("Acquire::Languages", "none")
	set("APT::Install-Recommends", "false")
	set("APT::Install-Suggests", "false")
	for _, kv := range host {
		set(kv[0], kv[1])
	}
	conf := filepath.Join(a.Dir, "apt.conf")
	return conf, os.WriteFile(conf, []byte(b.String()), 0o644)
}

// hostAcquire is what the archive takes of the host's apt configuration:
// its proxies and whether it checks a Release file's dates.
func hostAcquire() ([][2]string, error) {
	keys := []string{"Acquire::http::Proxy", "Acquire::https::Proxy", "Acquire::Check-Valid-Until", "Acquire::Check-Date"}
	args := []string{"shell"}
	for i, k := range keys {
		args = append(args, fmt.Sprintf("V%d", i), k)
	}
	cmd := exec.Command("apt-config", args...)
	cmd.Env = withoutAptConfig(os.Environ())
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("apt-config shell: %w", err)
	}
	var kv [][2]string
	for _, l := range strings.Split(string(out), "\n") {
		name, value, ok := strings.Cut(l, "=")
		if !ok {
			continue
		}
		var i int
		if _, err := fmt.Sscanf(name, "V%d", &i); err != nil || i < 0 || i >= len(keys) {
			continue
		}
		kv = append(kv, [2]string{keys[i], strings.Trim(value, "'")})
	}
	return kv, nil
}

func withoutAptConfig(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(e string) bool { return strings.HasPrefix(e, "APT_CONFIG=") })
}

// apt runs an apt command under the archive's configuration.
func (a Archive) apt(conf string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = a.Dir
	cmd.Env = append(withoutAptConfig(os.Environ()), "APT_CONFIG="+conf, "DEBIAN_FRONTEND=noninteractive")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, tail(string(out), 20))
	}
	return string(out), nil
}

// checkPins says which pinned versions the suite no longer has, and what
// it has instead.
func (a Archive) checkPins(conf string, pins []Pin) error {
	args := []string{"policy"}
	for _, p := range pins {
		args = append(args, p.Package)
	}
	out, err := a.apt(conf, "apt-cache", args...)
	if err != nil {
		return fmt.Errorf("debian %s: %w", a.Suite, err)
	}
	return a.movedPins(pins, ParsePolicy(out))
}

// movedPins is the error naming every pin whose version versions (as
// ParsePolicy reads them) does not hold, or nil.
func (a Archive) movedPins(pins []Pin, versions map[string]Versions) error {
	var moved []string
	for _, p := range pins {
		v, ok := versions[p.Package]
		switch {
		case !ok || v.Candidate == "":
			moved = append(moved, fmt.Sprintf("%s %s: %s has no %s any more: remove its pin, or replace the package that needs it", p.Package, p.Version, a.Suite, p.Package))
		case !slices.Contains(v.Available, p.Version):
			moved = append(moved, fmt.Sprintf("%s %s: gone from %s, which now has %s: move the pin to %s %s", p.Package, p.Version, a.Suite, strings.Join(v.Available, ", "), p.Package, v.Candidate))
		}
	}
	if len(moved) == 0 {
		return nil
	}
	return fmt.Errorf("debian %s (%s): pinned versions are gone; move these pins in %s:\n  %s", a.Suite, a.Mirror, a.PinsFile, strings.Join(moved, "\n  "))
}

// Versions is what apt-cache policy says of a package.
type Versions struct {
	Candidate string
	Available []string
}

// policyVersion matches a version line of apt-cache policy's version
// table: "     9.7.4-2 500", or " *** 1.0 100" for the installed one.
var policyVersion = regexp.MustCompile(`^\s+(?:\*\*\*\s+)?(\S+)\s+-?\d+$`)

// ParsePolicy reads apt-cache policy's output: each package's candidate
// and the versions its sources have.
func ParsePolicy(out string) map[string]Versions {
	res := map[string]Versions{}
	var pkg string
	var v Versions
	flush := func() {
		if pkg != "" {
			res[pkg] = v
		}
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		l := sc.Text()
		switch {
		case l != "" && !strings.HasPrefix(l, " ") && strings.HasSuffix(l, ":"):
			flush()
			pkg, v = strings.TrimSuffix(l, ":"), Versions{}
		case strings.HasPrefix(strings.TrimSpace(l), "Candidate:"):
			if c := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "Candidate:")); c != "(none)" {
				v.Candidate = c
			}
		default:
			if m := policyVersion.FindStringSubmatch(l); m != nil {
				v.Available = append(v.Available, m[1])
			}
		}
	}
	flush()
	return res
}

// instLine matches a package apt-get --simulate would install:
// "Inst libc6 (2.43-7 Debian:unstable [amd64])".
var instLine = regexp.MustCompile(`(?m)^Inst (\S+) \((\S+) `)

// checkClosure fails when installing the pins would install a package
// that is not pinned, or another version of one that is.
func (a Archive) checkClosure(pins []Pin, simulated string) error {
	pinned := map[string]string{}
	for _, p := range pins {
		pinned[p.Package] = p.Version
	}
	var missing []string
	for _, m := range instLine.FindAllStringSubmatch(simulated, -1) {
		name, version := m[1], m[2]
		if i := strings.IndexByte(name, ':'); i >= 0 {
			name = name[:i] // libc6:amd64
		}
		switch want, ok := pinned[name]; {
		case !ok:
			missing = append(missing, name+" "+version)
		case want != version:
			missing = append(missing, fmt.Sprintf("%s %s (pinned at %s)", name, version, want))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("debian %s: the pinned packages now need packages that are not pinned; add these pins to %s:\n  %s", a.Suite, a.PinsFile, strings.Join(missing, "\n  "))
}

// cached is the path of a pinned package in the archive's cache, as apt
// names it (an epoch's colon is written %3a).
func (a Archive) cached(p Pin) (string, error) {
	v := strings.ReplaceAll(p.Version, ":", "%3a")
	matches, err := filepath.Glob(filepath.Join(a.Dir, "archives", p.Package+"_"+v+"_*.deb"))
	if err != nil {
		return "", err
	}
	if len(matches) != 1 {
		return "", fmt.Errorf("debian %s: %s %s: want one .deb in %s after the download, found %d", a.Suite, p.Package, p.Version, filepath.Join(a.Dir, "archives"), len(matches))
	}
	return matches[0], nil
}

// Unpack extracts the .debs' files into root with dpkg-deb, as dpkg
// would lay them out, without running any maintainer script.
func Unpack(debs []string, root string) error {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	for _, d := range debs {
		if out, err := exec.Command("dpkg-deb", "--extract", d, root).CombinedOutput(); err != nil {
			return fmt.Errorf("dpkg-deb --extract %s: %w\n%s", filepath.Base(d), err, out)
		}
	}
	return nil
}
