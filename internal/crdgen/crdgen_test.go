package crdgen

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	crdvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/vtmeta/vtmeta/internal/admission"
)

const crdDir = "../../deploy/crds"

// crds loads deploy/crds with the validators the CLI uses, by file name.
func crds(t *testing.T) map[string]*admission.Kind {
	t.Helper()
	all, err := admission.LoadCRDs(os.DirFS(crdDir), ".")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*admission.Kind{}
	for _, k := range all {
		out[k.File] = k
	}
	return out
}

func load(t *testing.T, file string) *admission.Kind {
	t.Helper()
	k, ok := crds(t)[file]
	if !ok {
		t.Fatalf("no CRD in %s", file)
	}
	return k
}

// validate stores obj as the apiserver does (defaults) and validates it.
func validate(t *testing.T, k *admission.Kind, obj map[string]any) field.ErrorList {
	t.Helper()
	stored, errs := k.Admit(context.Background(), obj, nil)
	for key := range obj {
		delete(obj, key)
	}
	for key, v := range stored {
		obj[key] = v
	}
	return errs
}

var files = map[string]struct{ kind, short string }{
	"vitess.io_vitessclusters.yaml":  {"VitessCluster", "vt"},
	"vitess.io_vitesscells.yaml":     {"VitessCell", "vtc"},
	"vitess.io_vitesskeyspaces.yaml": {"VitessKeyspace", "vtk"},
	"vitess.io_vitessshards.yaml":    {"VitessShard", "vts"},
	"vitess.io_vitesstablets.yaml":   {"VitessTablet", "vtt"},
}

func TestCRDsAreValid(t *testing.T) {
	for file, want := range files {
		t.Run(file, func(t *testing.T) {
			k := load(t, file)
			if errs := crdvalidation.ValidateCustomResourceDefinition(context.Background(), k.Internal); len(errs) > 0 {
				t.Fatalf("invalid CRD: %v", errs.ToAggregate())
			}
			if errs := structuralschema.ValidateStructural(nil, k.Structural); len(errs) > 0 {
				t.Fatalf("not structural: %v", errs.ToAggregate())
			}
			names := k.CRD.Spec.Names
			if names.Kind != want.kind || len(names.ShortNames) != 1 || names.ShortNames[0] != want.short ||
				len(names.Categories) != 1 || names.Categories[0] != "vitess" || k.CRD.Spec.Scope != apiextv1.NamespaceScoped {
				t.Errorf("names %+v scope %s", names, k.CRD.Spec.Scope)
			}
			v := k.CRD.Spec.Versions[0]
			if v.Subresources == nil || v.Subresources.Status == nil || len(v.AdditionalPrinterColumns) < 3 {
				t.Errorf("status subresource %v, %d printer columns", v.Subresources, len(v.AdditionalPrinterColumns))
			}
			spec := v.Schema.OpenAPIV3Schema.Properties["spec"]
			if spec.Description == "" || len(spec.Properties) == 0 {
				t.Error("spec has no description or properties")
			}
		})
	}
}

func TestDescriptionsComeFromProtoComments(t *testing.T) {
	k := load(t, "vitess.io_vitessclusters.yaml")
	spec := k.CRD.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
	cells := spec.Properties["cells"]
	if !strings.Contains(cells.Description, "cells are the cluster's cells") {
		t.Errorf("cells description %q", cells.Description)
	}
	name := cells.Items.Schema.Properties["name"]
	if !strings.Contains(name.Description, "DNS-1123") {
		t.Errorf("cell name description %q", name.Description)
	}
}

func readExample(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Numbers decode as the apiserver decodes them: whole ones as int64.
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := utiljson.Unmarshal(js, &obj); err != nil {
		t.Fatal(err)
	}
	return obj
}

func TestOriginalExampleIsAccepted(t *testing.T) {
	k := load(t, "vitess.io_vitessclusters.yaml")
	for _, path := range []string{"../../deploy/examples/original/my-vitess.yaml"} {
		obj := readExample(t, path)
		if errs := validate(t, k, obj); len(errs) > 0 {
			t.Errorf("%s refused: %v", path, errs.ToAggregate())
		}
		spec := obj["spec"].(map[string]any)
		if spec["reclaimPolicy"] != "Retain" {
			t.Errorf("defaults not applied: reclaimPolicy %v", spec["reclaimPolicy"])
		}
	}
}

// TestOriginalExampleIsUnchanged checks the repository's copy against the
// original example beside the checkout, when it is there.
func TestOriginalExampleIsUnchanged(t *testing.T) {
	seed, err := os.ReadFile("../../../shared/seed/my-vitess.yaml")
	if err != nil {
		t.Skipf("no original beside the checkout: %v", err)
	}
	ours, err := os.ReadFile("../../deploy/examples/original/my-vitess.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if string(seed) != string(ours) {
		t.Error("deploy/examples/original/my-vitess.yaml differs from the original example")
	}
}

func TestBrokenExamplesAreRefused(t *testing.T) {
	k := load(t, "vitess.io_vitessclusters.yaml")
	tests := []struct {
		name  string
		edit  func(spec map[string]any)
		field string
		msg   string
	}{
		{"overlapping key ranges", func(s map[string]any) {
			ks(s)["shards"] = []any{kr("", "80"), kr("40", "")}
		}, "spec.keyspaces[0].shards", "overlap"},
		{"gap in key ranges", func(s map[string]any) {
			ks(s)["shards"] = []any{kr("", "40"), kr("80", "")}
		}, "spec.keyspaces[0].shards", "gap"},
		{"no shard at the lowest key", func(s map[string]any) {
			ks(s)["shards"] = []any{kr("40", "80"), kr("80", "")}
		}, "spec.keyspaces[0].shards", "lowest key"},
		{"duplicate cell", func(s map[string]any) {
			s["cells"] = append(s["cells"].([]any), map[string]any{"name": "zone1"})
		}, "spec.cells[2]", "Duplicate value"},
		{"keyspace in an unknown cell", func(s map[string]any) {
			ks(s)["cells"] = []any{"mars"}
		}, "spec.keyspaces", "must name cells listed in spec.cells"},
		{"negative replicas", func(s map[string]any) {
			ks(s)["tablets"].(map[string]any)["masterEligible"].(map[string]any)["replicas"] = -1
		}, "spec.keyspaces[0].tablets.masterEligible.replicas", "greater than or equal to 0"},
		{"cell name not DNS-1123", func(s map[string]any) {
			s["cells"].([]any)[1].(map[string]any)["name"] = "Zone_1"
		}, "spec.cells[1].name", "should match"},
		{"vtorc and orchestrator", func(s map[string]any) {
			s["cells"].([]any)[0].(map[string]any)["vtorc"] = map[string]any{"replicas": 1}
		}, "spec.cells[0]", "vtorc or its deprecated alias orchestrator"},
		{"key range not hex", func(s map[string]any) {
			ks(s)["shards"] = []any{kr("", "8"), kr("8", "")}
		}, "spec.keyspaces[0].shards[0].keyRange.end", "should match"},
		{"two etcd blocks", func(s map[string]any) {
			s["cells"].([]any)[1].(map[string]any)["etcd"] = map[string]any{"size": 3}
		}, "spec.cells", "at most one cell may have an etcd block"},
		{"template without the selector's labels", func(s map[string]any) {
			s["template"] = map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "other"}}}
		}, "spec.template", "must include every label of selector.matchLabels"},
		{"bad reclaim policy", func(s map[string]any) { s["reclaimPolicy"] = "Keep" }, "spec.reclaimPolicy", "Unsupported value"},
		{"semi_sync with two primary-eligible tablets", func(s map[string]any) { ks(s)["durabilityPolicy"] = "semi_sync" },
			"spec.keyspaces[0].durabilityPolicy", "need at least 3 primary-eligible tablets per shard"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := readExample(t, "../../deploy/examples/original/my-vitess.yaml")
			tt.edit(obj["spec"].(map[string]any))
			errs := validate(t, k, obj)
			if len(errs) == 0 {
				t.Fatal("accepted")
			}
			found := false
			for _, e := range errs {
				if strings.HasPrefix(e.Field, tt.field) && strings.Contains(e.Error(), tt.msg) {
					found = true
				}
			}
			if !found {
				t.Errorf("no error on %s mentioning %q: %v", tt.field, tt.msg, errs.ToAggregate())
			}
		})
	}
}

// TestSemiSyncCountsTheListedCells checks the admission rule of an
// explicit semi_sync: primary-eligible tablets count across the cells the
// keyspace lists (a replica in any cell acknowledges); a keyspace that
// lists none counts one cell, as admission cannot tell which cells run a
// vtgate.
func TestSemiSyncCountsTheListedCells(t *testing.T) {
	k := load(t, "vitess.io_vitessclusters.yaml")
	for _, tt := range []struct {
		name     string
		cells    []any
		accepted bool
	}{
		{"two replicas in each of two listed cells", []any{"zone1", "zone2"}, true},
		{"two replicas in one listed cell", []any{"zone1"}, false},
		{"two replicas, no cell listed", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			obj := readExample(t, "../../deploy/examples/original/my-vitess.yaml")
			spec := obj["spec"].(map[string]any)
			spec["cells"] = append(spec["cells"].([]any), map[string]any{"name": "zone2", "vtgate": map[string]any{"replicas": 1}})
			ks(spec)["durabilityPolicy"] = "semi_sync"
			if tt.cells == nil {
				delete(ks(spec), "cells")
			} else {
				ks(spec)["cells"] = tt.cells
			}
			errs := validate(t, k, obj)
			if tt.accepted && len(errs) > 0 {
				t.Errorf("refused: %v", errs.ToAggregate())
			}
			if !tt.accepted && (len(errs) == 0 || !strings.Contains(errs.ToAggregate().Error(), "across the keyspace's cells")) {
				t.Errorf("%v, want refused for too few primary-eligible tablets", errs.ToAggregate())
			}
		})
	}
}

func ks(spec map[string]any) map[string]any {
	return spec["keyspaces"].([]any)[0].(map[string]any)
}

func kr(start, end string) map[string]any {
	return map[string]any{"keyRange": map[string]any{"start": start, "end": end}}
}

// TestHookOutputIsStoredAsWritten checks every Vitess child in the layers'
// golden responses against its CRD as the apiserver stores it (pruned of
// unknown fields, then defaulted): nothing may change. A child stored
// differently from what its hook wrote looks out of date to Metacontroller
// on every sync, which then updates it forever; a pruned field is lost.
func TestHookOutputIsStoredAsWritten(t *testing.T) {
	kinds := map[string]*admission.Kind{}
	for file, k := range crds(t) {
		kinds[files[file].kind] = k
	}
	goldens, err := filepath.Glob("../../services/*/layer/testdata/*.response.json")
	if err != nil || len(goldens) == 0 {
		t.Fatalf("no golden responses (%v)", err)
	}
	checked := map[string]int{}
	for _, g := range goldens {
		data, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		var resp struct {
			Children []map[string]any `json:"children"`
		}
		if err := json.Unmarshal(data, &resp); err != nil {
			t.Fatalf("%s: %v", g, err)
		}
		held := lastApplied(t, strings.TrimSuffix(g, ".response.json")+".request.json")
		for _, child := range resp.Children {
			kindName, _ := child["kind"].(string)
			k, ok := kinds[kindName]
			if !ok {
				continue
			}
			if b, _ := json.Marshal(child); held[string(b)] {
				// Held exactly as last applied (perhaps by an older
				// version): storing it again changes nothing.
				continue
			}
			stored, _ := k.Store(child)
			// Compared as JSON: the store decodes integers as int64.
			a, _ := json.Marshal(child)
			b, _ := json.Marshal(stored)
			if string(a) != string(b) {
				t.Errorf("%s: the apiserver stores this %s differently from how the hook wrote it:\nwrote  %s\nstored %s", filepath.Base(g), kindName, a, b)
			}
			checked[kindName]++
		}
	}
	for _, k := range []string{"VitessCell", "VitessKeyspace", "VitessShard", "VitessTablet"} {
		if checked[k] == 0 {
			t.Errorf("no golden response has a %s child", k)
		}
	}
}

// lastApplied returns the last-applied annotations of every observed child
// of a request, each re-encoded canonically.
func lastApplied(t *testing.T, path string) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil // a response built by its test, not from a request file
	} else if err != nil {
		t.Fatal(err)
	}
	var req struct {
		Children map[string]map[string]struct {
			Metadata struct {
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
		} `json:"children"`
	}
	if err := json.Unmarshal(data, &req); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := map[string]bool{}
	for _, group := range req.Children {
		for _, c := range group {
			var v any
			if err := json.Unmarshal([]byte(c.Metadata.Annotations["metacontroller.k8s.io/last-applied-configuration"]), &v); err == nil {
				b, _ := json.Marshal(v)
				out[string(b)] = true
			}
		}
	}
	return out
}

// TestNamesMustBeDNSLabels: every name a layer derives comes from its
// parent's, so admission refuses a name that could not give valid ones.
func TestNamesMustBeDNSLabels(t *testing.T) {
	k := load(t, "vitess.io_vitessclusters.yaml")
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"vitess", true},
		{"a-1", true},
		{strings.Repeat("a", 63), true},
		{strings.Repeat("a", 64), false},
		{"my.cluster", false},
		{"Vitess", false},
		{"-vitess", false},
	} {
		obj := readExample(t, "../../deploy/examples/original/my-vitess.yaml")
		obj["metadata"].(map[string]any)["name"] = tt.name
		errs := validate(t, k, obj)
		if tt.ok && len(errs) > 0 {
			t.Errorf("%q refused: %v", tt.name, errs.ToAggregate())
		}
		if !tt.ok && (len(errs) == 0 || !strings.Contains(errs.ToAggregate().Error(), "metadata.name must be a DNS-1123 label")) {
			t.Errorf("%q: %v, want refused naming metadata.name", tt.name, errs.ToAggregate())
		}
	}
}
