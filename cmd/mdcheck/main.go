// Command mdcheck checks the repository's markdown for `make verify`: every
// relative link and #anchor resolves, and every `make <target>` the docs name
// exists in the Makefile. With no arguments it checks every markdown file git
// knows (tracked, or new and not ignored).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/vtmeta/vtmeta/internal/mdcheck"
)

func main() {
	root := flag.String("root", ".", "the repository's root; files are relative to it")
	makefile := flag.String("makefile", "Makefile", "the Makefile whose targets the docs may name, relative to -root")
	flag.Parse()
	if err := run(*root, *makefile, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "mdcheck:", err)
		os.Exit(1)
	}
}

func run(root, makefile string, files []string) error {
	if len(files) == 0 {
		cmd := exec.Command("git", "ls-files", "--cached", "--others", "--exclude-standard", "--", "*.md")
		cmd.Dir = root
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("git ls-files: %w", err)
		}
		files = strings.Fields(string(bytes.TrimSpace(out)))
	}
	mk, err := os.ReadFile(root + "/" + makefile)
	if err != nil {
		return err
	}
	problems := mdcheck.Check(os.DirFS(root), files, mdcheck.Targets(mk))
	for _, p := range problems {
		fmt.Println(p)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d broken link(s), anchor(s) or make target(s) in %d file(s)", len(problems), len(files))
	}
	fmt.Printf("links, anchors and make targets of %d markdown file(s) resolve\n", len(files))
	return nil
}
