package apidoc

import (
	"reflect"
	"testing"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

func TestRules(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    *v1.FieldRules
		want []string
	}{
		{"none", &v1.FieldRules{}, nil},
		{"required and default", &v1.FieldRules{Required: true, Default: `"Retain"`}, []string{"required", "default `\"Retain\"`"}},
		{"enum", &v1.FieldRules{Enum: []string{"ClusterIP", "NodePort"}}, []string{"one of `ClusterIP`, `NodePort`"}},
		{"range", &v1.FieldRules{Minimum: proto.Int64(0), Maximum: proto.Int64(99)}, []string{"0 to 99"}},
		{"minimum only", &v1.FieldRules{Minimum: proto.Int64(1)}, []string{"at least 1"}},
		{"maximum only", &v1.FieldRules{Maximum: proto.Int64(64)}, []string{"at most 64"}},
		{"pattern with backtick", &v1.FieldRules{Pattern: "^a`b$"}, []string{"matches ``^a`b$``"}},
		{"lengths and counts", &v1.FieldRules{MaxLength: proto.Int64(63), MaxItems: proto.Int64(8), MaxProperties: proto.Int64(64)},
			[]string{"at most 63 characters", "at most 8 items", "at most 64 keys"}},
		{"list map", &v1.FieldRules{ListMapKeys: []string{"name"}}, []string{"unique by `name`"}},
		{"set", &v1.FieldRules{ListSet: true}, []string{"unique items"}},
		{"user keys", &v1.FieldRules{UserKeys: true}, []string{"no key under `vitess.io/` or `metacontroller.k8s.io/`"}},
		{"cel message escaped", &v1.FieldRules{Cel: []*v1.CELRule{{Rule: "true", Message: "name a <cell>"}}}, []string{"name a &lt;cell&gt;"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Rules(tc.r); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Rules = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDescription(t *testing.T) {
	for _, tc := range []struct {
		name, comment, field, want string
		err                        bool
	}{
		{"joined lines", " a cell's name,\n a DNS-1123 label.\n", "", "a cell's name, a DNS-1123 label.", false},
		{"proto name becomes the JSON name", " ready_cells is the number\n of Ready cells.\n", "ready_cells", "`readyCells` is the number of Ready cells.", false},
		{"another first word stays", " The number of cells.\n", "cells", "The number of cells.", false},
		{"a name inside a sentence stays", " counts ready_cells.\n", "ready_cells", "counts ready_cells.", false},
		{"HTML escaped outside code", " served at /hooks/<layer>/sync, or `<layer>`\n", "", "served at /hooks/&lt;layer&gt;/sync, or `<layer>`", false},
		{"no comment", "\n  \n", "x", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Description(protogen.Comments(tc.comment), tc.field)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if got != tc.want {
				t.Errorf("Description = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestJSONName(t *testing.T) {
	for in, want := range map[string]string{
		"name":                             "name",
		"observed_generation":              "observedGeneration",
		"termination_grace_period_seconds": "terminationGracePeriodSeconds",
		"api_version":                      "apiVersion",
	} {
		if got := jsonName(in); got != want {
			t.Errorf("jsonName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEscapeCellCode(t *testing.T) {
	for _, tc := range []struct {
		name, got, want string
	}{
		{"escape tags", Escape("a <b> c"), "a &lt;b&gt; c"},
		{"escape keeps code spans", Escape("x `<y>` z"), "x `<y>` z"},
		{"escape keeps double-backtick spans", Escape("``a`<b>`` <c>"), "``a`<b>`` &lt;c&gt;"},
		{"escape an unclosed backtick", Escape("a ` <b>"), "a ` &lt;b&gt;"},
		{"cell pipes", Cell("a|b"), `a\|b`},
		{"cell newlines", Cell("a\nb"), "a b"},
		{"code plain", Code("x"), "`x`"},
		{"code with backtick", Code("a`b"), "``a`b``"},
		{"code starting with backtick", Code("`a"), "`` `a ``"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

func TestScalarType(t *testing.T) {
	for k, want := range map[protoreflect.Kind]string{
		protoreflect.StringKind: "string",
		protoreflect.BoolKind:   "boolean",
		protoreflect.Int32Kind:  "integer (int32)",
		protoreflect.Int64Kind:  "integer (int64)",
		protoreflect.Uint32Kind: "integer (int64)",
		protoreflect.DoubleKind: "number",
		protoreflect.BytesKind:  "string (base64)",
	} {
		if got := ScalarType(k); got != want {
			t.Errorf("ScalarType(%v) = %q, want %q", k, got, want)
		}
	}
}

func TestGenerateNeedsAKind(t *testing.T) {
	if _, err := Generate(nil); err == nil {
		t.Error("Generate with no kind: no error")
	}
}
