package operator

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
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
	layers, stop, err := Local()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	w := New(layers...)
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
	// What the end-to-end suite finds on a real control plane.
	want := map[string]int{"VitessCluster": 1, "VitessCell": 2, "VitessKeyspace": 1, "VitessShard": 2, "VitessTablet": 6,
		"Pod": 6, "PersistentVolumeClaim": 6, "StatefulSet": 1, "Deployment": 3, "Job": 2}
	got := count(w)
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%d %s, want %d", got[k], k, n)
		}
	}
	if !ready(w.Get("VitessCluster", "vitess")) {
		t.Errorf("the cluster is not Ready: %v", w.Get("VitessCluster", "vitess").Status)
	}
	// Settled: syncing every parent again writes nothing.
	n := len(w.Events)
	for _, o := range w.Objects() {
		w.enqueue(o.Key())
	}
	if err := w.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(w.Events) != n {
		t.Errorf("%d writes after everything settled: %+v", len(w.Events)-n, w.Events[n:])
	}
}

func ready(o *Object) bool {
	conds, _ := o.Status["conditions"].([]any)
	for _, c := range conds {
		if m := c.(map[string]any); m["type"] == "Ready" {
			return m["status"] == "True"
		}
	}
	return false
}

// TestRolloutOrder applies the demo's edit (new tablet and vtgate images)
// and checks the order the layers roll it in: within each shard the rdonly
// tablet first, one Pod at a time, and the vtgates after every tablet.
func TestRolloutOrder(t *testing.T) {
	w := world(t)
	obj := example(t, "../../../deploy/examples/original/my-vitess.yaml")
	if _, err := w.Apply(obj); err != nil {
		t.Fatal(err)
	}
	if err := w.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	mark := len(w.Events)
	obj = example(t, "../../../deploy/examples/original/my-vitess.yaml")
	s := obj["spec"].(map[string]any)
	s["images"] = map[string]any{"vttablet": "vitess/lite:v25.0.0", "vtgate": "vitess/lite:v25.0.0"}
	delete(s["keyspaces"].([]any)[0].(map[string]any)["tablets"].(map[string]any)["defaults"].(map[string]any), "image")
	delete(s["cells"].([]any)[1].(map[string]any)["vtgate"].(map[string]any), "image")
	if _, err := w.Apply(obj); err != nil {
		t.Fatal(err)
	}
	if err := w.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, e := range w.Events[mark:] {
		switch {
		case e.Kind == "Pod" && e.Op == Replace:
			order = append(order, e.Name)
		case e.Kind == "Deployment" && e.Name == "vitess-zone1-vtgate":
			order = append(order, "vtgate")
		}
	}
	want := []string{
		"vitess-vttablet-zone1-1700000100", "vitess-vttablet-zone1-1700000000", "vitess-vttablet-zone1-1700000001", // -80: rdonly, replicas
		"vitess-vttablet-zone1-1700000300", "vitess-vttablet-zone1-1700000200", "vitess-vttablet-zone1-1700000201", // 80-
		"vtgate",
	}
	if strings.Join(order, " ") != strings.Join(want, " ") {
		t.Errorf("rolled\n  %v\nwant\n  %v", order, want)
	}
	if !ready(w.Get("VitessCluster", "vitess")) {
		t.Error("the cluster is not Ready after the rollout")
	}
}

// TestClaimExpansion grows the volumes: the tablet layer asks for the
// larger claims, which grow in place (claims are InPlace), no Pod touched;
// under OnDelete, Metacontroller would not apply them.
func TestClaimExpansion(t *testing.T) {
	for _, tt := range []struct {
		name     string
		strategy Strategy
		op       Op
	}{{"in place", InPlace, Update}, {"on delete", OnDelete, Withheld}} {
		t.Run(tt.name, func(t *testing.T) {
			saved := Strategies["PersistentVolumeClaim"]
			Strategies["PersistentVolumeClaim"] = tt.strategy
			defer func() { Strategies["PersistentVolumeClaim"] = saved }()
			w := world(t)
			if _, err := w.Apply(example(t, "../../../deploy/examples/minimal/vitess.yaml")); err != nil {
				t.Fatal(err)
			}
			if err := w.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			mark := len(w.Events)
			obj := example(t, "../../../deploy/examples/minimal/vitess.yaml")
			d := obj["spec"].(map[string]any)["keyspaces"].([]any)[0].(map[string]any)["tablets"].(map[string]any)["defaults"].(map[string]any)
			d["volumeClaim"].(map[string]any)["resources"] = map[string]any{"requests": map[string]any{"storage": "20Gi"}}
			if _, err := w.Apply(obj); err != nil {
				t.Fatal(err)
			}
			if err := w.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			claims := 0
			for _, e := range w.Events[mark:] {
				switch {
				case e.Kind == "PersistentVolumeClaim" && e.Op == tt.op:
					claims++
				case e.Kind == "PersistentVolumeClaim" || e.Kind == "Pod":
					t.Errorf("%s %s %s: a volume size edit must touch no Pod and only %s claims", e.Op, e.Kind, e.Name, tt.op)
				}
			}
			if claims != 2 {
				t.Errorf("%d claims %s, want 2", claims, tt.op)
			}
		})
	}
}

// fake is a cluster layer whose answer the test writes.
type fake struct {
	n      int
	answer func(n int) string
}

func (f *fake) Name() string         { return "cluster" }
func (f *fake) ChildTypes() []string { return []string{"ConfigMap.v1"} }
func (f *fake) ParentKind() string   { return "VitessCluster" }
func (f *fake) Where() string        { return "test" }
func (f *fake) Sync(context.Context, []byte) (Answer, error) {
	f.n++
	return Answer{Status: json.RawMessage(`{}`), Children: []json.RawMessage{json.RawMessage(f.answer(f.n))}}, nil
}

func clusterNamed(name string) map[string]any {
	return map[string]any{"apiVersion": "vitess.io/v1alpha1", "kind": "VitessCluster", "metadata": map[string]any{"name": name}}
}

func TestRunErrors(t *testing.T) {
	// A layer whose every answer differs never settles.
	w := New(&fake{answer: func(n int) string {
		return fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":{"n":"%d"}}`, n)
	}})
	w.MaxSyncs = 50
	if _, err := w.Apply(clusterNamed("c")); err != nil {
		t.Fatal(err)
	}
	if err := w.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "did not settle after 50 syncs") {
		t.Errorf("err = %v, want the layers did not settle", err)
	}
	// Two parents asking for one child: the second is refused, as
	// Metacontroller refuses to adopt a child another controller owns.
	w = New(&fake{answer: func(int) string { return `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"shared"}}` }})
	for _, n := range []string{"a", "b"} {
		if _, err := w.Apply(clusterNamed(n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "asks for ConfigMap shared, which VitessCluster/a controls") {
		t.Errorf("err = %v, want the child's controller named", err)
	}
}
