// Command demo shows vtmeta doing its job on a real control plane on this
// machine: it builds and starts etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and kwok (fake nodes), installs
// deploy/'s CRDs and policy, starts the five layer services and
// Metacontroller (the real one when METACONTROLLER_BIN names a binary, the
// test stand-in otherwise), applies a VitessCluster and shows its tree
// converging to Ready, then rolls an image edit through every layer. It
// then prints how to reach the plane with kubectl (which a first run
// builds in the background while the cluster converges) and the services'
// /metrics, and tears everything down on Ctrl-C.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/vtmeta/vtmeta/internal/tree"
	"github.com/vtmeta/vtmeta/test/e2e/manifests"
	"github.com/vtmeta/vtmeta/test/e2e/plane"
)

func main() {
	file := flag.String("f", "deploy/examples/original/my-vitess.yaml", "the VitessCluster manifest")
	image := flag.String("roll-image", "vitess/lite:v24.0.3", "the tablet and vtgate image to roll out once the cluster is Ready (empty: no rollout)")
	exit := flag.Bool("exit", false, "tear down as soon as the demo is done instead of waiting for Ctrl-C")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *file, *image, *exit); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, file, image string, exit bool) error {
	data, err := os.ReadFile(file)
	if os.IsNotExist(err) && !filepath.IsAbs(file) {
		data, err = os.ReadFile(filepath.Join(manifests.Repo(), file)) // run from elsewhere than the repository
	}
	if err != nil {
		return err
	}
	vc, err := plane.Decode(string(data))
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if vc.GetNamespace() == "" {
		vc.SetNamespace("default")
	}
	dir, err := os.MkdirTemp("", "vtmeta-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	say := func(format string, args ...any) {
		fmt.Printf("[%5.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	say("bringing up a control plane in %s", dir)
	e, err := plane.Up(ctx, plane.Options{Dir: dir, Metacontroller: os.Getenv("METACONTROLLER_BIN"), Log: say})
	if err != nil {
		return err
	}
	defer func() {
		say("tearing down")
		e.Stop()
	}()
	say("Metacontroller: %s", e.Driver)
	// kubectl is for the user once the demo is done; nothing before
	// needs it. A first run builds it now, while the cluster converges.
	kubectl := make(chan error, 1)
	go func() {
		kubectl <- plane.BuildKubectl(func(format string, args ...any) { say("(in the background) "+format, args...) })
	}()

	fmt.Printf("\n== kubectl apply -f %s\n", file)
	if err := e.CreateAll(ctx, []*unstructured.Unstructured{vc}); err != nil {
		return err
	}
	w := watcher{c: e.Client, ns: vc.GetNamespace(), name: vc.GetName(), say: say, color: terminal(os.Stdout)}
	if err := w.converge(ctx, 1); err != nil {
		return fmt.Errorf("%w\n%s", err, e.Failures())
	}
	fmt.Println("\n== kubectl vtmeta tree " + vc.GetName())
	if err := w.tree(ctx); err != nil {
		return err
	}

	if image != "" {
		fmt.Printf("\n== image edit: every tablet and vtgate to %s (one tablet at a time, rdonly first, vtgate last)\n", image)
		gen, err := w.setImage(ctx, image)
		if err != nil {
			return err
		}
		if err := w.converge(ctx, gen); err != nil {
			return fmt.Errorf("%w\n%s", err, e.Failures())
		}
		fmt.Println("\n== kubectl vtmeta tree " + vc.GetName())
		if err := w.tree(ctx); err != nil {
			return err
		}
	}

	if len(kubectl) == 0 {
		say("waiting for kubectl's build to finish")
	}
	select {
	case err := <-kubectl:
		if err != nil {
			return fmt.Errorf("kubectl: %w", err)
		}
	case <-ctx.Done():
		return ctx.Err()
	}
	fmt.Printf("\n== the plane is yours\n")
	fmt.Printf("  export KUBECONFIG=%s\n", e.Kubeconfig)
	fmt.Printf("  export PATH=%s:$PATH   # kubectl %s, built with the plane\n", plane.BinDir(), plane.KubernetesVersion)
	fmt.Printf("  kubectl get vitess\n  kubectl get pods,pvc,deploy,sts,jobs\n  kubectl explain vitesscluster.spec\n")
	for _, l := range manifests.Layers {
		fmt.Printf("  curl -s http://%s/metrics | grep ^vtmeta_   # the %s layer\n", e.Services[l].Addr, l)
	}
	fmt.Printf("  logs of every component: %s/*.log\n", dir)
	if exit {
		return nil
	}
	fmt.Printf("\nPress Ctrl-C to tear everything down.\n")
	<-ctx.Done()
	return nil
}

// vitess is a vtmeta resource.
func vitess(r string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "vitess.io", Version: "v1alpha1", Resource: r}
}

// terminal says whether f is a terminal.
func terminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// core is a core Kubernetes resource.
func core(r string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Version: "v1", Resource: r}
}

// watcher follows one VitessCluster and its tree.
type watcher struct {
	c        dynamic.Interface
	ns, name string
	say      func(format string, args ...any)
	// color colours the tree, on a terminal.
	color bool
}

func (w watcher) list(ctx context.Context, r schema.GroupVersionResource) ([]unstructured.Unstructured, error) {
	l, err := w.c.Resource(r).Namespace(w.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", r.Resource, err)
	}
	return l.Items, nil
}

// converge prints a summary line whenever it changes until the cluster
// has observed generation gen and is Ready and Updated.
func (w watcher) converge(ctx context.Context, gen int64) error {
	last := ""
	deadline := time.Now().Add(5 * time.Minute)
	for {
		line, done, err := w.summary(ctx, gen)
		if err != nil {
			return err
		}
		if line != last {
			w.say("%s", line)
			last = line
		}
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the cluster did not converge in 5 minutes")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// summary is one line: the cluster's conditions and how much of each layer
// is ready.
func (w watcher) summary(ctx context.Context, gen int64) (string, bool, error) {
	vc, err := w.c.Resource(vitess("vitessclusters")).Namespace(w.ns).Get(ctx, w.name, metav1.GetOptions{})
	if err != nil {
		return "", false, fmt.Errorf("get the VitessCluster: %w", err)
	}
	parts := []string{"cluster " + conditions(vc)}
	tablets := 0
	for _, r := range []string{"vitesscells", "vitesskeyspaces", "vitessshards", "vitesstablets"} {
		items, err := w.list(ctx, vitess(r))
		if err != nil {
			return "", false, err
		}
		ready := 0
		for i := range items {
			if cond(&items[i], "Ready") == "True" {
				ready++
			}
		}
		parts = append(parts, fmt.Sprintf("%s %d/%d", strings.TrimPrefix(r, "vitess"), ready, len(items)))
		tablets = len(items) // the last kind listed
	}
	pods, err := w.list(ctx, core("pods"))
	if err != nil {
		return "", false, err
	}
	ready := 0
	for i := range pods {
		if pods[i].GetLabels()["vitess.io/component"] == "vttablet" && cond(&pods[i], "Ready") == "True" {
			ready++
		}
	}
	parts = append(parts, fmt.Sprintf("tablet pods ready %d/%d", ready, tablets))
	claims, err := w.list(ctx, core("persistentvolumeclaims"))
	if err != nil {
		return "", false, err
	}
	bound := 0
	for i := range claims {
		if phase, _, _ := unstructured.NestedString(claims[i].Object, "status", "phase"); phase == "Bound" {
			bound++
		}
	}
	parts = append(parts, fmt.Sprintf("claims bound %d/%d", bound, len(claims)))
	// Where a rollout stands: the shards say which tablet moves.
	shards, err := w.list(ctx, vitess("vitessshards"))
	if err != nil {
		return "", false, err
	}
	for i := range shards {
		if cond(&shards[i], "Progressing") == "True" {
			parts = append(parts, "| "+shards[i].GetName()+": "+message(&shards[i], "Progressing"))
		}
	}
	og, _, _ := unstructured.NestedInt64(vc.Object, "status", "observedGeneration")
	done := og >= gen && cond(vc, "Ready") == "True" && cond(vc, "Updated") == "True"
	return strings.Join(parts, "  "), done, nil
}

// tree prints the cluster's tree as kubectl vtmeta tree does.
func (w watcher) tree(ctx context.Context) error {
	roots, err := tree.Build(ctx, w.c, tree.Options{Namespace: w.ns, Name: w.name})
	if err != nil {
		return err
	}
	return tree.Print(os.Stdout, roots, tree.PrintOptions{Now: time.Now(), Color: w.color})
}

// conditions shows a vtmeta object's Ready and Updated conditions.
func conditions(o *unstructured.Unstructured) string {
	return fmt.Sprintf("Ready=%s Updated=%s", or(cond(o, "Ready"), "-"), or(cond(o, "Updated"), "-"))
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// cond is the status of a condition, "" when absent.
func cond(o *unstructured.Unstructured, typ string) string {
	s, _ := plane.Condition(o, typ)
	return s
}

// message is the message of a condition.
func message(o *unstructured.Unstructured, typ string) string {
	_, m := plane.Condition(o, typ)
	return m
}

// setImage sets the tablet and vtgate images on the cluster, dropping the
// example's per-keyspace and per-cell images so the new one applies
// everywhere, and returns the new generation.
func (w watcher) setImage(ctx context.Context, image string) (int64, error) {
	r := w.c.Resource(vitess("vitessclusters")).Namespace(w.ns)
	vc, err := r.Get(ctx, w.name, metav1.GetOptions{})
	if err != nil {
		return 0, err
	}
	spec, _ := vc.Object["spec"].(map[string]any)
	spec["images"] = map[string]any{"vttablet": image, "vtgate": image}
	for _, k := range maps(spec["keyspaces"]) {
		tablets, _ := k["tablets"].(map[string]any)
		if d, ok := tablets["defaults"].(map[string]any); ok {
			delete(d, "image")
		}
	}
	for _, c := range maps(spec["cells"]) {
		if g, ok := c["vtgate"].(map[string]any); ok {
			delete(g, "image")
		}
	}
	vc, err = r.Update(ctx, vc, metav1.UpdateOptions{})
	if err != nil {
		return 0, fmt.Errorf("update the VitessCluster: %w", err)
	}
	return vc.GetGeneration(), nil
}

func maps(v any) []map[string]any {
	var out []map[string]any
	l, _ := v.([]any)
	for _, x := range l {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}
