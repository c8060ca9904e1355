package plane

import (
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The lines of go build -v's standard error count each listed package
// once; the other lines are messages, kept for the error.
func TestProgressCounts(t *testing.T) {
	listed := []string{"fmt", "example.com/m/a", "example.com/m/cmd/x"}
	for _, tc := range []struct {
		name    string
		listed  []string // nil: go list failed
		lines   []string
		counted []bool
		tick    string
		end     string
	}{{
		name:    "every package",
		listed:  listed,
		lines:   []string{"fmt", "example.com/m/a", "example.com/m/cmd/x"},
		counted: []bool{true, true, true},
		tick:    "building x: 3 of 3 packages compiled, 15s elapsed",
		end:     "built x in 20s: 3 of 3 packages ready, 3 compiled, 0 found in the build cache",
	}, {
		name:    "some cached, messages kept",
		listed:  listed,
		lines:   []string{"go: downloading example.com/dep v1.0.0", "example.com/m/a", "", "# example.com/m/cmd/x", "example.com/m/cmd/x"},
		counted: []bool{false, true, false, false, true},
		tick:    "building x: 2 of 3 packages compiled, 15s elapsed",
		end:     "built x in 20s: 3 of 3 packages ready, 2 compiled, 1 found in the build cache",
	}, {
		name:    "a package named twice counts once, an unlisted one not at all",
		listed:  listed,
		lines:   []string{"example.com/m/a", "example.com/m/a\r", "example.com/other"},
		counted: []bool{true, true, false},
		tick:    "building x: 1 of 3 packages compiled, 15s elapsed",
		end:     "built x in 20s: 3 of 3 packages ready, 1 compiled, 2 found in the build cache",
	}, {
		name:    "no list: one-word lines are packages",
		lines:   []string{"go: downloading example.com/dep v1.0.0", "example.com/m/a", "# example.com/m/a", "a.go:1:1: syntax error", "fmt"},
		counted: []bool{false, true, false, false, true},
		tick:    "building x: 2 packages compiled, 15s elapsed",
		end:     "built x in 20s: 2 packages compiled, the rest found in the build cache",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			p := newProgress("x", t0, 15*time.Second)
			if tc.listed != nil {
				p.expect(tc.listed)
			}
			p.begin(t0, 2)
			for i, l := range tc.lines {
				if got := p.add(l); got != tc.counted[i] {
					t.Errorf("add(%q) = %v, want %v", l, got, tc.counted[i])
				}
			}
			if got, ok := p.tick(t0.Add(15 * time.Second)); !ok || got != tc.tick {
				t.Errorf("tick = %q, %v, want %q", got, ok, tc.tick)
			}
			if got := p.end(t0.Add(20 * time.Second)); got != tc.end {
				t.Errorf("end = %q, want %q", got, tc.end)
			}
		})
	}
}

// A progress line is due at most every 15 s, counted from the first line.
func TestProgressRateLimit(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		begin time.Duration // when the first line was logged (after listing)
		ticks []time.Duration
		want  []string // "" when no line is due
	}{{
		name:  "every second",
		ticks: []time.Duration{time.Second, 14 * time.Second, 15 * time.Second, 16 * time.Second, 29 * time.Second, 30 * time.Second},
		want:  []string{"", "", "15s", "", "", "30s"},
	}, {
		name:  "a late tick moves the next one",
		ticks: []time.Duration{40 * time.Second, 50 * time.Second, 55 * time.Second, 3*time.Minute + 10*time.Second},
		want:  []string{"40s", "", "55s", "3m10s"},
	}, {
		name:  "the listing counts in the elapsed time, not in the rate",
		begin: 70 * time.Second,
		ticks: []time.Duration{80 * time.Second, 85 * time.Second},
		want:  []string{"", "1m25s"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProgress("x", t0, 15*time.Second)
			p.expect([]string{"a", "b"})
			p.begin(t0.Add(tc.begin), 2)
			p.add("a")
			for i, d := range tc.ticks {
				line, ok := p.tick(t0.Add(d))
				want := ""
				if tc.want[i] != "" {
					want = "building x: 1 of 2 packages compiled, " + tc.want[i] + " elapsed"
				}
				if ok != (want != "") || line != want {
					t.Errorf("tick at %s = %q, %v, want %q", d, line, ok, want)
				}
			}
		})
	}
}

func TestProgressBegin(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := newProgress("x", t0, 15*time.Second)
	if got, want := p.begin(t0, 2), "building x: 2 packages at a time"; got != want {
		t.Errorf("begin without a list = %q, want %q", got, want)
	}
	p.expect([]string{"a", "b", "c"})
	if got, want := p.begin(t0.Add(1234*time.Millisecond), 4), "building x: 3 packages, 4 at a time (listed in 1.2s)"; got != want {
		t.Errorf("begin = %q, want %q", got, want)
	}
}

// tinyModule writes a module of two packages whose source no earlier run
// compiled (the build cache cannot have them), a library and a command
// that prints its argument.
func tinyModule(t *testing.T, broken bool) string {
	t.Helper()
	dir := t.TempDir()
	salt := rand.Text()
	lib := fmt.Sprintf("package a\n\n// Salt makes this source new to the build cache.\nconst Salt = %q\n\nfunc A() string { return Salt }\n", salt)
	if broken {
		lib += "\nfunc B() int { return \"not an int\" }\n"
	}
	files := map[string]string{
		"go.mod":        "module example.com/tiny\n\ngo 1.26\n",
		"a/a.go":        lib,
		"cmd/x/main.go": "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/tiny/a\"\n)\n\nfunc main() { fmt.Println(a.A()) }\n",
	}
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var endLine = regexp.MustCompile(`^built tiny in [0-9.hms]+: (\d+) of (\d+) packages ready, (\d+) compiled, (\d+) found in the build cache$`)

// A real go build -v of a tiny module through the helper: the total is
// go list's, the two new packages are compiled, the standard library
// found in the cache; built again, nothing compiles.
func TestGoBuildTinyModule(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	dir := tinyModule(t, false)
	out := t.TempDir()
	list, err := exec.Command("sh", "-c", "cd "+dir+" && GOWORK=off go list -deps ./cmd/x").Output()
	if err != nil {
		t.Fatal(err)
	}
	total := len(strings.Fields(string(list)))
	b := GoBuild{What: "tiny", Dir: dir, Args: []string{"build", "-o", out + "/", "./cmd/x"}, List: []string{"./cmd/x"}}
	for _, tc := range []struct {
		name     string
		compiled int
	}{{"cold", 2}, {"again", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			var lines []string
			logf := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
			if err := b.run(logf, "go", time.Now, time.Hour); err != nil {
				t.Fatal(err)
			}
			if len(lines) != 3 {
				t.Fatalf("want a listing line, a first line and a last one, got %q", lines)
			}
			if want := fmt.Sprintf("building tiny: %d packages, ", total); !strings.HasPrefix(lines[1], want) {
				t.Errorf("first line %q, want it to start %q", lines[1], want)
			}
			m := endLine.FindStringSubmatch(lines[2])
			if m == nil {
				t.Fatalf("last line %q, want %s", lines[2], endLine)
			}
			n, of, compiled, cached := atoi(t, m[1]), atoi(t, m[2]), atoi(t, m[3]), atoi(t, m[4])
			if n != total || of != total {
				t.Errorf("last line %q: want %d of %d", lines[2], total, total)
			}
			if compiled != tc.compiled || cached != total-tc.compiled {
				t.Errorf("last line %q: want %d compiled, %d cached", lines[2], tc.compiled, total-tc.compiled)
			}
			got, err := exec.Command(filepath.Join(out, "x")).Output()
			if err != nil || len(strings.TrimSpace(string(got))) == 0 {
				t.Errorf("the built command: %q, %v", got, err)
			}
		})
	}
}

// A failing build's error has the compiler's message and the command,
// not -v's package names; without a logger nothing is logged and the
// error is the same.
func TestGoBuildFailure(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	dir := tinyModule(t, true)
	b := GoBuild{What: "tiny", Dir: dir, Args: []string{"build", "-o", t.TempDir() + "/", "./cmd/x"}, List: []string{"./cmd/x"}}
	for _, logged := range []bool{true, false} {
		var logf Logf
		if logged {
			logf = func(string, ...any) {}
		}
		err := b.run(logf, "go", time.Now, time.Hour)
		if err == nil {
			t.Fatalf("logged %v: a broken module built", logged)
		}
		msg := err.Error()
		for _, want := range []string{"go build ", "-p " + strconv.Itoa(jobs()), "# example.com/tiny/a", "cannot use \"not an int\""} {
			if !strings.Contains(msg, want) {
				t.Errorf("logged %v: error %q lacks %q", logged, msg, want)
			}
		}
		for _, line := range strings.Split(msg, "\n") {
			if line == "example.com/tiny/a" || line == "fmt" {
				t.Errorf("logged %v: error %q has -v's package name %q", logged, msg, line)
			}
		}
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// With a fake go command whose build names a package every 400 ms, Run
// passes -v and -p, lists first, and reports between packages, at most
// every period.
func TestGoBuildReportsWhileBuilding(t *testing.T) {
	dir := t.TempDir()
	args := filepath.Join(dir, "args")
	fake := filepath.Join(dir, "go")
	script := `#!/bin/sh
echo "$@" >> ` + args + `
case "$1" in
list) printf 'fmt\nexample.com/m/a\nexample.com/m/cmd/x\n' ;;
build)
	echo "go: downloading example.com/dep v1.0.0" >&2
	for p in example.com/m/a example.com/m/cmd/x; do sleep 0.4; echo $p >&2; done
	sleep 0.4 ;;
esac
`
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	var lines []string
	logf := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
	every := 300 * time.Millisecond
	start := time.Now()
	b := GoBuild{What: "fake", Dir: dir, Args: []string{"build", "-o", "out/", "./cmd/x"}, List: []string{"./cmd/x"}}
	if err := b.run(logf, fake, time.Now, every); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	got, err := os.ReadFile(args)
	if err != nil {
		t.Fatal(err)
	}
	want := "list -deps ./cmd/x\nbuild -v -p " + strconv.Itoa(jobs()) + " -o out/ ./cmd/x\n"
	if string(got) != want {
		t.Errorf("go ran with\n%s\nwant\n%s", got, want)
	}
	progress := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "building fake: ") && strings.Contains(l, " of 3 packages compiled, ") {
			progress++
		}
	}
	if max := int(took/every) + 1; progress < 1 || progress > max {
		t.Errorf("%d progress lines in %s at most every %s, want 1 to %d: %q", progress, took, every, max, lines)
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "built fake in ") || !strings.HasSuffix(last, ": 3 of 3 packages ready, 2 compiled, 1 found in the build cache") {
		t.Errorf("last line %q", last)
	}
}
