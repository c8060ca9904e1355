package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/admission"

	"github.com/vtmeta/vtmeta/cmd/vtmeta/operator"
	admit "github.com/vtmeta/vtmeta/internal/admission"
	"github.com/vtmeta/vtmeta/internal/kjson"
	"github.com/vtmeta/vtmeta/internal/spec"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

func (a *app) validateCmd() *cobra.Command {
	var files []string
	cmd := &cobra.Command{
		Use:   "validate -f FILE...",
		Short: "Report everything in a VitessCluster that the apiserver or the operator would refuse, with where and how to fix it",
		Long: `validate judges each VitessCluster in the files offline, as a cluster with
vtmeta installed would:

  1. the apiserver: object metadata, the CRD's OpenAPI schema (types, bounds,
     patterns, unknown fields as kubectl's strict validation refuses them)
     and its CEL rules, from deploy/crds;
  2. the ValidatingAdmissionPolicies of deploy/policy, evaluated with the
     apiserver's admission CEL libraries;
  3. the layers' own checks: the cluster layer's on the spec, then every
     layer below on what the layer above would give it (a spec the layers
     refuse is held with Ready=False, reason InvalidSpec).

Each problem names the file and line, the field, and a fix. The exit status
is 1 when anything is refused, 0 otherwise.`,
		Example: a.example(
			"vtmeta validate -f cluster.yaml",
			"vtmeta validate -f a.yaml -f b.yaml",
			"kustomize build overlays/prod | vtmeta validate -f -"),
		RunE: func(cmd *cobra.Command, args []string) error {
			files = append(files, args...)
			if len(files) == 0 {
				return usageError{errors.New("validate needs -f FILE")}
			}
			o, err := newOffline(layerFlags{})
			if err != nil {
				return err
			}
			defer o.close()
			bad := 0
			for _, f := range files {
				ms, err := a.readManifests(f)
				if err != nil {
					return err
				}
				for _, m := range ms {
					if !a.validate(cmd.Context(), cmd.OutOrStdout(), o, m) {
						bad++
					}
				}
			}
			if bad > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "%d object(s) would be refused\n", bad)
				return errInvalid
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&files, "filename", "f", nil, "a manifest (YAML or JSON, several documents allowed; - reads standard input); repeat for more")
	return cmd
}

// problem is one thing that would be refused.
type problem struct {
	// Field is the field's path in the object the user wrote.
	Field string
	// Message says what is wrong.
	Message string
	// Fix says how to fix it.
	Fix string
	// By says who refuses it.
	By string
}

// validate judges one object and prints what it finds; it says whether
// the object would be accepted.
func (a *app) validate(ctx context.Context, out io.Writer, o *offline, m manifest) bool {
	k := o.crds[m.Kind()]
	if k == nil {
		fmt.Fprintf(out, "%s: not one of vtmeta's kinds, skipped\n", m)
		return true
	}
	obj := prepare(m, a.namespace())
	stored, errs := k.Admit(ctx, obj, nil)
	var problems []problem
	for _, e := range errs {
		problems = append(problems, fromAPIServer(e, k.File))
	}
	var notes []string
	if len(errs) == 0 {
		ps, ns := o.policyProblems(ctx, k, stored)
		problems, notes = append(problems, ps...), append(notes, ns...)
	}
	if m.Kind() == "VitessCluster" {
		problems = append(problems, layerProblems(stored, problems)...)
		if len(problems) == 0 {
			ps, err := o.chainProblems(ctx, stored)
			if err != nil {
				problems = append(problems, problem{Field: "spec", Message: err.Error(), By: "the layers",
					Fix: "this is a vtmeta bug when the spec passes every other check: report it with the manifest"})
			}
			problems = append(problems, ps...)
		}
	}
	for _, p := range problems {
		fmt.Fprintf(out, "%s: %s %s: %s: %s\n    fix: %s\n    refused by: %s\n", m.where(p.Field), m.Kind(), m.Name(), p.Field, p.Message, p.Fix, p.By)
	}
	if len(problems) == 0 {
		fmt.Fprintf(out, "%s: %s %s is valid%s\n", m.where(""), m.Kind(), m.Name(), summary(stored))
	}
	for _, n := range notes {
		fmt.Fprintf(out, "%s: %s %s: %s\n", m.where(""), m.Kind(), m.Name(), n)
	}
	return len(problems) == 0
}

// summary counts a valid VitessCluster's cells and keyspaces.
func summary(obj map[string]any) string {
	if obj["kind"] != "VitessCluster" {
		return ""
	}
	s, _ := obj["spec"].(map[string]any)
	cells, _ := s["cells"].([]any)
	ks, _ := s["keyspaces"].([]any)
	return fmt.Sprintf(" (%d cells, %d keyspaces)", len(cells), len(ks))
}

// policyProblems evaluates the admission policies against creating obj,
// and tells what they would say to deleting it.
func (o *offline) policyProblems(ctx context.Context, k *admit.Kind, obj map[string]any) ([]problem, []string) {
	u := &unstructured.Unstructured{Object: obj}
	var problems []problem
	var notes []string
	ds, err := admit.Evaluate(ctx, o.policies, admit.Request{Operation: admission.Create, Resource: k.Resource(), Object: u})
	if err != nil {
		return []problem{{Field: "metadata", Message: err.Error(), By: "the admission policies", Fix: "report it as a vtmeta bug"}}, nil
	}
	for _, d := range ds {
		if d.Denies() {
			problems = append(problems, problem{Field: "spec", Message: d.Message, By: "ValidatingAdmissionPolicy " + d.Policy,
				Fix: "change the object so that the policy's rule holds (deploy/policy)"})
		} else {
			notes = append(notes, fmt.Sprintf("warning from ValidatingAdmissionPolicy %s (kubectl prints it, the apiserver accepts the object): %s", d.Policy, d.Message))
		}
	}
	ds, err = admit.Evaluate(ctx, o.policies, admit.Request{Operation: admission.Delete, Resource: k.Resource(), OldObject: u})
	if err == nil {
		for _, d := range ds {
			if d.Denies() {
				notes = append(notes, fmt.Sprintf("note: deleting it will be refused (ValidatingAdmissionPolicy %s): %s", d.Policy, d.Message))
			}
		}
	}
	return problems, notes
}

// layerProblems are the cluster layer's own checks on the stored spec,
// except those on fields the apiserver already refuses.
func layerProblems(stored map[string]any, seen []problem) []problem {
	var vc v1.VitessCluster
	b, err := jsonOf(stored)
	if err == nil {
		err = kjson.Unmarshal(b, &vc)
	}
	if err != nil {
		if len(seen) > 0 {
			return nil // the apiserver's errors say it better
		}
		return []problem{{Field: "spec", Message: err.Error(), By: "the cluster layer", Fix: "write the field with the type kubectl explain shows"}}
	}
	var out []problem
	for _, fe := range fieldErrors(spec.ClusterObject(vc.GetMetadata().GetName(), vc.GetSpec())) {
		if slices.ContainsFunc(seen, func(p problem) bool { return within(fe.Field, p.Field) || within(p.Field, fe.Field) }) {
			continue
		}
		out = append(out, problem{Field: fe.Field, Message: fe.Message, By: "the cluster layer (" + fe.Reason + ")", Fix: layerFix(fe.Reason, fe.Message)})
	}
	return out
}

// chainProblems runs every layer on a spec the cluster layer accepts and
// reports what a layer further down refuses.
func (o *offline) chainProblems(ctx context.Context, stored map[string]any) ([]problem, error) {
	w := o.world()
	if err := converge(ctx, w, stored); err != nil {
		return nil, err
	}
	// Refusals alike (every tablet of a pool) are reported once.
	type key struct{ kind, field, msg string }
	var order []key
	names := map[key][]string{}
	objs := map[key]*operator.Object{}
	for _, r := range refusals(w) {
		for _, line := range strings.Split(r.Message, "\n") {
			f, msg, _ := strings.Cut(line, ": ")
			k := key{r.Kind, f, msg}
			if names[k] == nil {
				order = append(order, k)
				objs[k] = w.Get(r.Kind, r.Name)
			}
			names[k] = append(names[k], r.Name)
		}
	}
	var out []problem
	for _, k := range order {
		who := k.kind + " " + names[k][0] + " refuses"
		if n := len(names[k]); n > 1 {
			who = fmt.Sprintf("%d %ss (%s, ...) refuse", n, k.kind, names[k][0])
		}
		out = append(out, problem{Field: origin(stored, objs[k]), Message: fmt.Sprintf("%s %s: %s", who, k.field, k.msg),
			By: "the " + layerOf(operator.Key(k.kind, "")) + " layer, on what the layers above make of this spec", Fix: lowerFix(k.msg)})
	}
	return out, nil
}

// origin is the field of the VitessCluster an object a layer made comes
// from: its keyspace, or its cell.
func origin(cluster map[string]any, o *operator.Object) string {
	s, _ := cluster["spec"].(map[string]any)
	os, _ := o.Body["spec"].(map[string]any)
	name := func(key string) string { v, _ := os[key].(string); return v }
	find := func(list, want string) int {
		items, _ := s[list].([]any)
		for i, it := range items {
			if m, _ := it.(map[string]any); m["name"] == want {
				return i
			}
		}
		return -1
	}
	switch o.Kind {
	case "VitessKeyspace":
		if i := find("keyspaces", name("name")); i >= 0 {
			return fmt.Sprintf("spec.keyspaces[%d]", i)
		}
	case "VitessShard", "VitessTablet":
		if i := find("keyspaces", name("keyspace")); i >= 0 {
			return fmt.Sprintf("spec.keyspaces[%d]", i)
		}
	case "VitessCell":
		if i := find("cells", name("name")); i >= 0 {
			return fmt.Sprintf("spec.cells[%d]", i)
		}
	}
	return "spec"
}

// within says whether path is field or inside it.
func within(path, field string) bool {
	return path == field || strings.HasPrefix(path, field+".") || strings.HasPrefix(path, field+"[")
}

// fieldErrors flattens the layers' joined errors.
func fieldErrors(err error) []*spec.FieldError {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*spec.FieldError
		for _, e := range j.Unwrap() {
			out = append(out, fieldErrors(e)...)
		}
		return out
	}
	var fe *spec.FieldError
	if errors.As(err, &fe) {
		return []*spec.FieldError{fe}
	}
	return []*spec.FieldError{{Field: "spec", Reason: "Invalid", Message: err.Error()}}
}

// fromAPIServer turns an apiserver error into a problem with a fix.
func fromAPIServer(e *field.Error, crdFile string) problem {
	p := problem{Field: e.Field, Message: apiMessage(e), By: "the apiserver, CRD schema of deploy/" + crdFile}
	if e.Type == field.ErrorTypeInvalid && e.BadValue == nil && e.Detail == "unknown field" {
		p.Message = "unknown field"
		p.By = "the apiserver, strict field validation (kubectl's default)"
		p.Fix = "remove it, or correct its spelling: kubectl explain " + explainPath(e.Field) + " lists the fields"
		return p
	}
	if strings.HasPrefix(e.Field, "metadata") {
		p.By = "the apiserver, object metadata"
	}
	for _, f := range ruleFixes {
		if strings.Contains(e.Detail, f.match) {
			p.Fix = f.fix
			if f.rule {
				p.By = "the apiserver, CEL rule of deploy/" + crdFile
			}
			return p
		}
	}
	switch e.Type {
	case field.ErrorTypeRequired:
		p.Fix = "set " + e.Field
	case field.ErrorTypeNotSupported:
		_, values, _ := strings.Cut(e.Detail, "supported values: ")
		p.Fix = "use one of " + values
	case field.ErrorTypeDuplicate:
		p.Fix = "remove the duplicate, or give it a name of its own"
	case field.ErrorTypeTooLong, field.ErrorTypeTooMany:
		p.Fix = "shorten it: " + e.Detail
	case field.ErrorTypeTypeInvalid:
		detail := strings.ReplaceAll(e.Detail, e.Field+" in body ", "")
		want, _, _ := strings.Cut(strings.TrimPrefix(detail, "must be of type "), ":")
		p.Fix = "write " + article(want) + " here (kubectl explain " + explainPath(e.Field) + " shows the type)"
	}
	if p.Fix == "" {
		if m := bound.FindStringSubmatch(e.Detail); m != nil {
			p.Fix = fmt.Sprintf("use a value %s %s", m[1], m[2])
		} else {
			p.Fix = "see kubectl explain " + explainPath(e.Field)
		}
	}
	return p
}

// apiMessage is an apiserver error without the field, which the line
// already names: `120: should be less than or equal to 99`.
func apiMessage(e *field.Error) string {
	detail := strings.ReplaceAll(e.Detail, e.Field+" in body ", "")
	switch e.Type {
	case field.ErrorTypeInvalid:
		switch v := e.BadValue.(type) {
		case string:
			if v != "" && !strings.Contains(v, "\n") {
				return fmt.Sprintf("%q: %s", v, detail)
			}
		case bool, int, int32, int64, float64, json.Number:
			return fmt.Sprintf("%v: %s", v, detail)
		}
		return detail
	case field.ErrorTypeTypeInvalid:
		want, _, _ := strings.Cut(detail, ":")
		return fmt.Sprintf("%s, not %v", want, e.BadValue)
	}
	return strings.ReplaceAll(e.ErrorBody(), e.Field+" in body ", "")
}

// article puts "a" or "an" before a type name.
func article(typ string) string {
	if typ != "" && strings.ContainsRune("aeiou", rune(typ[0])) {
		return "an " + typ
	}
	return "a " + typ
}

// bound matches the schema's minimum and maximum errors.
var bound = regexp.MustCompile(`should be (greater than or equal to|less than or equal to) (\S+)`)

// ruleFixes are fixes for the CRD's patterns and CEL rules, by what their
// error says.
var ruleFixes = []struct {
	match, fix string
	rule       bool
}{
	{match: "should match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'", fix: "use a DNS-1123 label: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit"},
	{match: "should match '^([0-9a-f]{2})*$'", fix: "write the key as lowercase hex bytes, an even number of digits such as \"80\" or \"c0\"; \"\" is the lowest or highest key"},
	{match: "RFC 1123", fix: "use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"},
	{match: "must name cells listed in spec.cells", fix: "add the cell to spec.cells, or remove it from the keyspace's cells", rule: true},
	{match: "at most one cell may have an etcd block", fix: "keep the etcd block on one cell only: the one that runs the global topology", rule: true},
	{match: "must include every label of selector.matchLabels", fix: "copy every label of spec.selector.matchLabels into spec.template.metadata.labels", rule: true},
	{match: "deprecated alias", fix: "keep one of the two, preferably the current name (replica, rdonly, vtorc)", rule: true},
	{match: "keyRange", fix: shardsFix, rule: true},
	{match: "key order", fix: shardsFix, rule: true},
}

const shardsFix = `list shards in key order: the first starts at "", each starts where the previous ends, the last ends at ""`

// layerFix is the fix for a layer's reason.
func layerFix(reason, message string) string {
	switch reason {
	case "AliasConflict":
		return "keep one of the two, preferably the current name (replica, rdonly, vtorc)"
	case "DuplicateName":
		return "give each a name of its own, or remove the duplicate"
	case "InvalidDurabilityPolicy":
		return "use none, semi_sync or cross_cell"
	case "InvalidKeyRange", "KeyRangeGap", "KeyRangeOverlap", "ShardsOutOfOrder", "MissingKeyRange":
		return shardsFix
	case "InvalidName", "MissingName":
		return "use a DNS-1123 label: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit"
	case "InvalidReclaimPolicy":
		return "use Retain (keep volumes) or Delete"
	case "MissingSelector":
		return "set spec.selector.matchLabels, for example app: vitess"
	case "NoCells":
		return "add a cell to spec.cells, for example - name: zone1"
	case "SelectorMismatch":
		return "copy every label of spec.selector.matchLabels into spec.template.metadata.labels"
	case "TooManyTopologies":
		return "keep the etcd block on one cell only: the one that runs the global topology"
	case "UnknownCell":
		return "add the cell to spec.cells, or remove it from the keyspace's cells"
	}
	return lowerFix(message)
}

// lowerFix takes the fix from a layer's message, which says how to fix
// what it reports after a colon ("...: use 0 to 99").
func lowerFix(message string) string {
	for _, sep := range []string{": use ", ": set ", "; ", ": "} {
		if i := strings.LastIndex(message, sep); i >= 0 {
			return strings.TrimPrefix(strings.TrimPrefix(message[i:], ": "), "; ")
		}
	}
	return message
}

// explainPath is the kubectl explain path of a field of a VitessCluster.
func explainPath(f string) string {
	segs := splitPath(f)
	out := []string{"vitesscluster"}
	for _, s := range segs {
		if s != "" && (s[0] < '0' || s[0] > '9') {
			out = append(out, s)
		}
	}
	return strings.Join(out, ".")
}
