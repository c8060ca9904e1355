//go:build linux

package vitess

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vtmeta/vtmeta/internal/names"
	"github.com/vtmeta/vtmeta/internal/spec"
	"github.com/vtmeta/vtmeta/test/e2e/plane"
)

// guard follows the vttablet logs of the tablet Pods that run when it
// starts, until each container ends, and checks every preStop that found
// its tablet the primary: the planned reparent must succeed, and the shard
// record must then name another tablet its primary, while the old Pod has
// not stopped yet (the hook runs before its containers are signalled).
type guard struct {
	mu       sync.Mutex
	lines    map[string][]string // preStop lines by Pod
	attempts []string            // aliases whose preStop started a reparent
	moved    []string            // "old -> new" primaries
	retries  []string            // preStop attempts that failed and were tried again
	failures []string            // preStops that gave up and stopped anyway
	wg       sync.WaitGroup
}

// guard starts following.
func (s *scenario) guard(ctx context.Context) *guard {
	g := &guard{lines: map[string][]string{}}
	for _, tb := range s.tablets {
		since := metav1.NewTime(time.Now().Add(-time.Second))
		r, err := s.c.CoreV1().Pods(Namespace).GetLogs(tb.Pod, &corev1.PodLogOptions{Container: "vttablet", Follow: true, SinceTime: &since}).Stream(ctx)
		if err != nil {
			continue
		}
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			defer r.Close()
			g.follow(ctx, s.vtctld, tb, r)
		}()
	}
	return g
}

func (g *guard) follow(ctx context.Context, v *Vtctld, tb Tablet, r io.Reader) {
	target := Keyspace + "/" + tb.Shard
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if !strings.Contains(l, "preStop "+tb.Alias+": ") {
			continue
		}
		g.add(func() { g.lines[tb.Pod] = append(g.lines[tb.Pod], l) })
		switch {
		case strings.Contains(l, ": primary of "+target+": PlannedReparentShard"):
			// A preStop tries again after a failed attempt: one alias
			// counts once.
			g.add(func() {
				if !slices.Contains(g.attempts, tb.Alias) {
					g.attempts = append(g.attempts, tb.Alias)
				}
			})
		case strings.Contains(l, ", trying again: "):
			g.add(func() { g.retries = append(g.retries, l) })
		case strings.Contains(l, ": the primary of "+target+" moved away"):
			now, err := v.ShardPrimary(ctx, tb.Shard)
			switch {
			case err != nil:
				g.add(func() { g.failures = append(g.failures, fmt.Sprintf("%s: after its reparent: %v", tb.Alias, err)) })
			case now == "" || now == tb.Alias:
				g.add(func() {
					g.failures = append(g.failures, fmt.Sprintf("%s: its preStop says the primary moved, and the shard record names %q", tb.Alias, now))
				})
			default:
				g.add(func() { g.moved = append(g.moved, tb.Alias+" -> "+now) })
			}
		case strings.Contains(l, ", stopping anyway: "):
			g.add(func() { g.failures = append(g.failures, l) })
		}
	}
}

func (g *guard) add(f func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f()
}

// check waits for the followed containers' logs to end (bounded), logs what
// the preStops did and fails the test on any failed reparent, on a
// reparent started and not seen through, and, when want > 0, on fewer than
// want primaries moved.
func (g *guard) check(t *testing.T, want int, strict bool) {
	t.Helper()
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	t.Logf("preStop: %d primaries moved by PlannedReparentShard before their Pod stopped: %v", len(g.moved), g.moved)
	report := t.Errorf
	if !strict {
		report = t.Logf
	}
	for _, r := range g.retries {
		t.Logf("preStop: %s", r)
		fmt.Println("preStop: " + r)
	}
	for _, f := range g.failures {
		report("preStop: %s", f)
		fmt.Println("preStop: " + f)
	}
	if len(g.attempts) != len(g.moved) {
		report("preStop: %d reparents started (%v), %d seen through (%v)", len(g.attempts), g.attempts, len(g.moved), g.moved)
	}
	if len(g.moved) < want {
		t.Errorf("preStop: %d primaries moved, want at least %d", len(g.moved), want)
	}
}

// availability polls the cluster's Available condition every second until
// the returned function is called, which says how many of the samples were
// not Available, and the first such message.
func (s *scenario) availability(ctx context.Context) func() (samples, unavailable int, first string) {
	ctx, cancel := context.WithCancel(ctx)
	var mu sync.Mutex
	var samples, unavailable int
	var first string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			vc, err := s.vcs.Get(ctx, Cluster, metav1.GetOptions{})
			if err == nil {
				st, msg := plane.Condition(vc, "Available")
				mu.Lock()
				samples++
				if st != "True" {
					unavailable++
					if first == "" {
						first = fmt.Sprintf("%s: Available=%s: %s", time.Now().Format(time.TimeOnly), st, msg)
					}
				}
				mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}()
	return func() (int, int, string) {
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		return samples, unavailable, first
	}
}

// downWatch counts a shard's tablet Pods that are down (gone, deleting or
// not Ready), per cell and in all, every 250 ms, until stopped; it keeps
// the most seen at once.
type downWatch struct {
	mu      sync.Mutex
	perCell map[string]int
	total   int
	stop    func()
}

func (s *scenario) watchDown(ctx context.Context, shard string) *downWatch {
	ctx, cancel := context.WithCancel(ctx)
	w := &downWatch{perCell: map[string]int{}}
	done := make(chan struct{})
	w.stop = func() { cancel(); <-done }
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			down := map[string]int{}
			total := 0
			for _, tb := range s.tablets {
				if tb.Shard != shard {
					continue
				}
				p, err := s.c.CoreV1().Pods(Namespace).Get(ctx, tb.Pod, metav1.GetOptions{})
				if ctx.Err() != nil {
					return
				}
				if err != nil || p.DeletionTimestamp != nil || !podReady(p) {
					down[tb.Cell]++
					total++
				}
			}
			w.mu.Lock()
			for c, n := range down {
				w.perCell[c] = max(w.perCell[c], n)
			}
			w.total = max(w.total, total)
			w.mu.Unlock()
			select {
			case <-ctx.Done():
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()
	return w
}

// Recoveries are vtorc's recoveries, "<recovery>.<keyspace>.<shard>" to
// how many, summed over every cell's vtorc.
type Recoveries map[string]int64

// emergency are the recoveries in which vtorc runs an emergency reparent.
var emergency = []string{"RecoverDeadPrimary", "RecoverIncapacitatedPrimary", "RecoverPrimaryTabletDeleted", "CheckAndRecoverLockedSemiSyncPrimary"}

// Emergency is how many emergency reparents the recoveries count.
func (r Recoveries) Emergency() int64 {
	var n int64
	for k, v := range r {
		for _, e := range emergency {
			if strings.HasPrefix(k, e+".") {
				n += v
			}
		}
	}
	return n
}

// Since is what r counts beyond before.
func (r Recoveries) Since(before Recoveries) Recoveries {
	out := Recoveries{}
	for k, v := range r {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

func (r Recoveries) String() string {
	var parts []string
	for k, v := range r {
		parts = append(parts, fmt.Sprintf("%s: %d", k, v))
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// parseRecoveries reads vtorc's /debug/vars: its RecoveriesCount counters.
func parseRecoveries(vars []byte) (Recoveries, error) {
	var all struct {
		RecoveriesCount map[string]int64
	}
	if err := json.Unmarshal(vars, &all); err != nil {
		return nil, fmt.Errorf("vtorc's /debug/vars: %w", err)
	}
	return all.RecoveriesCount, nil
}

// recoveries reads the recoveries every cell's vtorc ran, from its
// /debug/vars (a vtorc that restarted would have forgotten its own: the
// restart counts say whether one did).
func (s *scenario) recoveries(ctx context.Context) (Recoveries, error) {
	out := Recoveries{}
	for _, cell := range Cells {
		svc, err := s.c.CoreV1().Services(Namespace).Get(ctx, names.Vtorc(Cluster, cell), metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		url := fmt.Sprintf("http://%s:%d/debug/vars", svc.Spec.ClusterIP, spec.WebPort)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("vtorc of %s: %w", cell, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("vtorc of %s: %w", cell, err)
		}
		r, err := parseRecoveries(b)
		if err != nil {
			return nil, fmt.Errorf("vtorc of %s: %w", cell, err)
		}
		for k, v := range r {
			out[k] += v
		}
	}
	return out, nil
}
