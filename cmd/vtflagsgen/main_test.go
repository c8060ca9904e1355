package main

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	f, err := os.Open("testdata/fake.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	// The example's --topo-implementation is not a listed flag; shorthand
	// lines count; the glog name keeps its underscore.
	want := []string{"allow-recovery", "cell", "clusters-to-watch", "help", "log_dir", "topo-global-root", "version"}
	if !slices.Equal(got, want) {
		t.Errorf("Parse = %v, want %v", got, want)
	}
}

func TestParseRefuses(t *testing.T) {
	for _, tt := range []struct{ name, in, msg string }{
		{"no flag section", "Usage:\n  fake\n", "no Flags: section"},
		{"a line that is not a flag", "Flags:\n      --a   x\n  continued text\n", "names no flag"},
	} {
		if _, err := Parse(strings.NewReader(tt.in)); err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.msg)
		}
	}
}

func TestSource(t *testing.T) {
	src, err := Source("v0.0.1", map[string][]string{"vtorc": {"cell", "port"}, "vtgate": {"cell"}})
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	for _, want := range []string{"DO NOT EDIT", `const VitessVersion = "v0.0.1"`, `"vtgate": {`, `"port",`} {
		if !strings.Contains(s, want) {
			t.Errorf("no %s in\n%s", want, s)
		}
	}
	if strings.Index(s, `"vtgate"`) > strings.Index(s, `"vtorc"`) {
		t.Error("binaries are not sorted")
	}
}
