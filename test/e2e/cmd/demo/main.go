// Command demo shows vtmeta doing its job without a cluster: the five
// layer services' real hooks, driven by the simulated control plane of
// package sim, turn a VitessCluster manifest into its whole tree, report
// it Ready, and roll an image edit through every layer, one tablet at a
// time, vtgate last. It prints each change as it happens and the tree as
// `kubectl get vitess` would show it.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"sigs.k8s.io/yaml"

	"github.com/vtmeta/vtmeta/test/e2e/sim"
)

func main() {
	file := flag.String("f", "deploy/examples/original/my-vitess.yaml", "the VitessCluster manifest")
	image := flag.String("roll-image", "vitess/lite:v24.0.3", "the tablet and vtgate image to roll out after the cluster is Ready (empty: no rollout)")
	quiet := flag.Bool("q", false, "print only the trees, not every change")
	flag.Parse()
	if err := run(*file, *image, *quiet); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(file, image string, quiet bool) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var vc map[string]any
	if err := yaml.Unmarshal(data, &vc); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	w, err := sim.New(nil)
	if err != nil {
		return err
	}
	if !quiet {
		w.Log = func(format string, args ...any) { fmt.Printf("  "+format+"\n", args...) }
	}
	md, _ := vc["metadata"].(map[string]any)
	name, _ := md["name"].(string)
	fmt.Printf("== kubectl apply -f %s\n", file)
	w.Apply(vc)
	ready := func() bool {
		c := w.Get("VitessCluster", "default", name)
		return sim.Condition(c, "Ready") == "True" && sim.Condition(c, "Updated") == "True"
	}
	if err := w.Converge(100, nil, ready); err != nil {
		return err
	}
	fmt.Println("\n== kubectl get vitess")
	tree(w)
	if image == "" {
		return nil
	}
	fmt.Printf("\n== image edit: every tablet and vtgate to %s; watch one tablet at a time, rdonly first, vtgate last\n", image)
	spec, _ := vc["spec"].(map[string]any)
	spec["images"] = map[string]any{"vttablet": image, "vtgate": image}
	for _, k := range asList(spec["keyspaces"]) {
		if t, ok := k["tablets"].(map[string]any); ok {
			if d, ok := t["defaults"].(map[string]any); ok {
				delete(d, "image")
			}
		}
	}
	for _, c := range asList(spec["cells"]) {
		if g, ok := c["vtgate"].(map[string]any); ok {
			delete(g, "image")
		}
	}
	w.Apply(vc)
	if err := w.Converge(400, nil, ready); err != nil {
		return err
	}
	fmt.Println("\n== kubectl get vitess")
	tree(w)
	return nil
}

func asList(v any) []map[string]any {
	var out []map[string]any
	l, _ := v.([]any)
	for _, x := range l {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// tree prints every vtmeta object with its readiness and progress, and the
// Pods and claims underneath.
func tree(w *sim.World) {
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tNAME\tREADY\tUPDATED\tDETAIL")
	for _, kind := range []string{"VitessCluster", "VitessCell", "VitessKeyspace", "VitessShard", "VitessTablet"} {
		for _, o := range w.List(kind) {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", kind, o.Name, sim.Condition(o, "Ready"), sim.Condition(o, "Updated"), detail(o))
		}
	}
	fmt.Fprintf(tw, "Pods\t%d\t\t\t%s\n", len(w.List("Pod")), images(w))
	fmt.Fprintf(tw, "PersistentVolumeClaims\t%d\t\t\t\n", len(w.List("PersistentVolumeClaim")))
	fmt.Fprintf(tw, "Deployments\t%d\t\t\t%s\n", len(w.List("Deployment")), names(w.List("Deployment")))
	fmt.Fprintf(tw, "StatefulSets\t%d\t\t\t%s\n", len(w.List("StatefulSet")), names(w.List("StatefulSet")))
	fmt.Fprintf(tw, "Jobs\t%d\t\t\t\n", len(w.List("Job")))
	_ = tw.Flush()
}

func detail(o *sim.Object) string {
	var parts []string
	for _, k := range []string{"cells", "readyCells", "keyspaces", "readyKeyspaces", "shards", "readyShards", "tablets", "readyTablets", "phase"} {
		if v, ok := o.Status[k]; ok {
			parts = append(parts, fmt.Sprintf("%s=%v", k, v))
		}
	}
	return strings.Join(parts, " ")
}

func names(objs []*sim.Object) string {
	var out []string
	for _, o := range objs {
		out = append(out, o.Name)
	}
	return strings.Join(out, ", ")
}

func images(w *sim.World) string {
	seen := map[string]int{}
	for _, p := range w.List("Pod") {
		s, _ := p.Body["spec"].(map[string]any)
		for _, c := range asList(s["containers"]) {
			if c["name"] == "vttablet" {
				img, _ := c["image"].(string)
				seen[img]++
			}
		}
	}
	var out []string
	for img, n := range seen {
		out = append(out, fmt.Sprintf("%d on %s", n, img))
	}
	return "vttablet: " + strings.Join(out, ", ")
}
