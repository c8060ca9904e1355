package mdcheck

import (
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

func TestSlug(t *testing.T) {
	for _, tc := range []struct{ heading, want string }{
		{"Install on a cluster", "install-on-a-cluster"},
		{"How fast it converges: Metacontroller's client rate", "how-fast-it-converges-metacontrollers-client-rate"},
		{"The vtmeta CLI: `kubectl vtmeta`", "the-vtmeta-cli-kubectl-vtmeta"},
		{"Convergence on a real control plane, at Metacontroller's stock rate", "convergence-on-a-real-control-plane-at-metacontrollers-stock-rate"},
		{"VtmetaHookBusy", "vtmetahookbusy"},
		{"`max_body_bytes` and snake_case", "max_body_bytes-and-snake_case"},
		{"_emphasis_ and **bold**", "emphasis-and-bold"},
		{"[A link](other.md) here", "a-link-here"},
		{"Two  spaces", "two--spaces"},
		{"Em — dash → arrow", "em--dash--arrow"},
		{"1. Numbered", "1-numbered"},
		{"Ünïcode Héading", "ünïcode-héading"},
		{"a <br> tag &amp; entity", "a--tag--entity"},
		{`Escaped \_underscore\_`, "escaped-_underscore_"},
	} {
		if got := Slug(tc.heading); got != tc.want {
			t.Errorf("Slug(%q) = %q, want %q", tc.heading, got, tc.want)
		}
	}
}

func TestAnchors(t *testing.T) {
	src := "# Title\n\nText\n\n## Usage\n\n## Usage\n\n## Usage\n\nSetext heading\n---\n\n" +
		"```sh\n# not a heading\n```\n\n<a id=\"custom\"></a>\n\n### Closed ###\n"
	got := Anchors([]byte(src))
	for _, a := range []string{"title", "usage", "usage-1", "usage-2", "setext-heading", "custom", "closed"} {
		if !got[a] {
			t.Errorf("no anchor %q in %v", a, got)
		}
	}
	for _, a := range []string{"not-a-heading", "usage-3", "text"} {
		if got[a] {
			t.Errorf("anchor %q should not exist", a)
		}
	}
}

func TestLinks(t *testing.T) {
	src := "See [the docs](docs/a.md#x) and ![img](img.png \"title\").\n" +
		"A `[code](not-a-link.md)` span,\n[wrapped\ntext](b.md) and <https://example.com>.\n\n" +
		"```\n[in a block](nope.md)\n```\n\n[ref]: c.md#y\n[paren](<d e.md>)\n"
	want := []Link{{1, "docs/a.md#x"}, {1, "img.png"}, {3, "b.md"}, {11, "d e.md"}, {10, "c.md#y"}}
	got := Links([]byte(src))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Links = %v, want %v", got, want)
	}
}

func TestMakeRefs(t *testing.T) {
	src := "Run `make demo`, `make verify lint test`, `make fuzz FUZZTIME=10s`\nand `make\ngenerate`; not `make <target>` nor make sure.\n\n" +
		"```sh\nmake build   # make nothing\n$ cd x && make -j2 images && go test\nkubectl apply\n```\n"
	want := []MakeRef{{1, "demo"}, {1, "verify"}, {1, "lint"}, {1, "test"}, {1, "fuzz"}, {2, "generate"}, {6, "build"}, {7, "images"}}
	if got := MakeRefs([]byte(src)); !reflect.DeepEqual(got, want) {
		t.Errorf("MakeRefs = %v, want %v", got, want)
	}
}

func TestTargets(t *testing.T) {
	mk := "ROOT := $(abspath .)\nX ?= 1\nexport GOBIN := x\n.PHONY: help\nhelp: ## Show.\n\t@echo\n$(BIN)/buf: Makefile\n" +
		"test: test-unit test-sim ## All.\ntest-unit:\na b: c\n%.o: %.c\nd:: e\n"
	got := Targets([]byte(mk))
	want := map[string]bool{"help": true, "test": true, "test-unit": true, "a": true, "b": true, "d": true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Targets = %v, want %v", got, want)
	}
}

func TestCheck(t *testing.T) {
	fsys := fstest.MapFS{
		"README.md":      {Data: []byte("# Top\n\n[ok](docs/a.md#usage) [self](#top) [dir](docs) [ext](https://x.io/#nope) [code](main.go#L3)\n")},
		"docs/a.md":      {Data: []byte("## Usage\n\n[up](../README.md#top) [root](/README.md)\n")},
		"docs/broken.md": {Data: []byte("# B\n\n[gone](missing.md)\n[bad anchor](a.md#nope)\n[self](#b-1)\n[out](../../x.md)\n\n`make nosuch`\n")},
		"main.go":        {Data: []byte("package main\n")},
		"docs/sub/c.md":  {Data: []byte("[rel](../a.md)\n")},
	}
	targets := map[string]bool{"test": true}
	got := Check(fsys, []string{"README.md", "docs/a.md", "docs/sub/c.md"}, targets)
	if len(got) != 0 {
		t.Errorf("problems in good files: %v", got)
	}
	got = Check(fsys, []string{"docs/broken.md", "docs/none.md"}, targets)
	var lines []string
	for _, p := range got {
		lines = append(lines, p.String())
	}
	want := []string{
		"docs/broken.md:3: link missing.md: docs/missing.md does not exist",
		"docs/broken.md:4: link a.md#nope: docs/a.md has no heading or anchor #nope",
		"docs/broken.md:5: link #b-1: docs/broken.md has no heading or anchor #b-1",
		"docs/broken.md:6: link ../../x.md: leaves the repository",
		`docs/broken.md:8: make nosuch: the Makefile has no target "nosuch"`,
		"docs/none.md:0: open docs/none.md: file does not exist",
	}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("Check =\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}
