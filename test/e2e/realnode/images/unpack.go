package images

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Unpack writes an image's file system into dir, as a container runtime
// would lay it out: its layers flattened, owners, modes (the sticky bit
// too) and links kept. Ownership needs root.
func Unpack(img Image, dir string) error {
	i, err := tarball.ImageFromPath(img.Tarball, nil)
	if err != nil {
		return fmt.Errorf("read image %s: %w", img.Ref, err)
	}
	rc := mutate.Extract(i)
	defer rc.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := extract(tar.NewReader(rc), dir); err != nil {
		return fmt.Errorf("unpack image %s: %w", img.Ref, err)
	}
	return nil
}

func extract(r *tar.Reader, dir string) error {
	for {
		h, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Clean("/" + h.Name)
		if name == "/" {
			continue
		}
		at := filepath.Join(dir, name)
		mode := fs.FileMode(h.Mode & 0o777)
		if h.Mode&0o1000 != 0 {
			mode |= fs.ModeSticky
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(at, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := writeFile(at, r); err != nil {
				return err
			}
		case tar.TypeSymlink:
			_ = os.Remove(at)
			if err := os.Symlink(h.Linkname, at); err != nil {
				return err
			}
			if err := os.Lchown(at, h.Uid, h.Gid); err != nil {
				return err
			}
			continue
		case tar.TypeLink:
			target := filepath.Join(dir, filepath.Clean("/"+h.Linkname))
			if !strings.HasPrefix(target, dir) {
				return fmt.Errorf("%s: link out of the image", h.Name)
			}
			_ = os.Remove(at)
			if err := os.Link(target, at); err != nil {
				return err
			}
			continue
		default:
			return fmt.Errorf("%s: unexpected tar entry type %c", h.Name, h.Typeflag)
		}
		if err := os.Chown(at, h.Uid, h.Gid); err != nil {
			return err
		}
		if err := os.Chmod(at, mode); err != nil {
			return err
		}
	}
}

func writeFile(at string, r io.Reader) (err error) {
	_ = os.Remove(at)
	f, err := os.OpenFile(at, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	_, err = io.Copy(f, r)
	return err
}
