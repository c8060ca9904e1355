// Command converge measures what a convergence costs on a real control
// plane: for each cluster size it brings up a fresh plane (package plane:
// kube-apiserver, kwok nodes, the five layer services, and Metacontroller
// — the real one when METACONTROLLER_BIN names its binary, else the
// stand-in), creates a VitessCluster, waits until it is Ready, then rolls
// a new tablet and vtgate image through it, and reports for each phase
// the wall time, the mutating requests the apiserver served by resource
// and verb (deltas of its apiserver_request_total, every client), the
// requests Metacontroller sent (from the apiserver's audit log), and the
// time the hooks themselves took (vtmeta_hook_duration_seconds).
//
// It is a load driver, not a test: it asserts nothing, and its figures
// are what docs/benchmarks.md records. Metacontroller runs at its stock client
// rate (5 QPS, burst 10) unless -qps says otherwise.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/vtmeta/vtmeta/test/e2e/manifests"
	"github.com/vtmeta/vtmeta/test/e2e/plane"
	"github.com/vtmeta/vtmeta/test/e2e/standin"
)

func main() {
	sizes := flag.String("sizes", "original,16x3,64x3", "clusters to measure, comma-separated: original (deploy/examples/original/my-vitess.yaml) or SHARDSxTABLETS (one keyspace of that many shards, each with TABLETS tablets: one rdonly, the rest primary-eligible replicas)")
	rollout := flag.Bool("rollout", true, "roll a new tablet and vtgate image through each cluster once it is Ready")
	qps := flag.String("qps", "stock", "Metacontroller's client rate: stock (5 QPS, burst 10), unlimited, or QPS/BURST (e.g. 100/200)")
	workers := flag.Int("workers", 0, "the real Metacontroller's --workers (0: its default, 5)")
	out := flag.String("json", "", "also write every figure to this file, as JSON")
	timeout := flag.Duration("timeout", 30*time.Minute, "give up on a phase after this long")
	keep := flag.String("logs", "", "copy every component's log into this directory after each size")
	flag.Parse()
	limit, err := parseLimit(*qps)
	if err != nil {
		fmt.Fprintln(os.Stderr, "converge:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var results []*Result
	for _, size := range strings.Split(*sizes, ",") {
		r, err := measure(ctx, strings.TrimSpace(size), limit, *workers, *rollout, *timeout, *keep)
		if r != nil {
			results = append(results, r)
			r.print(os.Stdout)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "converge: %s: %v\n", size, err)
			os.Exit(1)
		}
	}
	if *out != "" {
		b, _ := json.MarshalIndent(results, "", "  ")
		if err := os.WriteFile(*out, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "converge:", err)
			os.Exit(1)
		}
	}
}

func parseLimit(s string) (standin.Limit, error) {
	switch s {
	case "stock":
		return standin.Stock, nil
	case "unlimited":
		return standin.Unlimited, nil
	}
	q, b, ok := strings.Cut(s, "/")
	qv, err1 := strconv.ParseFloat(q, 32)
	bv, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || qv <= 0 || bv <= 0 {
		return standin.Limit{}, fmt.Errorf("-qps %q: want stock, unlimited or QPS/BURST", s)
	}
	return standin.Limit{QPS: float32(qv), Burst: bv}, nil
}

// Result is what one cluster size cost.
type Result struct {
	Size           string
	Tablets        int
	Metacontroller string
	Phases         []*Phase
}

// Phase is one measured phase: create → Ready, or a rollout.
type Phase struct {
	Name string
	// Seconds is the wall time from the write to the cluster Ready and
	// Updated on its new generation.
	Seconds float64
	// Mutating are the apiserver's mutating requests (every client), by
	// "VERB resource[/subresource]".
	Mutating map[string]float64
	// Metacontroller are Metacontroller's requests (audit log), by
	// "verb resource[/subresource]".
	Metacontroller map[string]int
	// HookSeconds and HookCalls are the hooks' own time and calls, by
	// layer.
	HookSeconds, HookCalls map[string]float64
}

func (p *Phase) sum() (mutating float64, mcMutating, mcReads int) {
	for _, n := range p.Mutating {
		mutating += n
	}
	for k, n := range p.Metacontroller {
		if strings.HasPrefix(k, "get ") {
			mcReads += n
		} else {
			mcMutating += n
		}
	}
	return
}

func (r *Result) print(w io.Writer) {
	fmt.Fprintf(w, "\n## %s (%d tablets), %s\n\n", r.Size, r.Tablets, r.Metacontroller)
	for _, p := range r.Phases {
		mut, mcMut, mcReads := p.sum()
		var hs, hc float64
		for l := range p.HookSeconds {
			hs += p.HookSeconds[l]
			hc += p.HookCalls[l]
		}
		fmt.Fprintf(w, "### %s: %.1f s\n\n", p.Name, p.Seconds)
		fmt.Fprintf(w, "- mutating requests to the apiserver, every client: %.0f\n", mut)
		fmt.Fprintf(w, "- Metacontroller's requests: %d mutating, %d reads (GET)\n", mcMut, mcReads)
		fmt.Fprintf(w, "- hooks: %d calls, %.2f s in all, %.1f%% of the wall time\n\n", int(hc), hs, 100*hs/max(p.Seconds, 1e-9))
		fmt.Fprintln(w, "| request | every client | Metacontroller |")
		fmt.Fprintln(w, "|---|---:|---:|")
		keys := map[string]bool{}
		for k := range p.Mutating {
			keys[strings.ToLower(k)] = true
		}
		for k := range p.Metacontroller {
			keys[k] = true
		}
		sorted := slices.Sorted(func(yield func(string) bool) {
			for k := range keys {
				if !yield(k) {
					return
				}
			}
		})
		for _, k := range sorted {
			all := ""
			for mk, n := range p.Mutating {
				if strings.ToLower(mk) == k && n > 0 {
					all = fmt.Sprintf("%.0f", n)
				}
			}
			mc := ""
			if n := p.Metacontroller[k]; n > 0 {
				mc = strconv.Itoa(n)
			}
			if all != "" || mc != "" {
				fmt.Fprintf(w, "| %s | %s | %s |\n", k, all, mc)
			}
		}
		fmt.Fprintln(w)
	}
}

// auditVerbs maps the audit log's verbs to the metric's.
var auditVerbs = map[string]string{"create": "post", "update": "put", "patch": "patch", "delete": "delete", "get": "get", "deletecollection": "deletecollection"}

// snapshot is the counters at one moment.
type snapshot struct {
	at    time.Time
	api   map[plane.APIRequest]float64
	audit int64
	hooks map[string][2]float64
}

func take(e *plane.Env, auditAt int64) (snapshot, error) {
	s := snapshot{at: time.Now(), audit: auditAt, hooks: map[string][2]float64{}}
	var err error
	if s.api, err = e.APIRequests(); err != nil {
		return s, err
	}
	for l, svc := range e.Services {
		sec, calls, err := svc.HookTime()
		if err != nil {
			return s, err
		}
		s.hooks[l] = [2]float64{sec, calls}
	}
	return s, nil
}

// phase is the difference between two snapshots.
func phase(e *plane.Env, name string, a, b snapshot) (*Phase, int64, error) {
	p := &Phase{Name: name, Seconds: b.at.Sub(a.at).Seconds(), Mutating: map[string]float64{}, Metacontroller: map[string]int{},
		HookSeconds: map[string]float64{}, HookCalls: map[string]float64{}}
	for r, n := range b.api {
		if d := n - a.api[r]; r.Mutating() && d > 0 {
			p.Mutating[r.String()] = d
		}
	}
	reqs, end, err := e.Audit(a.audit)
	if err != nil {
		return nil, 0, err
	}
	for _, r := range reqs {
		verb := cmp.Or(auditVerbs[r.Verb], r.Verb)
		k := verb + " " + strings.TrimPrefix(r.Key(), r.Verb+" ")
		p.Metacontroller[k]++
	}
	for l, h := range b.hooks {
		p.HookSeconds[l] = h[0] - a.hooks[l][0]
		p.HookCalls[l] = h[1] - a.hooks[l][1]
	}
	return p, end, nil
}

func measure(ctx context.Context, size string, limit standin.Limit, workers int, rollout bool, timeout time.Duration, keep string) (*Result, error) {
	vc, tablets, err := cluster(size)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "vtmeta-converge-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	// Room for every tablet's claim and the etcd members', and Pods.
	nodes := max(plane.Nodes, (tablets+40)/100+1)
	e, err := plane.Up(ctx, plane.Options{Dir: dir, Metacontroller: os.Getenv("METACONTROLLER_BIN"), Client: limit, Workers: workers,
		Nodes: nodes, Volumes: tablets + 8, Log: logf})
	if err != nil {
		return nil, err
	}
	defer e.Stop()
	if keep != "" {
		defer copyLogs(dir, filepath.Join(keep, size))
	}
	res := &Result{Size: size, Tablets: tablets, Metacontroller: e.Driver}
	gvr, _ := plane.Resource("VitessCluster")
	vcs := e.Client.Resource(gvr).Namespace("default")

	// Let the plane settle (Metacontroller's first lists, the services up).
	if err := quiet(ctx, e, 3*time.Second, time.Minute); err != nil {
		return nil, err
	}
	_, auditAt, err := e.Audit(0)
	if err != nil {
		return nil, err
	}
	before, err := take(e, auditAt)
	if err != nil {
		return nil, err
	}
	logf("%s: creating the cluster (%d tablets)", size, tablets)
	if err := e.CreateAll(ctx, []*unstructured.Unstructured{vc}); err != nil {
		return nil, err
	}
	if err := ready(ctx, vcs, 1, timeout); err != nil {
		return res, fmt.Errorf("create: %w\n%s", err, e.Failures())
	}
	after, err := take(e, 0)
	if err != nil {
		return nil, err
	}
	p, end, err := phase(e, "create → Ready", before, after)
	if err != nil {
		return nil, err
	}
	res.Phases = append(res.Phases, p)
	logf("%s: Ready after %.1f s", size, p.Seconds)
	if !rollout {
		return res, nil
	}
	if err := quiet(ctx, e, 5*time.Second, 2*time.Minute); err != nil {
		return res, err
	}
	_, auditAt, err = e.Audit(end)
	if err != nil {
		return nil, err
	}
	before, err = take(e, auditAt)
	if err != nil {
		return nil, err
	}
	logf("%s: rolling a new tablet and vtgate image", size)
	gen, err := setImage(ctx, vcs, "vitess/lite:v24.0.3")
	if err != nil {
		return res, err
	}
	if err := ready(ctx, vcs, gen, timeout); err != nil {
		return res, fmt.Errorf("rollout: %w\n%s", err, e.Failures())
	}
	after, err = take(e, 0)
	if err != nil {
		return nil, err
	}
	if p, _, err = phase(e, fmt.Sprintf("image rollout (%d tablets)", tablets), before, after); err != nil {
		return nil, err
	}
	res.Phases = append(res.Phases, p)
	logf("%s: rolled out after %.1f s", size, p.Seconds)
	return res, nil
}

// cluster returns the VitessCluster of a size: the original example, or
// the original example with one keyspace of SHARDS shards of TABLETS
// tablets.
func cluster(size string) (*unstructured.Unstructured, int, error) {
	b, err := os.ReadFile(filepath.Join(manifests.Repo(), "deploy", "examples", "original", "my-vitess.yaml"))
	if err != nil {
		return nil, 0, err
	}
	vc := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(b, &vc.Object); err != nil {
		return nil, 0, err
	}
	vc.SetNamespace("default")
	if size == "original" {
		return vc, 6, nil
	}
	s, t, ok := strings.Cut(size, "x")
	shards, err1 := strconv.Atoi(s)
	tablets, err2 := strconv.Atoi(t)
	if !ok || err1 != nil || err2 != nil || shards < 1 || shards > 256 || 256%shards != 0 || tablets < 2 || tablets > 99 {
		return nil, 0, fmt.Errorf("size %q: want original or SHARDSxTABLETS, SHARDS a power of two up to 256, TABLETS 2 to 99", size)
	}
	var ranges []any
	step := 256 / shards
	for i := range shards {
		start, end := "", ""
		if i > 0 {
			start = fmt.Sprintf("%02x", i*step)
		}
		if i < shards-1 {
			end = fmt.Sprintf("%02x", (i+1)*step)
		}
		ranges = append(ranges, map[string]any{"keyRange": map[string]any{"start": start, "end": end}})
	}
	ks := vc.Object["spec"].(map[string]any)["keyspaces"].([]any)[0].(map[string]any)
	ks["shards"] = ranges
	pools := ks["tablets"].(map[string]any)
	pools["masterEligible"].(map[string]any)["replicas"] = int64(tablets - 1)
	pools["batch"].(map[string]any)["replicas"] = int64(1)
	return vc, shards * tablets, nil
}

// ready waits until the cluster is Ready and Updated on generation gen.
func ready(ctx context.Context, vcs dynamic.ResourceInterface, gen int64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		got, err := vcs.Get(ctx, "vitess", metav1.GetOptions{})
		if err == nil {
			og, _, _ := unstructured.NestedInt64(got.Object, "status", "observedGeneration")
			r, msg := plane.Condition(got, "Ready")
			u, _ := plane.Condition(got, "Updated")
			if og == gen && r == "True" && u == "True" {
				return nil
			}
			last = msg
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("not Ready on generation %d after %v: %s", gen, timeout, last)
}

// quiet waits until Metacontroller has sent no mutating request for a
// while.
func quiet(ctx context.Context, e *plane.Env, still, most time.Duration) error {
	deadline := time.Now().Add(most)
	_, at, err := e.Audit(0)
	if err != nil {
		return err
	}
	lastWrite := time.Now()
	for time.Now().Before(deadline) {
		reqs, end, err := e.Audit(at)
		if err != nil {
			return err
		}
		at = end
		if slices.ContainsFunc(reqs, func(r plane.Request) bool { return r.Verb != "get" }) {
			lastWrite = time.Now()
		}
		if time.Since(lastWrite) >= still {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return errors.New("no quiet moment: Metacontroller kept writing")
}

// setImage sets every tablet's and vtgate's image and returns the new
// generation.
func setImage(ctx context.Context, vcs dynamic.ResourceInterface, image string) (int64, error) {
	vc, err := vcs.Get(ctx, "vitess", metav1.GetOptions{})
	if err != nil {
		return 0, err
	}
	spec := vc.Object["spec"].(map[string]any)
	for _, k := range spec["keyspaces"].([]any) {
		k.(map[string]any)["tablets"].(map[string]any)["defaults"].(map[string]any)["image"] = image
	}
	for _, c := range spec["cells"].([]any) {
		if g, ok := c.(map[string]any)["vtgate"].(map[string]any); ok {
			g["image"] = image
		}
	}
	vc, err = vcs.Update(ctx, vc, metav1.UpdateOptions{})
	if err != nil {
		return 0, err
	}
	return vc.GetGeneration(), nil
}

func copyLogs(from, to string) {
	logs, _ := filepath.Glob(filepath.Join(from, "*.log"))
	if err := os.MkdirAll(to, 0o755); err != nil {
		return
	}
	for _, l := range logs {
		if b, err := os.ReadFile(l); err == nil {
			_ = os.WriteFile(filepath.Join(to, filepath.Base(l)), b, 0o644)
		}
	}
}
