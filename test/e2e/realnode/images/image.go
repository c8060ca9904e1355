// Package images assembles the container images the real node runs
// (test/e2e/realnode), without a registry and without a container engine:
// Vitess built from its Go module (with busybox from Debian's packages),
// MySQL from Debian sid's packages, etcd from the plane's build, and a
// pause program. Each is written as an image tarball that `ctr images
// import` takes, under a clearly local name (vtmeta.local/...) for Pods to
// use with imagePullPolicy IfNotPresent, and kept in test/e2e/.bin/images
// keyed by what it was made from, so a warm run builds nothing.
package images

import (
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/vtmeta/vtmeta/test/e2e/plane"
)

// Registry is the made-up registry host every local image is named under:
// nothing is ever pulled from it.
const Registry = "vtmeta.local"

// Image is a built image: its reference and the tarball to import.
type Image struct {
	Ref     string
	Tarball string
}

// Dir is where built images are cached.
func Dir() string { return filepath.Join(plane.BinDir(), "images") }

// spec is what an image is made of.
type spec struct {
	ref string
	// key names the inputs (versions); a tarball of the same key is reused.
	key    string
	layer  func() (*tree, error)
	config v1.Config
}

// build writes the image's tarball unless one of the same key exists.
func build(s spec) (Image, error) {
	ref, err := name.NewTag(s.ref, name.StrictValidation)
	if err != nil {
		return Image{}, fmt.Errorf("image name %s: %w", s.ref, err)
	}
	dir := Dir()
	out := filepath.Join(dir, fmt.Sprintf("%s-%s.tar", filepath.Base(ref.RepositoryStr()), s.key))
	img := Image{Ref: s.ref, Tarball: out}
	if _, err := os.Stat(out); err == nil {
		return img, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Image{}, err
	}
	t, err := s.layer()
	if err != nil {
		return Image{}, fmt.Errorf("image %s: %w", s.ref, err)
	}
	// The layer is compressed once, at gzip's fastest level: the images
	// never leave this machine.
	layerPath := out + ".layer.tar.gz"
	defer os.Remove(layerPath)
	if err := writeLayer(t, layerPath); err != nil {
		return Image{}, fmt.Errorf("image %s: %w", s.ref, err)
	}
	layer, err := tarball.LayerFromFile(layerPath)
	if err != nil {
		return Image{}, fmt.Errorf("image %s: %w", s.ref, err)
	}
	i, err := mutate.Append(empty.Image, mutate.Addendum{Layer: layer, History: v1.History{CreatedBy: "vtmeta test/e2e/realnode/images", Created: v1.Time{}}})
	if err != nil {
		return Image{}, err
	}
	cf, err := i.ConfigFile()
	if err != nil {
		return Image{}, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config = s.config
	if i, err = mutate.ConfigFile(i, cf); err != nil {
		return Image{}, err
	}
	tmp := out + ".tmp"
	defer os.Remove(tmp)
	if err := tarball.WriteToFile(tmp, ref, i); err != nil {
		return Image{}, fmt.Errorf("write image %s: %w", s.ref, err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return Image{}, err
	}
	// Older builds of the same image are of no more use.
	old, _ := filepath.Glob(filepath.Join(dir, filepath.Base(ref.RepositoryStr())+"-*.tar"))
	for _, o := range old {
		if o != out {
			_ = os.Remove(o)
		}
	}
	return img, nil
}

func writeLayer(t *tree, path string) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	zw, err := gzip.NewWriterLevel(f, gzip.BestSpeed)
	if err != nil {
		return err
	}
	if err := t.Write(zw); err != nil {
		return err
	}
	return zw.Close()
}

// Vitess's images run as this user: Vitess refuses to run as root, and
// vtmeta's Pods run as uid 999.
const (
	uid      = 999
	username = "vitess"
)

// users adds /etc/passwd and /etc/group with root and the vitess user, and
// a /tmp.
func users(t *tree, home string) {
	t.File("/etc/passwd", 0o644, fmt.Appendf(nil, "root:x:0:0:root:/root:/bin/sh\n%s:x:%d:%d:Vitess:%s:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n", username, uid, uid, home))
	t.File("/etc/group", 0o644, fmt.Appendf(nil, "root:x:0:\n%s:x:%d:\nnogroup:x:65534:\n", username, uid))
	t.Dir("/tmp", 0o777|os.ModeSticky, 0, 0)
}
