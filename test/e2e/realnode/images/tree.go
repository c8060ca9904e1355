package images

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// tree is the file system of one image layer, assembled from host files
// and generated ones, written as a tar stream.
type tree struct {
	entries map[string]*entry
}

type entry struct {
	mode     fs.FileMode // permission bits and type (dir, symlink)
	uid, gid int
	link     string // symlink target
	src      string // host file with the contents
	data     []byte // generated contents
}

func newTree() *tree { return &tree{entries: map[string]*entry{}} }

// clean makes an image path absolute and clean.
func clean(p string) string { return path.Clean("/" + p) }

// parents adds every missing parent directory of p, owned by root.
func (t *tree) parents(p string) {
	for d := path.Dir(p); d != "/"; d = path.Dir(d) {
		if _, ok := t.entries[d]; !ok {
			t.entries[d] = &entry{mode: fs.ModeDir | 0o755}
		}
	}
}

// Dir adds a directory.
func (t *tree) Dir(p string, perm fs.FileMode, uid, gid int) {
	p = clean(p)
	t.parents(p)
	t.entries[p] = &entry{mode: fs.ModeDir | perm, uid: uid, gid: gid}
}

// File adds a file with generated contents.
func (t *tree) File(p string, perm fs.FileMode, data []byte) {
	p = clean(p)
	t.parents(p)
	t.entries[p] = &entry{mode: perm, data: data}
}

// Copy adds a host file's contents at p.
func (t *tree) Copy(p, src string, perm fs.FileMode) {
	p = clean(p)
	t.parents(p)
	t.entries[p] = &entry{mode: perm, src: src}
}

// Symlink adds a symbolic link.
func (t *tree) Symlink(p, target string) {
	p = clean(p)
	t.parents(p)
	t.entries[p] = &entry{mode: fs.ModeSymlink | 0o777, link: target}
}

// Has says whether p is in the tree.
func (t *tree) Has(p string) bool { _, ok := t.entries[clean(p)]; return ok }

// Host adds a host path at the same place, as the host has it: every
// symbolic link on the way (Debian's /lib -> usr/lib, a library's soname
// link) is added as a link and followed, so the image resolves the path
// as the host does. Directories are added empty; use HostTree for their
// contents.
func (t *tree) Host(p string) error {
	p = clean(p)
	for range 40 {
		resolved, err := t.hostStep(p)
		if err != nil {
			return err
		}
		if resolved == p {
			return nil
		}
		p = resolved
	}
	return fmt.Errorf("%s: too many symbolic links", p)
}

// hostStep adds the first symbolic link on p's way, or p itself when there
// is none, and returns where p then leads.
func (t *tree) hostStep(p string) (string, error) {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	cur := "/"
	for i, part := range parts {
		cur = path.Join(cur, part)
		fi, err := os.Lstat(cur)
		if err != nil {
			return "", fmt.Errorf("image file %s: %w", p, err)
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(cur)
			if err != nil {
				return "", err
			}
			t.Symlink(cur, target)
			if !path.IsAbs(target) {
				target = path.Join(path.Dir(cur), target)
			}
			return clean(path.Join(append([]string{target}, parts[i+1:]...)...)), nil
		case i < len(parts)-1:
			if !fi.IsDir() {
				return "", fmt.Errorf("image file %s: %s is not a directory", p, cur)
			}
			if _, ok := t.entries[cur]; !ok {
				t.entries[cur] = &entry{mode: fs.ModeDir | fi.Mode().Perm()}
			}
		case fi.IsDir():
			if _, ok := t.entries[cur]; !ok {
				t.entries[cur] = &entry{mode: fs.ModeDir | fi.Mode().Perm()}
			}
		case fi.Mode().IsRegular():
			t.entries[cur] = &entry{mode: fi.Mode().Perm(), src: cur}
		default:
			return "", fmt.Errorf("image file %s: not a regular file, directory or link", cur)
		}
	}
	return p, nil
}

// HostTree adds a host directory and everything under it at dst.
func (t *tree) HostTree(dst, src string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		at := path.Join(dst, filepath.ToSlash(rel))
		if at == "/" {
			return nil // the image's root is no entry of its own
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			t.Dir(at, 0o755, 0, 0)
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			t.Symlink(at, target)
		case fi.Mode().IsRegular():
			// Module cache files are read-only: keep only the execute bits.
			t.Copy(at, p, 0o644|fi.Mode().Perm()&0o111)
		}
		return nil
	})
}

// lddLine matches the library paths ldd prints: "libz.so.1 => /lib/...
// (0x...)" and the loader's "/lib64/ld-linux-x86-64.so.2 (0x...)".
var lddLine = regexp.MustCompile(`(?m)(?:=>\s+)?(/\S+)\s+\(0x[0-9a-f]+\)`)

// Libraries adds every shared library the tree's dynamically linked
// executables and libraries load, as ldd finds them on the host.
func (t *tree) Libraries() error {
	seen := map[string]bool{}
	for {
		var todo []string
		for p, e := range t.entries {
			if e.src != "" && !seen[p] && isDynamicELF(e.src) {
				todo = append(todo, p)
			}
		}
		if len(todo) == 0 {
			return nil
		}
		slices.Sort(todo)
		for _, p := range todo {
			seen[p] = true
			out, err := exec.Command("ldd", t.entries[p].src).CombinedOutput()
			if err != nil {
				return fmt.Errorf("ldd %s: %w\n%s", p, err, out)
			}
			if bytes.Contains(out, []byte("not found")) {
				return fmt.Errorf("ldd %s: a library is missing on the host:\n%s", p, out)
			}
			for _, m := range lddLine.FindAllSubmatch(out, -1) {
				if err := t.Host(string(m[1])); err != nil {
					return err
				}
			}
		}
	}
}

// isDynamicELF says whether a file is an ELF object with dynamic
// dependencies.
func isDynamicELF(p string) bool {
	f, err := elf.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	libs, err := f.ImportedLibraries()
	return err == nil && len(libs) > 0
}

// Write writes the tree as a tar stream, parents before children, in a
// fixed order and with fixed times so that the same inputs give the same
// layer.
func (t *tree) Write(w io.Writer) error {
	paths := make([]string, 0, len(t.entries))
	for p := range t.entries {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	tw := tar.NewWriter(w)
	for _, p := range paths {
		e := t.entries[p]
		h := &tar.Header{Name: strings.TrimPrefix(p, "/"), Mode: int64(e.mode.Perm()), Uid: e.uid, Gid: e.gid, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		if e.mode&fs.ModeSticky != 0 {
			h.Mode |= 0o1000
		}
		switch {
		case e.mode.IsDir():
			h.Typeflag, h.Name = tar.TypeDir, h.Name+"/"
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
		case e.mode&fs.ModeSymlink != 0:
			h.Typeflag, h.Linkname = tar.TypeSymlink, e.link
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
		case e.src != "":
			if err := writeHostFile(tw, h, e.src); err != nil {
				return err
			}
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.data))
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			if _, err := tw.Write(e.data); err != nil {
				return err
			}
		}
	}
	return tw.Close()
}

func writeHostFile(tw *tar.Writer, h *tar.Header, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	h.Typeflag, h.Size = tar.TypeReg, fi.Size()
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	return nil
}
