package images

import (
	"crypto/sha256"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/vtmeta/vtmeta/test/e2e/plane"
	"github.com/vtmeta/vtmeta/test/e2e/realnode/debian"
)

// MySQLVersion is the MySQL release the mysqld image carries.
const MySQLVersion = "9.7.4"

// MySQL is the mysqld image: MySQL from Debian sid's mysql-server-core and
// mysql-client-core (Debian's only MySQL; bookworm and trixie have none),
// in one root file system made of sid's packages alone, with its own libc:
// the packages of mysql-packages.txt, each at its pinned version, fetched
// by apt-get through sid's signed index into test/e2e/.bin/debian/sid and
// unpacked with dpkg-deb. It carries no Vitess: tablet Pods copy mysqlctld
// in from the Vitess image. mysqld_safe is a shell script, so the image
// has dash as sh and the tools it runs; it runs as the vitess user (uid
// 999), as mysqld refuses root.
var MySQL = Registry + "/mysql:" + MySQLVersion

//go:embed mysql-packages.txt
var mysqlPackages string

// mysqlPinsFile is where the pins are, for the messages asking to move one.
const mysqlPinsFile = "test/e2e/realnode/images/mysql-packages.txt"

// MySQLPins are the pinned packages of the mysqld image.
func MySQLPins() ([]debian.Pin, error) {
	pins, err := debian.ParsePins(mysqlPackages)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", mysqlPinsFile, err)
	}
	for _, p := range pins {
		if (p.Package == "mysql-server-core" || p.Package == "mysql-client-core") && !strings.HasPrefix(p.Version, MySQLVersion+"-") {
			return nil, fmt.Errorf("%s pins %s %s, and the image is named for MySQL %s: move MySQLVersion in mysql.go with the pin", mysqlPinsFile, p.Package, p.Version, MySQLVersion)
		}
	}
	return pins, nil
}

// Sid is Debian's sid suite as the images fetch from it, with apt's
// configuration, state, lists and package cache in test/e2e/.bin/debian/sid.
// VTMETA_DEBIAN_MIRROR names another mirror than deb.debian.org.
func Sid() debian.Archive {
	mirror := os.Getenv("VTMETA_DEBIAN_MIRROR")
	if mirror == "" {
		mirror = "http://deb.debian.org/debian"
	}
	return debian.Archive{
		Dir:      filepath.Join(plane.BinDir(), "debian", "sid"),
		Mirror:   mirror,
		Suite:    "sid",
		Keyring:  "/usr/share/keyrings/debian-archive-keyring.gpg",
		PinsFile: mysqlPinsFile,
	}
}

// mysqlKey names what the image is made of: the pins and the layout.
func mysqlKey() string {
	sum := sha256.Sum256([]byte(mysqlPackages))
	return fmt.Sprintf("%x-%s", sum[:6], layout)
}

// mysqlPrune are the package files the image leaves out: documentation,
// manuals, translations of messages mysqld does not use.
var mysqlPrune = []string{"usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/lintian", "usr/share/locale"}

// BuildMySQL builds the mysqld image.
func BuildMySQL() (Image, error) {
	pins, err := MySQLPins()
	if err != nil {
		return Image{}, err
	}
	var root string
	defer func() {
		if root != "" {
			_ = os.RemoveAll(root)
		}
	}()
	return build(spec{
		ref: MySQL,
		key: mysqlKey(),
		layer: func() (*tree, error) {
			debs, err := Sid().Fetch(pins)
			if err != nil {
				return nil, err
			}
			if err := os.MkdirAll(Dir(), 0o755); err != nil {
				return nil, err
			}
			if root, err = os.MkdirTemp(Dir(), "mysql-root-"); err != nil {
				return nil, err
			}
			if err := debian.Unpack(debs, root); err != nil {
				return nil, err
			}
			if err := finishRoot(root); err != nil {
				return nil, err
			}
			t := newTree()
			if err := t.HostTree("/", root); err != nil {
				return nil, err
			}
			users(t, "/var/lib/mysql")
			t.Dir("/dev", 0o755, 0, 0)
			t.Dir("/proc", 0o555, 0, 0)
			t.Dir("/var/lib/mysql", 0o750, uid, uid)
			t.Dir("/var/lib/mysql-files", 0o750, uid, uid)
			t.Dir("/run/mysqld", 0o755, uid, uid)
			return t, nil
		},
		config: v1.Config{
			User: fmt.Sprint(uid),
			Env:  []string{"PATH=/usr/local/bin:/usr/bin:/usr/sbin"},
		},
	})
}

// finishRoot makes an unpacked root file system whole: Debian's merged
// /usr (sid's packages ship their files under /usr alone), sh as dash,
// and no documentation.
func finishRoot(root string) error {
	for _, p := range mysqlPrune {
		if err := os.RemoveAll(filepath.Join(root, p)); err != nil {
			return err
		}
	}
	for _, d := range []string{"bin", "sbin", "lib", "lib64"} {
		at := filepath.Join(root, d)
		if fi, err := os.Lstat(at); err == nil {
			if fi.Mode()&os.ModeSymlink != 0 {
				continue
			}
			return fmt.Errorf("/%s is a directory in the unpacked packages, not a link to /usr/%s: a package ships files outside /usr", d, d)
		}
		if err := os.MkdirAll(filepath.Join(root, "usr", d), 0o755); err != nil {
			return err
		}
		if err := os.Symlink("usr/"+d, at); err != nil {
			return err
		}
	}
	sh := filepath.Join(root, "usr/bin/sh")
	if target, err := os.Readlink(sh); err != nil || target != "dash" {
		_ = os.Remove(sh)
		if err := os.Symlink("dash", sh); err != nil {
			return err
		}
	}
	for _, p := range []string{"usr/sbin/mysqld", "usr/bin/mysqld_safe", "usr/bin/mysql", "usr/bin/dash"} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			return fmt.Errorf("the unpacked packages lack /%s: %w", p, err)
		}
	}
	return nil
}

// MySQLRoot is the mysqld image unpacked (built first when need be), in
// test/e2e/.bin/images: a root file system whose programs, the mysql
// client among them, run from the host through chroot.
func MySQLRoot() (string, error) {
	img, err := BuildMySQL()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(Dir(), "mysql-root-"+mysqlKey())
	stamp := filepath.Join(dir, ".unpacked")
	if _, err := os.Stat(stamp); err == nil {
		return dir, nil
	}
	_ = os.RemoveAll(dir)
	if err := Unpack(img, dir); err != nil {
		return "", err
	}
	return dir, os.WriteFile(stamp, nil, 0o644)
}
