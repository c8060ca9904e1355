package images

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHostMirrorsLinks checks that a host path is added as the host
// resolves it: each symbolic link on the way becomes a link in the layer.
func TestHostMirrorsLinks(t *testing.T) {
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "usr/lib"), 0o755))
	must(os.WriteFile(filepath.Join(root, "usr/lib/libx.so.1.2"), []byte("elf"), 0o755))
	must(os.Symlink("libx.so.1.2", filepath.Join(root, "usr/lib/libx.so.1")))
	must(os.Symlink("usr/lib", filepath.Join(root, "lib")))

	tr := newTree()
	must(tr.Host(filepath.Join(root, "lib/libx.so.1")))
	got := map[string]string{}
	var buf bytes.Buffer
	must(tr.Write(&buf))
	r := tar.NewReader(&buf)
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		must(err)
		switch h.Typeflag {
		case tar.TypeSymlink:
			got["/"+h.Name] = "-> " + h.Linkname
		case tar.TypeReg:
			b, _ := io.ReadAll(r)
			got["/"+h.Name] = string(b)
		}
	}
	for p, want := range map[string]string{
		root + "/lib":                 "-> usr/lib",
		root + "/usr/lib/libx.so.1":   "-> libx.so.1.2",
		root + "/usr/lib/libx.so.1.2": "elf",
	} {
		if got[p] != want {
			t.Errorf("%s: %q, want %q (layer: %v)", p, got[p], want, got)
		}
	}
	for p := range got {
		if strings.HasPrefix(p, root+"/lib/") {
			t.Errorf("%s: added through the link, not at the link's target", p)
		}
	}
}
