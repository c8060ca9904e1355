package admission

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apiserver/pkg/admission"
	"sigs.k8s.io/yaml"

	"github.com/vtmeta/vtmeta/deploy"
)

func cluster(t *testing.T, doc string) map[string]any {
	t.Helper()
	var obj map[string]any
	if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
		t.Fatal(err)
	}
	return obj
}

const minimal = `apiVersion: vitess.io/v1alpha1
kind: VitessCluster
metadata: {name: mini, namespace: default, labels: {tier: db}}
spec:
  selector: {matchLabels: {app: mini}}
  cells: [{name: zone1}]
`

func TestAdmitCreate(t *testing.T) {
	crds, err := LoadCRDs(deploy.FS, "crds")
	if err != nil {
		t.Fatal(err)
	}
	k := crds["VitessCluster"]
	if k == nil || k.Resource().Resource != "vitessclusters" {
		t.Fatalf("no VitessCluster CRD in deploy/crds: %v", crds)
	}
	tests := []struct {
		name  string
		edit  func(obj map[string]any)
		field string // "" for accepted
		msg   string
	}{
		{"accepted, defaulted", func(map[string]any) {}, "", ""},
		{"unknown field", func(o map[string]any) { o["spec"].(map[string]any)["replicas"] = 3 }, "spec.replicas", "unknown field"},
		{"name not a DNS subdomain", func(o map[string]any) { o["metadata"].(map[string]any)["name"] = "Mini_1" }, "metadata.name", "RFC 1123"},
		{"no name", func(o map[string]any) { delete(o["metadata"].(map[string]any), "name") }, "metadata.name", "Required"},
		{"schema: wrong type", func(o map[string]any) { o["spec"].(map[string]any)["cells"] = "zone1" }, "spec.cells", "must be of type array"},
		{"CEL rule", func(o map[string]any) {
			o["spec"].(map[string]any)["keyspaces"] = []any{map[string]any{"name": "k", "cells": []any{"mars"}}}
		}, "spec.keyspaces", "must name cells listed in spec.cells"},
		{"a name starting with a digit", func(o map[string]any) { o["metadata"].(map[string]any)["name"] = "2024-db" }, "", "metadata.name must start with a letter"},
		{"the hash key as a cluster label", func(o map[string]any) {
			o["spec"].(map[string]any)["labels"] = map[string]any{"vitess.io/desired-hash": "0000000000000000"}
		}, "spec.labels", "reserved"},
		{"Metacontroller's record as a vtgate annotation", func(o map[string]any) {
			o["spec"].(map[string]any)["cells"] = []any{map[string]any{"name": "zone1", "vtgate": map[string]any{"annotations": map[string]any{"metacontroller.k8s.io/last-applied-configuration": "{}"}}}}
		}, "spec.cells[0].vtgate.annotations", "reserved"},
		{"the hash key as a keyspace pool label", func(o map[string]any) {
			o["spec"].(map[string]any)["keyspaces"] = []any{map[string]any{"name": "k", "tablets": map[string]any{"defaults": map[string]any{"labels": map[string]any{"vitess.io/desired-hash": "x"}}}}}
		}, "spec.keyspaces[0].tablets.defaults.labels", "reserved"},
		{"a cell label in the selector", func(o map[string]any) {
			o["spec"].(map[string]any)["selector"] = map[string]any{"matchLabels": map[string]any{"app": "mini", "vitess.io/cell": "zone1"}}
		}, "spec.selector", "none under vitess.io/"},
		{"a cluster label in the template", func(o map[string]any) {
			o["spec"].(map[string]any)["template"] = map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "mini", "vitess.io/cluster": "x"}}}
		}, "spec.template", "none under vitess.io/"},
		{"a keyspace twice in a cell's keyspaces is a cluster's duplicate", func(o map[string]any) {
			o["spec"].(map[string]any)["keyspaces"] = []any{map[string]any{"name": "k"}, map[string]any{"name": "k"}}
		}, "spec.keyspaces[1]", "Duplicate value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := cluster(t, minimal)
			tt.edit(obj)
			stored, errs := k.Admit(context.Background(), obj, nil)
			if tt.field == "" && tt.msg == "" {
				if len(errs) > 0 {
					t.Fatalf("refused: %v", errs.ToAggregate())
				}
				if p := stored["spec"].(map[string]any)["reclaimPolicy"]; p != "Retain" {
					t.Errorf("stored without the default reclaimPolicy: %v", p)
				}
				return
			}
			for _, e := range errs {
				if (e.Field == tt.field || tt.field == "") && strings.Contains(e.Error(), tt.msg) {
					return
				}
			}
			t.Errorf("no error on %s mentioning %q: %v", tt.field, tt.msg, errs.ToAggregate())
		})
	}
}

func TestDocuments(t *testing.T) {
	docs := Documents([]byte("# head\n---\na: 1\n---\n# only a comment\n---\nb: 2\nc: 3\n"))
	if len(docs) != 2 || docs[0].Line != 3 || docs[1].Line != 7 || string(docs[1].Data) != "b: 2\nc: 3\n" {
		t.Errorf("documents %+v", docs)
	}
}

func unstr(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	return &unstructured.Unstructured{Object: cluster(t, doc)}
}

func TestDeletionProtectionPolicy(t *testing.T) {
	policies, err := LoadPolicies(deploy.FS, "policy")
	if err != nil {
		t.Fatal(err)
	}
	policies = byName(t, policies, "vtmeta-deletion-protection")
	crds, err := LoadCRDs(deploy.FS, "crds")
	if err != nil {
		t.Fatal(err)
	}
	res := crds["VitessCluster"].Resource()
	protected := unstr(t, minimal+"  deletionProtection: true\n")
	open := unstr(t, minimal+"  deletionProtection: false\n")
	tests := []struct {
		name    string
		req     Request
		refused bool
	}{
		{"delete a protected cluster", Request{Operation: admission.Delete, Resource: res, OldObject: protected}, true},
		{"delete an unprotected cluster", Request{Operation: admission.Delete, Resource: res, OldObject: open}, false},
		{"delete a cluster that never set it", Request{Operation: admission.Delete, Resource: res, OldObject: unstr(t, minimal)}, false},
		{"update a protected cluster", Request{Operation: admission.Update, Resource: res, Object: protected, OldObject: protected}, false},
		{"create a protected cluster", Request{Operation: admission.Create, Resource: res, Object: protected}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := Evaluate(context.Background(), policies, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if refused := len(ds) > 0 && ds[0].Denies(); refused != tt.refused {
				t.Fatalf("refused %v, want %v: %+v", refused, tt.refused, ds)
			}
			if tt.refused && (ds[0].Reason != "Forbidden" || !strings.Contains(ds[0].Message, "VitessCluster mini has spec.deletionProtection: true")) {
				t.Errorf("decision %+v: want the policy's messageExpression and reason", ds[0])
			}
		})
	}
}

// byName keeps the policy of the name, which must have a binding.
func byName(t *testing.T, policies []*Policy, name string) []*Policy {
	t.Helper()
	for _, p := range policies {
		if p.Spec.Name == name && len(p.Actions) > 0 {
			return []*Policy{p}
		}
	}
	t.Fatalf("no policy %s with a binding in deploy/policy", name)
	return nil
}

// TestSupportedImagesPolicy evaluates deploy/policy's warning about Vitess
// images too old for the flags vtmeta renders: variables, list macros and
// a messageExpression, as the apiserver evaluates them.
func TestSupportedImagesPolicy(t *testing.T) {
	policies, err := LoadPolicies(deploy.FS, "policy")
	if err != nil {
		t.Fatal(err)
	}
	policies = byName(t, policies, "vtmeta-supported-images")
	crds, err := LoadCRDs(deploy.FS, "crds")
	if err != nil {
		t.Fatal(err)
	}
	res := crds["VitessCluster"].Resource()
	for _, tt := range []struct {
		name, images, want string
	}{
		{"current images", "  images: {vttablet: vitess/lite:v24.0.4, vtgate: 'vitess/lite:v23.0.1'}\n", ""},
		{"old images", "  images: {vttablet: vitess/lite:v2.1.1, vtgate: 'vitess/lite:v22.0.0'}\n", "vitess/lite:v22.0.0, vitess/lite:v2.1.1"},
		{"tags without a version", "  images: {vttablet: vitess/lite:latest}\n", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := Evaluate(context.Background(), policies, Request{Operation: admission.Create, Resource: res, Object: unstr(t, minimal+tt.images)})
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.want == "" && len(ds) > 0:
				t.Errorf("decisions %+v, want none", ds)
			case tt.want != "" && (len(ds) != 1 || ds[0].Denies() || !strings.Contains(ds[0].Message, tt.want)):
				t.Errorf("decisions %+v, want one warning naming %s", ds, tt.want)
			}
		})
	}
}

// TestReservedKeysPolicy evaluates deploy/policy's refusal of reserved
// keys in a shard's own tablet pools, where the CRD's rule does not reach.
func TestReservedKeysPolicy(t *testing.T) {
	policies, err := LoadPolicies(deploy.FS, "policy")
	if err != nil {
		t.Fatal(err)
	}
	policies = byName(t, policies, "vtmeta-reserved-keys")
	crds, err := LoadCRDs(deploy.FS, "crds")
	if err != nil {
		t.Fatal(err)
	}
	res := crds["VitessCluster"].Resource()
	shard := func(pool string) string {
		return "  keyspaces:\n  - name: k\n    shards:\n    - keyRange: {start: '', end: '80'}\n    - keyRange: {start: '80', end: ''}\n      tablets: {" + pool + "}\n"
	}
	for _, tt := range []struct {
		name, spec, want string
	}{
		{"no keys", shard("replica: {replicas: 3}"), ""},
		{"a key of one's own", shard("replica: {labels: {example.com/team: db}}"), ""},
		{"the hash key", shard("replica: {labels: {vitess.io/desired-hash: '0000000000000000'}}"), "vitess.io/desired-hash"},
		{"a subdomain", shard("defaults: {annotations: {x.vitess.io/a: b}}"), "x.vitess.io/a"},
		{"Metacontroller's record", shard("batch: {annotations: {metacontroller.k8s.io/last-applied-configuration: '{}'}}"), "metacontroller.k8s.io/last-applied-configuration"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := Evaluate(context.Background(), policies, Request{Operation: admission.Create, Resource: res, Object: unstr(t, minimal+tt.spec)})
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.want == "" && len(ds) > 0:
				t.Errorf("decisions %+v, want none", ds)
			case tt.want != "" && (len(ds) != 1 || !ds[0].Denies() || !strings.Contains(ds[0].Message, tt.want)):
				t.Errorf("decisions %+v, want a refusal naming %s", ds, tt.want)
			}
		})
	}
}

// TestPolicyEvaluation checks the parts of a policy the deletion-protection
// one does not use: CREATE, object selectors, variables, a plain message,
// Warn-only bindings, and a policy without a binding.
func TestPolicyEvaluation(t *testing.T) {
	fsys := fstest.MapFS{"p/policies.yaml": {Data: []byte(`apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: two-cells}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - {apiGroups: [vitess.io], apiVersions: ["*"], operations: [CREATE, UPDATE], resources: [vitessclusters]}
    objectSelector: {matchLabels: {tier: db}}
  variables:
  - {name: cells, expression: "object.spec.cells.size()"}
  validations:
  - {expression: "variables.cells >= 2", message: "a db-tier cluster needs two cells"}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: two-cells}
spec: {policyName: two-cells, validationActions: [Warn]}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: unbound}
spec:
  matchConstraints:
    resourceRules:
    - {apiGroups: ["*"], apiVersions: ["*"], operations: ["*"], resources: ["*"]}
  validations:
  - {expression: "false"}
`)}}
	policies, err := LoadPolicies(fsys, "p")
	if err != nil {
		t.Fatal(err)
	}
	crds, err := LoadCRDs(deploy.FS, "crds")
	if err != nil {
		t.Fatal(err)
	}
	res := crds["VitessCluster"].Resource()
	other := unstr(t, strings.Replace(minimal, "tier: db", "tier: web", 1))
	for _, tt := range []struct {
		name string
		obj  *unstructured.Unstructured
		want string
	}{
		{"selected and failing", unstr(t, minimal), "a db-tier cluster needs two cells"},
		{"not selected", other, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := Evaluate(context.Background(), policies, Request{Operation: admission.Create, Resource: res, Object: tt.obj})
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.want == "" && len(ds) > 0:
				t.Errorf("decisions %+v, want none", ds)
			case tt.want != "" && (len(ds) != 1 || ds[0].Message != tt.want || ds[0].Denies()):
				t.Errorf("decisions %+v, want one warning %q", ds, tt.want)
			}
		})
	}
}
