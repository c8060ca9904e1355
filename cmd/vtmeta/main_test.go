package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/vtmeta/vtmeta/internal/admission"
	"github.com/vtmeta/vtmeta/internal/golden"
	"github.com/vtmeta/vtmeta/internal/spec"
)

// examples are deploy/examples, by name.
var examples = map[string]string{
	"minimal":    "../../deploy/examples/minimal/vitess.yaml",
	"original":   "../../deploy/examples/original/my-vitess.yaml",
	"production": "../../deploy/examples/production/vitess.yaml",
}

// result is one run of the command line.
type result struct {
	stdout, stderr string
	code           int
}

// cli runs the command line as vtmeta (or as argv0 when set on a).
func cli(t *testing.T, a *app, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	if a == nil {
		a = newApp("vtmeta", strings.NewReader(""), &out, &errOut)
	}
	a.stdout, a.stderr = &out, &errOut
	code := run(context.Background(), a, args)
	return result{out.String(), errOut.String(), code}
}

// write writes a file in a test's directory.
func write(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// compareText compares text with a reviewed golden file (-update rewrites
// it).
func compareText(t *testing.T, path, got string) {
	t.Helper()
	if golden.Updating() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("output differs from %s (run with -update and review the diff):\n%s", path, got)
	}
}

// documents parses a YAML stream into its documents' values.
func documents(t *testing.T, data []byte) []any {
	t.Helper()
	var out []any
	for _, d := range admission.Documents(data) {
		var v any
		if err := yaml.Unmarshal(d.Data, &v); err != nil {
			t.Fatalf("document at line %d: %v", d.Line, err)
		}
		out = append(out, v)
	}
	return out
}

// compareYAML compares a YAML stream with a golden file document by
// document, as values (-update rewrites it).
func compareYAML(t *testing.T, path string, got []byte) {
	t.Helper()
	if golden.Updating() {
		compareText(t, path, string(got))
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	g, w := documents(t, got), documents(t, want)
	if len(g) != len(w) {
		t.Fatalf("%d objects, %s has %d (run with -update and review the diff)", len(g), path, len(w))
	}
	for i := range g {
		if !reflect.DeepEqual(g[i], w[i]) {
			t.Errorf("object %d differs from %s (run with -update and review the diff)", i+1, path)
		}
	}
}

func TestRender(t *testing.T) {
	for name, path := range examples {
		t.Run(name, func(t *testing.T) {
			r := cli(t, nil, "render", "-f", path)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			// The admission policies' warnings go to stderr, as kubectl's.
			if warned := strings.Contains(r.stderr, "warning from ValidatingAdmissionPolicy vtmeta-supported-images"); warned != (name == "original") {
				t.Errorf("old-images warning %v: %s", warned, r.stderr)
			}
			compareYAML(t, filepath.Join("testdata", "render", name+".yaml"), []byte(r.stdout))
			// Twice the same: the output diffs cleanly.
			if again := cli(t, nil, "render", "-f", path); again.stdout != r.stdout {
				t.Error("render is not deterministic")
			}
			// -o json is the same objects, as a v1 List.
			j := cli(t, nil, "render", "-f", path, "-o", "json")
			var list struct {
				Kind  string `json:"kind"`
				Items []any  `json:"items"`
			}
			if err := json.Unmarshal([]byte(j.stdout), &list); err != nil || list.Kind != "List" {
				t.Fatalf("-o json is not a List (%v):\n%.300s", err, j.stdout)
			}
			if docs := documents(t, []byte(r.stdout)); !reflect.DeepEqual(asJSON(t, docs), asJSON(t, list.Items)) {
				t.Error("-o json and -o yaml differ")
			}
			// --layer tablet: the tablet layer's Pods and claims only.
			tl := cli(t, nil, "render", "-f", path, "--layer", "tablet", "-o", "json")
			var tablets struct{ Items []struct{ Kind string } }
			if err := json.Unmarshal([]byte(tl.stdout), &tablets); err != nil || len(tablets.Items) == 0 {
				t.Fatalf("--layer tablet: %v %s", err, tl.stderr)
			}
			for _, it := range tablets.Items {
				if it.Kind != "Pod" && it.Kind != "PersistentVolumeClaim" {
					t.Errorf("--layer tablet printed a %s", it.Kind)
				}
			}
		})
	}
}

// asJSON normalizes values as JSON sees them.
func asJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// spec is a VitessCluster manifest's spec, for edits.
type specMap = map[string]any

func keyspace0(s specMap) map[string]any { return s["keyspaces"].([]any)[0].(map[string]any) }

func pools(s specMap) map[string]any {
	k := keyspace0(s)
	if k["tablets"] == nil {
		k["tablets"] = map[string]any{}
	}
	return k["tablets"].(map[string]any)
}

// smallerPool is the pool a pool-size edit shrinks: the rdonly one where
// there is one (a durability policy may need every primary-eligible
// tablet), else the primary-eligible one, under whichever name the
// example uses.
func smallerPool(s specMap) map[string]any {
	p := pools(s)
	for _, n := range []string{"rdonly", "batch", "replica", "masterEligible"} {
		if m, ok := p[n].(map[string]any); ok && m["replicas"].(float64) > 0 {
			return m
		}
	}
	panic("the example has no pool to shrink")
}

// newImage is the image the image edit rolls out: none of the examples
// runs it, nor is it the default (TestNewImageIsNew).
const newImage = "vitess/lite:v25.0.0"

func TestNewImageIsNew(t *testing.T) {
	if spec.DefaultVitessImage == newImage {
		t.Fatalf("the default image is %s: pick another newImage for the image edit", newImage)
	}
	for _, path := range examples {
		if b, _ := os.ReadFile(path); strings.Contains(string(b), newImage) {
			t.Fatalf("%s runs %s already: pick another newImage for the image edit", path, newImage)
		}
	}
}

// edits are the edits every example is planned with.
var edits = []struct {
	name string
	edit func(s specMap)
	// check asserts what the plan must show, beyond its golden file.
	check func(t *testing.T, out string)
}{
	{"image", func(s specMap) {
		// Every tablet to a new image: the cluster's, with the
		// keyspace's own image dropped (the demo's edit).
		imgs, _ := s["images"].(map[string]any)
		if imgs == nil {
			imgs = map[string]any{}
			s["images"] = imgs
		}
		imgs["vttablet"] = newImage
		if d, ok := pools(s)["defaults"].(map[string]any); ok {
			delete(d, "image")
		}
	}, func(t *testing.T, out string) {
		steps := regexp.MustCompile(`(?m)^. +\d+\. VitessTablet .*; Pod replaced$`).FindAllString(out, -1)
		replicas := regexp.MustCompile(`(?m)^! +\d+\. VitessTablet .*\(replica\).*; Pod replaced$`).FindAllString(out, -1)
		if len(steps) == 0 || len(replicas) == 0 || len(replicas) >= len(steps)+1 {
			t.Errorf("%d tablet Pods replaced, %d flagged as primary-eligible restarts", len(steps), len(replicas))
		}
		if strings.Contains(out, "x PersistentVolumeClaim") || strings.Contains(out, "claim deleted") {
			t.Error("an image edit deletes a claim")
		}
	}},
	{"pool-size", func(s specMap) {
		// One tablet fewer per shard and cell.
		p := smallerPool(s)
		p["replicas"] = p["replicas"].(float64) - 1
	}, func(t *testing.T, out string) {
		if !regexp.MustCompile(`(?m)^! +\d+\. VitessTablet \S+ \((replica|rdonly)\) retired: spec.retired: \(none\) → true; Pod removed$`).MatchString(out) {
			t.Error("no retired tablet flagged")
		}
		if !strings.Contains(out, "Left the spec, kept (reclaimPolicy Retain)") || strings.Contains(out, "PersistentVolumeClaim") {
			t.Error("a retired tablet's claim is not kept")
		}
	}},
	{"new-shard", func(s specMap) {
		// Split the last shard in two (an unsharded keyspace gets two).
		k := keyspace0(s)
		shards, _ := k["shards"].([]any)
		if len(shards) == 0 {
			k["shards"] = []any{
				map[string]any{"keyRange": map[string]any{"start": "", "end": "80"}},
				map[string]any{"keyRange": map[string]any{"start": "80", "end": ""}},
			}
			return
		}
		last := shards[len(shards)-1].(map[string]any)["keyRange"].(map[string]any)
		last["end"] = "e0"
		k["shards"] = append(shards, map[string]any{"keyRange": map[string]any{"start": "e0", "end": ""}})
	}, func(t *testing.T, out string) {
		if !regexp.MustCompile(`(?m)^  \+ VitessShard \S+-e0-x$|^  \+ VitessShard \S+-80-x$`).MatchString(out) {
			t.Error("no new shard created")
		}
		if !strings.Contains(out, "Left the spec, kept (reclaimPolicy Retain)") {
			t.Error("the shard that left the spec is not kept")
		}
	}},
	{"scale-down-reclaim-delete", func(s specMap) {
		// reclaimPolicy Delete and one tablet fewer: its claim goes.
		s["reclaimPolicy"] = "Delete"
		p := smallerPool(s)
		p["replicas"] = p["replicas"].(float64) - 1
	}, func(t *testing.T, out string) {
		if !regexp.MustCompile(`(?m)^      ! deletes claim \S+ and the tablet's data with it`).MatchString(out) {
			t.Error("no claim deletion flagged")
		}
	}},
}

// edited writes the example with an edit applied.
func edited(t *testing.T, path string, edit func(specMap)) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := yaml.Unmarshal(data, &obj); err != nil {
		t.Fatal(err)
	}
	edit(obj["spec"].(map[string]any))
	out, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return write(t, "edited.yaml", string(out))
}

func TestPlan(t *testing.T) {
	for name, path := range examples {
		for _, e := range edits {
			t.Run(name+"/"+e.name, func(t *testing.T) {
				r := cli(t, nil, "plan", "-f", edited(t, path, e.edit), "--from", path)
				if r.code != 0 {
					t.Fatalf("exit %d: %s", r.code, r.stderr)
				}
				compareText(t, filepath.Join("testdata", "plan", name+"-"+e.name+".txt"), r.stdout)
				e.check(t, r.stdout)
			})
		}
	}
}

func TestPlanNothingChanges(t *testing.T) {
	path := examples["original"]
	r := cli(t, nil, "plan", "-f", path, "--from", path)
	if r.code != 0 || !strings.Contains(r.stdout, "No rollout: nothing changes.") || strings.Contains(r.stdout, "Changed") {
		t.Errorf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestPlanJSON(t *testing.T) {
	path := examples["minimal"]
	r := cli(t, nil, "plan", "-f", edited(t, path, edits[0].edit), "--from", path, "-o", "json")
	var p struct {
		Steps []struct {
			Kind    string
			What    string
			Effects []string
			Data    []string
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	replaced := 0
	for _, s := range p.Steps {
		if s.Kind == "VitessTablet" && strings.Join(s.Effects, ",") == "Pod replaced" && len(s.Data) == 1 {
			replaced++
		}
	}
	if replaced != 2 {
		t.Errorf("%d tablets replaced with a data flag, want the minimal example's 2:\n%s", replaced, r.stdout)
	}
}

func TestPlanRefusesAnInvalidEdit(t *testing.T) {
	path := examples["original"]
	bad := edited(t, path, func(s specMap) { keyspace0(s)["cells"] = []any{"mars"} })
	r := cli(t, nil, "plan", "-f", bad, "--from", path)
	if r.code != 1 || !strings.Contains(r.stderr, "the apiserver refuses the edit") || !strings.Contains(r.stderr, "spec.keyspaces") {
		t.Errorf("exit %d:\n%s", r.code, r.stderr)
	}
	// production's semi_sync needs three primary-eligible tablets: served
	// in one cell only, two replicas are too few.
	prod := examples["production"]
	r = cli(t, nil, "plan", "-f", edited(t, prod, func(s specMap) {
		keyspace0(s)["cells"] = []any{"us-east-1a"}
		pools(s)["replica"].(map[string]any)["replicas"] = 2
	}), "--from", prod)
	if r.code != 1 || !strings.Contains(r.stderr, "spec.keyspaces[0].durabilityPolicy") {
		t.Errorf("exit %d:\n%s", r.code, r.stderr)
	}
	noVolume := edited(t, path, func(s specMap) { delete(pools(s), "defaults") })
	r = cli(t, nil, "plan", "-f", noVolume, "--from", path)
	if r.code != 1 || !strings.Contains(r.stderr, "the layers refuse the edit") || !strings.Contains(r.stderr, "volume size") {
		t.Errorf("exit %d:\n%s", r.code, r.stderr)
	}
}

func TestValidateCatalogue(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil || len(files) < 20 {
		t.Fatalf("the catalogue of broken specs has %d files (%v)", len(files), err)
	}
	want := regexp.MustCompile(`(?m)^# want: (\S+)$`)
	by := regexp.MustCompile(`(?m)^# by: (.+)$`)
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			m := want.FindSubmatch(data)
			if m == nil {
				t.Fatal("no '# want: FIELD' line")
			}
			r := cli(t, nil, "validate", "-f", f)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1:\n%s%s", r.code, r.stdout, r.stderr)
			}
			// file:line: VitessCluster name: field: message, then its fix.
			line := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(f) + `:[1-9]\d*: VitessCluster \S+: ` + regexp.QuoteMeta(string(m[1])) + `: .+\n    fix: \S.+\n    refused by: (.+)$`)
			found := line.FindStringSubmatch(r.stdout)
			if found == nil {
				t.Fatalf("no error on %s with its file, line and fix:\n%s", m[1], r.stdout)
			}
			if b := by.FindSubmatch(data); b != nil && !strings.Contains(found[1], string(b[1])) {
				t.Errorf("refused by %q, want %q", found[1], b[1])
			}
		})
	}
}

func TestValidateExamples(t *testing.T) {
	for name, path := range examples {
		t.Run(name, func(t *testing.T) {
			r := cli(t, nil, "validate", "-f", path)
			if r.code != 0 || !strings.Contains(r.stdout, " is valid (") {
				t.Fatalf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
			}
			protected := strings.Contains(r.stdout, "note: deleting it will be refused (ValidatingAdmissionPolicy vtmeta-deletion-protection)")
			if protected != (name == "production") { // only production sets deletionProtection
				t.Errorf("deletion-protection note %v:\n%s", protected, r.stdout)
			}
			// Only the original example runs Vitess older than v23.
			old := strings.Contains(r.stdout, "warning from ValidatingAdmissionPolicy vtmeta-supported-images (kubectl prints it, the apiserver accepts the object): Vitess images older than v23")
			if old != (name == "original") {
				t.Errorf("old-images warning %v:\n%s", old, r.stdout)
			}
		})
	}
}

func TestValidateLineNumbers(t *testing.T) {
	// Two documents: the line is the file's, not the document's.
	f := write(t, "two.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n"+
		"apiVersion: vitess.io/v1alpha1\nkind: VitessCluster\nmetadata: {name: v}\nspec:\n  selector: {matchLabels: {app: v}}\n  cells:\n  - name: zone1\n  reclaimPolicy: Keep\n")
	r := cli(t, nil, "validate", "-f", f)
	if r.code != 1 || !strings.Contains(r.stdout, f+":12: VitessCluster v: spec.reclaimPolicy:") ||
		!strings.Contains(r.stdout, "ConfigMap x: not one of vtmeta's kinds, skipped") {
		t.Errorf("exit %d:\n%s", r.code, r.stdout)
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"render"}, 2, "render needs -f FILE"},
		{[]string{"render", "-f", examples["minimal"], "--layer", "vtgate"}, 2, `--layer "vtgate"`},
		{[]string{"render", "-f", examples["minimal"], "-o", "xml"}, 2, `-o "xml"`},
		{[]string{"render", "-f", examples["minimal"], "--remote", "shard"}, 2, "want LAYER=HOST:PORT"},
		{[]string{"plan", "-f", examples["minimal"]}, 2, "exactly one of --from OLD.yaml and --from-cluster"},
		{[]string{"plan", "-f", examples["minimal"], "--from", examples["original"]}, 1, "plan compares two specs of one cluster"},
		{[]string{"validate"}, 2, "validate needs -f FILE"},
		{[]string{"validate", "-f", "nope.yaml"}, 1, "no such file"},
		{[]string{"tree", "a", "b"}, 2, "at most one NAME"},
		{[]string{"frobnicate"}, 1, `unknown command "frobnicate"`},
		{[]string{"render", "--frobnicate"}, 2, "unknown flag: --frobnicate"},
		{[]string{"version"}, 0, "dev"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := cli(t, nil, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stdout+r.stderr, tt.want) {
				t.Errorf("exit %d (want %d), output lacks %q:\n%s%s", r.code, tt.code, tt.want, r.stdout, r.stderr)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, c := range []string{"render", "validate", "plan", "tree", "sync", "version"} {
		t.Run(c, func(t *testing.T) {
			r := cli(t, nil, c, "--help")
			if r.code != 0 || !strings.Contains(r.stdout, "Usage:\n  vtmeta "+c) || !strings.Contains(r.stdout, "--context string") {
				t.Errorf("exit %d:\n%s", r.code, r.stdout)
			}
			if c != "version" && !strings.Contains(r.stdout, "Examples:\n  vtmeta "+c) {
				t.Errorf("no examples:\n%s", r.stdout)
			}
		})
	}
}

// TestKubectlPlugin checks that, called as kubectl-vtmeta, the help speaks
// of "kubectl vtmeta".
func TestKubectlPlugin(t *testing.T) {
	var out bytes.Buffer
	a := newApp("kubectl-vtmeta", strings.NewReader(""), &out, &out)
	r := cli(t, a, "plan", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "Usage:\n  kubectl vtmeta plan -f NEW.yaml") ||
		!strings.Contains(r.stdout, "  kubectl vtmeta plan -f new.yaml --from old.yaml") {
		t.Errorf("exit %d:\n%s", r.code, r.stdout)
	}
}

func TestStandardInput(t *testing.T) {
	data, err := os.ReadFile(examples["minimal"])
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	a := newApp("vtmeta", bytes.NewReader(data), &out, &errOut)
	if code := run(context.Background(), a, []string{"validate", "-f", "-"}); code != 0 || !strings.Contains(out.String(), "-:3: VitessCluster mini is valid") {
		t.Errorf("exit %d: %s%s", code, out.String(), errOut.String())
	}
}

// TestValidateRefusesWhatTheClusterLayerRefuses runs validate over the
// cluster layer's bad-input catalogue (services/cluster/layer/testdata):
// every spec its hook holds with InvalidSpec must be refused here too,
// naming the same field or one around it.
func TestValidateRefusesWhatTheClusterLayerRefuses(t *testing.T) {
	dir := "../../services/cluster/layer/testdata"
	var cat struct {
		Cases []struct {
			Name   string                     `json:"name"`
			Set    map[string]json.RawMessage `json:"set"`
			Delete []string                   `json:"delete"`
			Status int                        `json:"status"`
			Want   []string                   `json:"want"`
		} `json:"cases"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "bad-requests.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &cat); err != nil {
		t.Fatal(err)
	}
	var base struct {
		Parent map[string]any `json:"parent"`
	}
	data, err = os.ReadFile(filepath.Join(dir, "create-original.request.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &base); err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, c := range cat.Cases {
		if c.Status != 200 || len(c.Want) < 2 || !strings.Contains(c.Want[0], "InvalidSpec") {
			continue
		}
		ran++
		t.Run(c.Name, func(t *testing.T) {
			parent := copyJSON(base.Parent)
			for ptr, v := range c.Set {
				var val any
				if err := json.Unmarshal(v, &val); err != nil {
					t.Fatal(err)
				}
				pointer(t, parent, strings.TrimPrefix(ptr, "/parent"), val, false)
			}
			for _, ptr := range c.Delete {
				pointer(t, parent, strings.TrimPrefix(ptr, "/parent"), nil, true)
			}
			b, err := yaml.Marshal(parent)
			if err != nil {
				t.Fatal(err)
			}
			r := cli(t, nil, "validate", "-f", write(t, "case.yaml", string(b)))
			field := c.Want[1]
			paths := regexp.MustCompile(`(?m)^\S+:\d+: VitessCluster \S+: (\S+): `).FindAllStringSubmatch(r.stdout, -1)
			related := false
			for _, p := range paths {
				related = related || within(p[1], field) || within(field, p[1])
			}
			if r.code != 1 || !related {
				t.Errorf("exit %d, no error on %s or around it:\n%s", r.code, field, r.stdout)
			}
		})
	}
	if ran == 0 {
		t.Fatal("no InvalidSpec case in the cluster layer's catalogue")
	}
}

// pointer sets (or deletes) the value at a JSON pointer into obj.
func pointer(t *testing.T, obj map[string]any, ptr string, val any, del bool) {
	t.Helper()
	segs := strings.Split(strings.TrimPrefix(ptr, "/"), "/")
	var cur any = obj
	for i, s := range segs {
		last := i == len(segs)-1
		switch c := cur.(type) {
		case map[string]any:
			switch {
			case last && del:
				delete(c, s)
			case last:
				c[s] = val
			default:
				if c[s] == nil {
					c[s] = map[string]any{}
				}
				cur = c[s]
			}
		case []any:
			n, err := strconv.Atoi(s)
			if err != nil || n >= len(c) {
				t.Fatalf("pointer %s: no item %s", ptr, s)
			}
			if last {
				c[n] = val
			} else {
				cur = c[n]
			}
		default:
			t.Fatalf("pointer %s: %s is not in an object or a list", ptr, s)
		}
	}
}
