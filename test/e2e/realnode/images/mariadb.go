package images

import (
	"fmt"
	"os"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/vtmeta/vtmeta/test/e2e/realnode/debian"
)

// MariaDB is the mysqld image: MariaDB 10.11 from Debian's packages with
// every shared library its programs load, what mysqlctld runs of it
// (mysqld, mysql_install_db, mysql, mysqladmin, mysqlbinlog, share files:
// errmsg, charsets, the system tables' SQL), and busybox for the shell
// scripts among them (mysql_install_db). It carries no Vitess: tablet Pods
// copy mysqlctld in from the Vitess image. MySQL 8 has no Debian package
// and no registry is reachable; Vitess 24 supports MariaDB only partly.
var MariaDB = Registry + "/mariadb:10.11"

// mariadbPackages are the packages whose files the image takes whole.
var mariadbPackages = []string{"mariadb-server-core", "mariadb-client-core"}

// mariadbClientTools are what the image takes of mariadb-client (the rest
// of it is Perl scripts): the programs mysqlctld runs to stop mysqld and to
// apply binary logs, and mysqldump. A name without its MariaDB program is
// linked to it here (Debian links some, not mysqlbinlog).
var mariadbClientTools = map[string]string{
	"/usr/bin/mariadb-admin":  "/usr/bin/mysqladmin",
	"/usr/bin/mariadb-binlog": "/usr/bin/mysqlbinlog",
	"/usr/bin/mariadb-dump":   "/usr/bin/mysqldump",
}

// BuildMariaDB builds the mysqld image.
func BuildMariaDB() (Image, error) {
	pkgs := append([]string{"busybox-static", "mariadb-client"}, mariadbPackages...)
	if err := debian.Ensure(pkgs...); err != nil {
		return Image{}, err
	}
	var key []string
	for _, p := range pkgs {
		v, err := debian.Version(p)
		if err != nil {
			return Image{}, err
		}
		key = append(key, sanitize(v))
	}
	// One version for all: the packages come from one MariaDB source.
	return build(spec{
		ref: MariaDB,
		key: strings.Join(uniq(key), "-") + "-" + layout,
		layer: func() (*tree, error) {
			t := newTree()
			if err := busybox(t); err != nil {
				return nil, err
			}
			users(t, "/var/lib/mysql")
			for _, p := range mariadbPackages {
				files, err := debian.Files(p)
				if err != nil {
					return nil, err
				}
				for _, f := range files {
					if strings.HasPrefix(f, "/usr/share/doc") || strings.HasPrefix(f, "/usr/share/man") || strings.HasPrefix(f, "/usr/share/lintian") {
						continue
					}
					fi, err := os.Lstat(f)
					if err != nil {
						return nil, fmt.Errorf("package %s: %w", p, err)
					}
					if fi.IsDir() {
						continue
					}
					if err := t.Host(f); err != nil {
						return nil, err
					}
				}
			}
			for tool, alias := range mariadbClientTools {
				if err := t.Host(tool); err != nil {
					return nil, err
				}
				t.Symlink(alias, strings.TrimPrefix(tool, "/usr/bin/"))
			}
			if err := t.Libraries(); err != nil {
				return nil, err
			}
			t.Dir("/var/lib/mysql", 0o755, uid, uid)
			t.Dir("/run/mysqld", 0o755, uid, uid)
			return t, nil
		},
		config: v1.Config{
			User: fmt.Sprint(uid),
			Env:  []string{"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"},
		},
	})
}

func uniq(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
