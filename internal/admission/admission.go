// Package admission judges vtmeta's objects offline as a kube-apiserver
// with vtmeta installed would: the CRDs' OpenAPI schemas, list types and
// CEL rules (with the apiextensions-apiserver's own validators, after
// pruning and defaulting as the apiserver stores objects), and the
// ValidatingAdmissionPolicies of deploy/policy (with the apiserver's own
// admission CEL libraries).
package admission

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"
)

// Kind is one CRD, ready to judge objects of its kind.
type Kind struct {
	// CRD is the definition as written in its file.
	CRD *apiextv1.CustomResourceDefinition
	// Internal is the definition in the apiserver's internal form.
	Internal *apiextensions.CustomResourceDefinition
	// Structural is its schema in structural form.
	Structural *structuralschema.Structural
	// File is where it was read from.
	File string

	schema    *apiextensions.JSONSchemaProps
	validator apiservervalidation.SchemaValidator
	cel       *cel.Validator
}

// CRDs are the CRDs of a directory, by kind.
type CRDs map[string]*Kind

// LoadCRDs reads every CustomResourceDefinition in the YAML files of dir
// in fsys; other documents (a kustomization) are skipped.
func LoadCRDs(fsys fs.FS, dir string) (CRDs, error) {
	files, err := fs.Glob(fsys, path.Join(dir, "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	out := CRDs{}
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f, err)
		}
		for _, doc := range Documents(data) {
			var head metav1.TypeMeta
			if err := yaml.Unmarshal(doc.Data, &head); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			if head.Kind != "CustomResourceDefinition" {
				continue
			}
			k, err := newKind(doc.Data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			k.File = f
			out[k.CRD.Spec.Names.Kind] = k
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no CustomResourceDefinition in %s", dir)
	}
	return out, nil
}

func newKind(data []byte) (*Kind, error) {
	var crd apiextv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(data, &crd); err != nil {
		return nil, fmt.Errorf("decode the CRD: %w", err)
	}
	apiextv1.SetObjectDefaults_CustomResourceDefinition(&crd)
	var in apiextensions.CustomResourceDefinition
	if err := apiextv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(&crd, &in, nil); err != nil {
		return nil, fmt.Errorf("convert the CRD %s: %w", crd.Name, err)
	}
	k := &Kind{CRD: &crd, Internal: &in, schema: schemaOf(&in)}
	s, err := structuralschema.NewStructural(k.schema)
	if err != nil {
		return nil, fmt.Errorf("CRD %s: schema not structural: %w", crd.Name, err)
	}
	k.Structural = s
	if k.validator, _, err = apiservervalidation.NewSchemaValidator(k.schema); err != nil {
		return nil, fmt.Errorf("CRD %s: schema validator: %w", crd.Name, err)
	}
	k.cel = cel.NewValidator(s, true, celconfig.PerCallLimit)
	return k, nil
}

// schemaOf returns the schema of the CRD's only version; conversion to the
// internal API hoists a schema shared by every version to spec.validation.
func schemaOf(crd *apiextensions.CustomResourceDefinition) *apiextensions.JSONSchemaProps {
	if crd.Spec.Validation != nil {
		return crd.Spec.Validation.OpenAPIV3Schema
	}
	return crd.Spec.Versions[0].Schema.OpenAPIV3Schema
}

// Resource is the resource the kind is served as.
func (k *Kind) Resource() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: k.CRD.Spec.Group, Version: k.CRD.Spec.Versions[0].Name, Resource: k.CRD.Spec.Names.Plural}
}

// Store returns obj as the apiserver stores it: a copy pruned of fields the
// schema does not know, then defaulted. It also returns the pruned fields'
// paths, which a strict client (kubectl's default) is refused for.
func (k *Kind) Store(obj map[string]any) (map[string]any, []string) {
	stored, err := normalize(obj)
	if err != nil {
		// Not JSON at all: nothing a client could send.
		return obj, []string{"<" + err.Error() + ">"}
	}
	unknown := pruning.PruneWithOptions(stored, k.Structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	structuraldefaulting.Default(stored, k.Structural)
	slices.Sort(unknown)
	return stored, unknown
}

// normalize copies obj as the apiserver decodes a JSON body: integers as
// int64, other numbers as float64.
func normalize(obj map[string]any) (map[string]any, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	var out map[string]any
	if err := utiljson.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return out, nil
}

// Validate judges a stored object (see Store) as the apiserver does at
// admission: object metadata, the OpenAPI schema, list types, then the CEL
// rules. old is the object an update replaces, nil on create.
func (k *Kind) Validate(ctx context.Context, obj, old map[string]any) field.ErrorList {
	errs := validateMeta(obj, k.CRD.Spec.Scope == apiextv1.NamespaceScoped)
	errs = append(errs, apiservervalidation.ValidateCustomResource(nil, obj, k.validator)...)
	errs = append(errs, listtype.ValidateListSetsAndMaps(nil, k.Structural, obj)...)
	var oldObj any
	if old != nil {
		oldObj = old
	}
	celErrs, _ := k.cel.Validate(ctx, nil, k.Structural, obj, oldObj, celconfig.RuntimeCELCostBudget)
	return append(errs, celErrs...)
}

// Admit stores and validates obj in one step, as a create (old nil) or an
// update through a strict client: unknown fields are errors too.
func (k *Kind) Admit(ctx context.Context, obj, old map[string]any) (map[string]any, field.ErrorList) {
	stored, unknown := k.Store(obj)
	var errs field.ErrorList
	for _, u := range unknown {
		errs = append(errs, field.Invalid(field.NewPath(u), nil, "unknown field"))
	}
	return stored, append(errs, k.Validate(ctx, stored, old)...)
}

// validateMeta checks the object's name and namespace as the apiserver
// does for every custom resource.
func validateMeta(obj map[string]any, namespaced bool) field.ErrorList {
	md, _ := obj["metadata"].(map[string]any)
	var meta metav1.ObjectMeta
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(md, &meta); err != nil {
		return field.ErrorList{field.Invalid(field.NewPath("metadata"), nil, err.Error())}
	}
	if namespaced && meta.Namespace == "" {
		meta.Namespace = "default" // a client fills in its namespace
	}
	return apimachineryvalidation.ValidateObjectMeta(&meta, namespaced, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
}

// Document is one YAML document of a file and the line it starts on.
type Document struct {
	// Data is the document's text.
	Data []byte
	// Line is the 1-based line of the file it starts on.
	Line int
}

// Documents splits a YAML stream at its "---" separators, skipping empty
// documents.
func Documents(data []byte) []Document {
	var out []Document
	lines := strings.SplitAfter(string(data), "\n")
	start, body := 1, ""
	flush := func() {
		if strings.TrimSpace(stripComments(body)) != "" {
			out = append(out, Document{Data: []byte(body), Line: start})
		}
	}
	for i, l := range lines {
		if strings.TrimRight(l, " \t\r\n") == "---" {
			flush()
			start, body = i+2, ""
			continue
		}
		body += l
	}
	flush()
	return out
}

func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.String()
}
