package images

import (
	"debug/buildinfo"
	"fmt"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/vtmeta/vtmeta/test/e2e/plane"
)

// EtcdModule is the module whose version names the etcd image.
const EtcdModule = "go.etcd.io/etcd/server/v3"

// BuildEtcd builds the etcd image from the etcd the plane builds (its
// version pinned in test/e2e/plane/binaries), at /usr/local/bin/etcd with
// the libraries it loads, if any; its reference is
// vtmeta.local/etcd:<version>.
func BuildEtcd() (Image, error) {
	if err := plane.Build(nil); err != nil {
		return Image{}, err
	}
	bin := filepath.Join(plane.BinDir(), "etcd")
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		return Image{}, fmt.Errorf("etcd build info: %w", err)
	}
	version := ""
	for _, d := range info.Deps {
		if d.Path == EtcdModule {
			version = d.Version
		}
	}
	if version == "" {
		return Image{}, fmt.Errorf("%s: no %s in its build info", bin, EtcdModule)
	}
	return build(spec{
		ref: Registry + "/etcd:" + version,
		key: version + "-" + layout,
		layer: func() (*tree, error) {
			t := newTree()
			if err := busybox(t); err != nil {
				return nil, err
			}
			users(t, "/var/lib/etcd")
			t.Copy("/usr/local/bin/etcd", bin, 0o755)
			if err := t.Libraries(); err != nil {
				return nil, err
			}
			t.Dir("/var/lib/etcd", 0o700, uid, uid)
			return t, nil
		},
		config: v1.Config{
			User:       fmt.Sprint(uid),
			Entrypoint: []string{"/usr/local/bin/etcd"},
			Env:        []string{"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"},
		},
	})
}
