package operator

import (
	"context"
	"os"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/vtmeta/vtmeta/deploy"
	"github.com/vtmeta/vtmeta/internal/admission"
)

// world returns a World over the local layers whose store defaults
// vtmeta's kinds by their CRDs.
func world(t *testing.T) *World {
	t.Helper()
	crds, err := admission.LoadCRDs(deploy.FS, "crds")
	if err != nil {
		t.Fatal(err)
	}
	w := New(Local()...)
	w.Store = func(obj map[string]any) map[string]any {
		kind, _, _, _ := identity(obj)
		if k := crds[kind]; k != nil {
			stored, _ := k.Store(obj)
			return deepCopy(stored)
		}
		return deepCopy(obj)
	}
	return w
}

func example(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := yaml.Unmarshal(data, &obj); err != nil {
		t.Fatal(err)
	}
	obj["metadata"].(map[string]any)["namespace"] = "default"
	return obj
}

func count(w *World) map[string]int {
	out := map[string]int{}
	for _, o := range w.Objects() {
		out[o.Kind]++
	}
	return out
}

func TestOriginalExampleComesUp(t *testing.T) {
	w := world(t)
	if _, err := w.Apply(example(t, "../../../deploy/examples/original/my-vitess.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := w.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d syncs, %d events, %v", w.Syncs, len(w.Events), count(w))
	for _, o := range w.Objects() {
		t.Logf("%s owner %s", o.Key(), o.Owner)
	}
}

func TestScratchEdit(t *testing.T) {
	w := world(t)
	obj := example(t, "../../../deploy/examples/original/my-vitess.yaml")
	if _, err := w.Apply(obj); err != nil {
		t.Fatal(err)
	}
	if err := w.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("cluster status %v", w.Get("VitessCluster", "vitess").Status["conditions"])
	n := len(w.Events)
	obj = example(t, "../../../deploy/examples/original/my-vitess.yaml")
	ks := obj["spec"].(map[string]any)["keyspaces"].([]any)[0].(map[string]any)
	ks["tablets"].(map[string]any)["defaults"].(map[string]any)["image"] = "vitess/lite:v24.0.3"
	ks["tablets"].(map[string]any)["batch"].(map[string]any)["replicas"] = 0
	if _, err := w.Apply(obj); err != nil {
		t.Fatal(err)
	}
	if err := w.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, e := range w.Events[n:] {
		t.Logf("%s %s %s (%s by %s) %s", e.Op, e.Kind, e.Name, e.Owner, e.Layer, e.Cascade)
	}
	t.Logf("%d syncs", w.Syncs)
}
