package plane

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ProgressEvery is how often, at most, GoBuild.Run reports progress.
const ProgressEvery = 15 * time.Second

// GoBuild is one `go build` or `go install` in a module of its own,
// outside go.work. Run adds -v, to count the packages as they compile,
// and -p (jobs).
type GoBuild struct {
	// What is built, as the progress lines name it: "the control plane
	// (kube-apiserver, ...)".
	What string
	// Dir is the module's directory; Env is added to the environment,
	// after GOWORK=off.
	Dir string
	Env []string
	// Args are the go command's: the subcommand ("build" or "install"),
	// then flags and packages, without -v and -p.
	Args []string
	// List are the arguments of the `go list -deps` that names the
	// packages Args compile: the build flags that choose packages (-tags)
	// and the packages. It runs in ListDir, Dir when empty. Without List
	// the progress lines count compiled packages with no total.
	List    []string
	ListDir string
}

// jobs is the go command's -p: one more package at a time than there are
// cores, so that a core is not idle while a compile reads its files or the
// go command writes the cache.
func jobs() int { return runtime.NumCPU() + 1 }

// Logf receives a line of progress; nil discards them.
type Logf func(format string, args ...any)

// Run runs the build: quietly without logf; with logf, it first lists
// the packages to compile, then reports at most every ProgressEvery how
// many of them compiled, and at the end the total time. The go command's
// output (but -v's package names) is in the error when the build fails.
func (b GoBuild) Run(logf Logf) error {
	return b.run(logf, "go", time.Now, ProgressEvery)
}

func (b GoBuild) env() []string {
	return append(append(os.Environ(), "GOWORK=off"), b.Env...)
}

func (b GoBuild) run(logf Logf, goCmd string, now func() time.Time, every time.Duration) error {
	if len(b.Args) == 0 {
		return fmt.Errorf("go build of %s: no arguments", b.What)
	}
	cores := strconv.Itoa(jobs())
	if logf == nil {
		args := append([]string{b.Args[0], "-p", cores}, b.Args[1:]...)
		cmd := exec.Command(goCmd, args...)
		cmd.Dir, cmd.Env = b.Dir, b.env()
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	args := append([]string{b.Args[0], "-v", "-p", cores}, b.Args[1:]...)
	start := now()
	p := newProgress(b.What, start, every)
	if len(b.List) > 0 {
		logf("building %s: listing its packages (the first run downloads their modules)", b.What)
		pkgs, err := b.list(goCmd)
		if err != nil {
			logf("building %s: cannot count its packages, counting without a total: %v", b.What, err)
		} else {
			p.expect(pkgs)
		}
	}
	logf("%s", p.begin(now(), jobs()))

	cmd := exec.Command(goCmd, args...)
	cmd.Dir, cmd.Env = b.Dir, b.env()
	var out lockedBuffer
	cmd.Stdout = &out
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
	}
	var mu sync.Mutex
	stop := make(chan struct{})
	ticked := make(chan struct{})
	go func() {
		defer close(ticked)
		t := time.NewTicker(every / 15)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				mu.Lock()
				line, due := p.tick(now())
				mu.Unlock()
				if due {
					logf("%s", line)
				}
			}
		}
	}()
	r := bufio.NewReader(stderr)
	for {
		line, rerr := r.ReadString('\n')
		if line != "" {
			mu.Lock()
			counted := p.add(strings.TrimRight(line, "\r\n"))
			mu.Unlock()
			if !counted {
				_, _ = out.Write([]byte(line))
			}
		}
		if rerr != nil {
			break
		}
	}
	err = cmd.Wait()
	close(stop)
	<-ticked
	if err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out.Bytes())
	}
	logf("%s", p.end(now()))
	return nil
}

// list runs go list -deps.
func (b GoBuild) list(goCmd string) ([]string, error) {
	cmd := exec.Command(goCmd, append([]string{"list", "-deps"}, b.List...)...)
	cmd.Dir, cmd.Env = b.Dir, b.env()
	if b.ListDir != "" {
		cmd.Dir = b.ListDir
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -deps %s: %w: %s", strings.Join(b.List, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return strings.Fields(string(out)), nil
}

// progress counts the packages `go build -v` names on its standard error
// as it compiles them (packages found in the build cache are not named),
// against those `go list -deps` named, and says so at most every so often.
type progress struct {
	what  string
	want  map[string]bool // nil: no total
	done  map[string]bool
	start time.Time
	last  time.Time
	every time.Duration
}

func newProgress(what string, start time.Time, every time.Duration) *progress {
	return &progress{what: what, done: map[string]bool{}, start: start, last: start, every: every}
}

// expect sets the packages to compile.
func (p *progress) expect(pkgs []string) {
	p.want = map[string]bool{}
	for _, pkg := range pkgs {
		p.want[pkg] = true
	}
}

// add reads a line of go build -v's standard error and says whether it
// named a package (counted once), rather than a message to keep.
func (p *progress) add(line string) bool {
	line = strings.TrimSpace(line)
	if p.want != nil {
		if !p.want[line] {
			return false
		}
	} else if line == "" || strings.ContainsAny(line, " \t") || strings.HasPrefix(line, "#") {
		// Without a list, a package is a line of one word; messages
		// ("go: downloading ...", "# pkg" before a compiler error, the
		// errors themselves) have spaces or a '#'.
		return false
	}
	p.done[line] = true
	return true
}

// begin is the first line.
func (p *progress) begin(now time.Time, cores int) string {
	p.last = now
	if p.want == nil {
		return fmt.Sprintf("building %s: %d packages at a time", p.what, cores)
	}
	return fmt.Sprintf("building %s: %d packages, %d at a time (listed in %s)", p.what, len(p.want), cores, round(now.Sub(p.start)))
}

// tick returns a progress line if the last one is at least p.every old.
func (p *progress) tick(now time.Time) (string, bool) {
	if now.Sub(p.last) < p.every {
		return "", false
	}
	p.last = now
	if p.want == nil {
		return fmt.Sprintf("building %s: %d packages compiled, %s elapsed", p.what, len(p.done), round(now.Sub(p.start))), true
	}
	return fmt.Sprintf("building %s: %d of %d packages compiled, %s elapsed", p.what, len(p.done), len(p.want), round(now.Sub(p.start))), true
}

// end is the last line, once the build succeeded: every package is built,
// compiled now or found in the build cache.
func (p *progress) end(now time.Time) string {
	took := round(now.Sub(p.start))
	if p.want == nil {
		return fmt.Sprintf("built %s in %s: %d packages compiled, the rest found in the build cache", p.what, took, len(p.done))
	}
	return fmt.Sprintf("built %s in %s: %d of %d packages ready, %d compiled, %d found in the build cache",
		p.what, took, len(p.want), len(p.want), len(p.done), len(p.want)-len(p.done))
}

// round rounds a duration to the second, or to the tenth under a minute.
func round(d time.Duration) time.Duration {
	if d < time.Minute {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}

// lockedBuffer is a bytes.Buffer safe for the go command's stdout and the
// reader of its stderr.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}
