package images

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/vtmeta/vtmeta/test/e2e/plane"
	"github.com/vtmeta/vtmeta/test/e2e/realnode/debian"
)

// Vitess as the images carry it: the Go module's version and the release
// it is (Vitess tags its module v0.N for release N).
const (
	VitessModuleVersion = "v0.24.4"
	VitessRelease       = "v24.0.4"
)

// Vitess is the Vitess image: laid out as vitess/lite is (/vt/bin,
// /vt/config, VTROOT=/vt), user vitess (uid 999), with busybox for the
// shell commands Pods run (sh, cp, mkdir).
var Vitess = Registry + "/vitess:" + VitessRelease

// VitessBinaries are the commands the Vitess image carries.
var VitessBinaries = []string{"vtctld", "vtctldclient", "vtgate", "vttablet", "mysqlctld", "vtorc", "vtbackup"}

// vitessBin is where the Vitess binaries are cached.
func vitessBin() string { return filepath.Join(filepath.Dir(Dir()), "vitess-"+VitessModuleVersion) }

// BuildVitessBinaries builds (or finds, cached) the Vitess commands from
// the vitess.io/vitess module with CGO_ENABLED=0, each a static binary, in
// the module ./vitess, outside go.work, in one go build; logf (nil: quiet)
// receives its progress.
func BuildVitessBinaries(logf plane.Logf) (string, error) {
	bin := vitessBin()
	stamp := filepath.Join(bin, "built")
	// Without the symbol table and DWARF (-s -w) the binaries are a third
	// smaller, which the image import pays for on every run; stack traces
	// keep their function names and lines.
	ldflags := "-s -w"
	want := VitessModuleVersion + " " + ldflags + " " + strings.Join(VitessBinaries, " ")
	if got, err := os.ReadFile(stamp); err == nil && string(got) == want {
		return bin, nil
	}
	var pkgs []string
	for _, b := range VitessBinaries {
		pkgs = append(pkgs, "vitess.io/vitess/go/cmd/"+b)
	}
	if err := (plane.GoBuild{
		What: "Vitess " + VitessRelease + " (" + strings.Join(VitessBinaries, ", ") + ")",
		Dir:  filepath.Join(here(), "vitess"),
		Env:  []string{"CGO_ENABLED=0", "GOFLAGS=-buildvcs=false"},
		Args: append([]string{"build", "-trimpath", "-ldflags", ldflags, "-o", bin + "/"}, pkgs...),
		List: pkgs,
	}).Run(logf); err != nil {
		return "", err
	}
	return bin, os.WriteFile(stamp, []byte(want), 0o644)
}

// binariesKey names the set of binaries the image carries, so that a
// binary added to VitessBinaries rebuilds a cached image.
func binariesKey() string {
	sum := sha256.Sum256([]byte(strings.Join(VitessBinaries, " ")))
	return hex.EncodeToString(sum[:4])
}

// here is this package's directory.
func here() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// vitessModuleDir is the vitess.io/vitess module in the module cache, for
// its config/ directory.
func vitessModuleDir() (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", "vitess.io/vitess@"+VitessModuleVersion)
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download vitess.io/vitess@%s: %w", VitessModuleVersion, err)
	}
	var m struct{ Dir string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		return "", fmt.Errorf("go mod download vitess.io/vitess@%s: no directory in %s", VitessModuleVersion, out)
	}
	return m.Dir, nil
}

// BuildVitess builds the Vitess image; logf (nil: quiet) receives the
// progress of its binaries' build.
func BuildVitess(logf plane.Logf) (Image, error) {
	if err := debian.Ensure("busybox-static"); err != nil {
		return Image{}, err
	}
	bb, err := debian.Version("busybox-static")
	if err != nil {
		return Image{}, err
	}
	return build(spec{
		ref: Vitess,
		key: VitessModuleVersion + "-" + binariesKey() + "-busybox" + sanitize(bb) + "-" + layout,
		layer: func() (*tree, error) {
			bin, err := BuildVitessBinaries(logf)
			if err != nil {
				return nil, err
			}
			mod, err := vitessModuleDir()
			if err != nil {
				return nil, err
			}
			t := newTree()
			if err := busybox(t); err != nil {
				return nil, err
			}
			users(t, "/vt")
			for _, b := range VitessBinaries {
				t.Copy("/vt/bin/"+b, filepath.Join(bin, b), 0o755)
			}
			if err := t.HostTree("/vt/config", filepath.Join(mod, "config")); err != nil {
				return nil, err
			}
			t.Dir("/vt/vtdataroot", 0o755, uid, uid)
			return t, nil
		},
		config: v1.Config{
			User:       fmt.Sprint(uid),
			WorkingDir: "/vt",
			Env:        []string{"PATH=/vt/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "VTROOT=/vt", "VTDATAROOT=/vt/vtdataroot", "HOME=/vt"},
		},
	})
}

// layout names the revision of how this package lays images out: change
// it when a change here must rebuild cached images.
const layout = "l3"

// sanitize makes a version usable in a file name.
func sanitize(v string) string {
	return strings.NewReplacer(":", "_", "/", "_", "+", "_", "~", "_").Replace(v)
}

// busybox adds the static busybox and a link for each of its commands,
// with Debian's merged /usr (/bin -> usr/bin).
func busybox(t *tree) error {
	const bb = "/bin/busybox"
	if err := t.Host(bb); err != nil {
		return err
	}
	if err := t.Host("/sbin"); err != nil {
		return err
	}
	out, err := exec.Command(bb, "--list-full").Output()
	if err != nil {
		return fmt.Errorf("busybox --list-full: %w", err)
	}
	real, err := filepath.EvalSymlinks(bb)
	if err != nil {
		return err
	}
	for _, l := range strings.Fields(string(out)) {
		dir, name := filepath.Split(l)
		var at string
		switch strings.Trim(dir, "/") {
		case "bin", "usr/bin":
			at = "/usr/bin/" + name
		case "sbin", "usr/sbin":
			at = "/usr/sbin/" + name
		default:
			continue
		}
		if t.Has(at) {
			continue
		}
		rel, _ := filepath.Rel(filepath.Dir(at), real)
		t.Symlink(at, rel)
	}
	return nil
}
