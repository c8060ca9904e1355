package golden

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/vtmeta/vtmeta/internal/names"
	"github.com/vtmeta/vtmeta/internal/observed"
	"github.com/vtmeta/vtmeta/internal/spec"
)

// Rules are what a layer's answers must respect, for CheckAnswer.
type Rules struct {
	// Types are the layer's child types (hook.Layer.ChildTypes).
	Types []string
	// MayGo says whether the layer's rules let an observed child of the
	// type and name go from an answer to the request: a child left out of
	// a 200 is deleted by Metacontroller.
	MayGo func(req map[string]any, typ, name string) bool
	// MayRewrite says whether got, sent back for an observed child of the
	// type whose record is record, is a change the layer's rules allow
	// besides holding the record or building the child anew (the tablet
	// layer grows a claim's size in its record). Nil allows none.
	MayRewrite func(typ string, record, got []byte) bool
}

// ReclaimDelete says whether a request's parent asks that what leaves its
// spec be deleted (spec.reclaimPolicy of a cluster, or
// spec.clusterConfig.reclaimPolicy below it).
func ReclaimDelete(req map[string]any) bool {
	spec, _ := dig(req, "parent", "spec").(map[string]any)
	if spec["reclaimPolicy"] == "Delete" {
		return true
	}
	return dig(spec, "clusterConfig", "reclaimPolicy") == "Delete"
}

func dig(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// CheckAnswer checks the invariants every answer of a hook must hold,
// whatever it was asked:
//   - no panic reached the answer;
//   - a 200 is one JSON object (no duplicate keys, nothing after it) with
//     one "children" array and a "status" object;
//   - every child is an object with apiVersion, kind and metadata.name, the
//     name valid for its kind (names.Valid), and no two share kind and name;
//   - a child the layer built (not one held as its observed record, byte
//     for byte) carries no reserved key it could only have taken from
//     input: vtmeta's hash key nowhere but as its own stamp,
//     no other vitess.io/ or metacontroller.k8s.io/ annotation, and no
//     vitess.io/ label vtmeta does not set;
//   - every observed child of the layer's types that carries a last-applied
//     record is in a 200, unless the layer's rules let it go, which they
//     never do while a field the parent is named by is invalid (a child
//     renamed from such a field would replace the one it drops);
//   - a child sent back with the identity of an observed one is either its
//     record byte for byte (held), carries the desired-hash annotation
//     (built by the layer) or is a change the rules allow, never a mangled
//     record.
func CheckAnswer(req []byte, code int, answer []byte, rules Rules) error {
	if code == http.StatusInternalServerError && bytes.Contains(answer, []byte("panicked")) {
		return fmt.Errorf("the layer panicked: %s", answer)
	}
	if code != http.StatusOK {
		return nil
	}
	children, err := answerChildren(answer)
	if err != nil {
		return fmt.Errorf("a 200 that Metacontroller could misread: %w: %.300s", err, answer)
	}
	var r map[string]any
	parsed := json.Unmarshal(req, &r) == nil // else kjson read what encoding/json does not
	records := map[string]string{}           // type/name: an observed child's last-applied record
	chs, _ := r["children"].(map[string]any)
	for _, typ := range rules.Types {
		objs, _ := chs[typ].(map[string]any)
		for _, o := range objs {
			name, _ := dig(o, "metadata", "name").(string)
			record, _ := dig(o, "metadata", "annotations", observed.LastAppliedAnnotation).(string)
			if name != "" && record != "" {
				records[typ+"/"+name] = record
			}
		}
	}
	sent := map[string][]byte{}
	for i, c := range children {
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name        string            `json:"name"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(c, &head); err != nil || head.APIVersion == "" || head.Kind == "" || head.Metadata.Name == "" {
			return fmt.Errorf("child %d lacks apiVersion, kind or metadata.name (%v): %.300s", i, err, c)
		}
		key := observed.TypeKey(head.Kind, head.APIVersion) + "/" + head.Metadata.Name
		if _, ok := sent[key]; ok {
			return fmt.Errorf("two children are %s %s: Metacontroller would apply one", head.Kind, head.Metadata.Name)
		}
		sent[key] = c
		if record, ok := records[key]; ok && record == string(c) {
			continue // held: the record as Metacontroller last applied it, whatever it carries
		}
		if _, built := head.Metadata.Annotations[observed.HashAnnotation]; built {
			if err := names.Valid(head.Kind, head.Metadata.Name); err != nil {
				return fmt.Errorf("child %d: %w", i, err)
			}
			if err := ownKeys(head.Metadata.Labels, head.Metadata.Annotations); err != nil {
				return fmt.Errorf("%s %s: %w", head.Kind, head.Metadata.Name, err)
			}
		}
	}
	if !parsed {
		return nil // nothing to compare
	}
	named := identityValid(r)
	for _, typ := range rules.Types {
		objs, _ := chs[typ].(map[string]any)
		for _, o := range objs {
			name, _ := dig(o, "metadata", "name").(string)
			record, _ := dig(o, "metadata", "annotations", observed.LastAppliedAnnotation).(string)
			if name == "" || record == "" {
				continue
			}
			got, ok := sent[typ+"/"+name]
			if !ok {
				if named != nil {
					return fmt.Errorf("observed %s %s is missing from a 200 while %v: Metacontroller would delete it", typ, name, named)
				}
				if rules.MayGo == nil || !rules.MayGo(r, typ, name) {
					return fmt.Errorf("observed %s %s is missing from a 200: Metacontroller would delete it", typ, name)
				}
				continue
			}
			if string(got) != record && !bytes.Contains(got, []byte(`"`+observed.HashAnnotation+`":"`)) &&
				(rules.MayRewrite == nil || !rules.MayRewrite(typ, []byte(record), got)) {
				return fmt.Errorf("%s %s was sent neither as its record nor as the layer built it: %.300s", typ, name, got)
			}
		}
	}
	return nil
}

// vtmetaLabels are the label keys vtmeta sets on what it builds.
var vtmetaLabels = []string{spec.LabelCluster, spec.LabelCell, spec.LabelKeyspace, spec.LabelShard,
	spec.LabelTabletUID, spec.LabelTabletType, spec.LabelTabletIndex, spec.LabelComponent}

// ownKeys checks that a built child's reserved keys are vtmeta's own.
func ownKeys(labels, annotations map[string]string) error {
	for k := range labels {
		if spec.Reserved(k) && !slices.Contains(vtmetaLabels, k) {
			return fmt.Errorf("label %s is reserved, and not one vtmeta sets: it came from input", k)
		}
	}
	for k := range annotations {
		if spec.Reserved(k) && k != observed.HashAnnotation {
			return fmt.Errorf("annotation %s is reserved: it came from input", k)
		}
	}
	return nil
}

// identityValid checks the fields a request's parent is named by, as the
// layers name children from them: its cluster, cell, keyspace and shard,
// and its own name field. It says which is invalid, or nil.
func identityValid(req map[string]any) error {
	kind, _ := dig(req, "parent", "kind").(string)
	sp, _ := dig(req, "parent", "spec").(map[string]any)
	str := func(k string) (string, bool) {
		v, ok := sp[k]
		s, isStr := v.(string)
		return s, ok && isStr
	}
	var errs []error
	if v, ok := str("cluster"); ok {
		errs = append(errs, spec.ClusterName("spec.cluster", v))
	}
	for _, f := range []string{"cell", "keyspace"} {
		if v, ok := str(f); ok {
			errs = append(errs, spec.Name("spec."+f, v))
		}
	}
	if v, ok := str("name"); ok && (kind == "VitessCell" || kind == "VitessKeyspace") {
		errs = append(errs, spec.Name("spec.name", v))
	}
	for f, k := range map[string]string{"name": "VitessShard", "shard": "VitessTablet"} {
		if v, ok := str(f); ok && kind == k {
			errs = append(errs, spec.ValidShardName("spec."+f, v))
		}
	}
	return errors.Join(errs...)
}

// answerChildren reads a 200 as Metacontroller must be able to: one JSON
// object with no duplicate keys and nothing after it, a status object and
// one children array; it returns the children.
func answerChildren(answer []byte) ([]json.RawMessage, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(answer))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return nil, fmt.Errorf("not a JSON object (%v)", err)
	}
	var children []json.RawMessage
	found, status := false, false
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return nil, err
		}
		key := tok.String()
		v, err := dec.ReadValue()
		if err != nil {
			return nil, fmt.Errorf("at %s: %w", key, err)
		}
		switch key {
		case "children":
			found = true
			if v.Kind() != '[' {
				return nil, fmt.Errorf("children is %v, not an array", v.Kind())
			}
			var list []json.RawMessage
			if err := json.Unmarshal(v, &list); err != nil {
				return nil, err
			}
			for _, c := range list {
				if len(c) == 0 || c[0] != '{' {
					return nil, fmt.Errorf("a child is not an object: %.100s", c)
				}
				children = append(children, c)
			}
		case "status":
			status = v.Kind() == '{'
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, err
	}
	if _, err := dec.ReadToken(); err == nil {
		return nil, fmt.Errorf("data after the object")
	}
	if !found || !status {
		return nil, fmt.Errorf("children array or status object missing")
	}
	return children, nil
}

// Seeds are the requests under dir that make good fuzz seeds: the small
// ones (a large seed makes each fuzz run slow).
func Seeds(tb testing.TB, dir string, most int) [][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.request.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		if len(b) <= most {
			out = append(out, compact(b))
		}
	}
	return out
}

func compact(b []byte) []byte {
	var out bytes.Buffer
	if json.Compact(&out, b) != nil {
		return b
	}
	return out.Bytes()
}

// Fuzz is a layer's fuzz target over its whole HTTP handler: whatever the
// body, the answer must hold CheckAnswer's invariants.
func Fuzz(f *testing.F, h http.Handler, seeds [][]byte, rules Rules) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, Post("/sync", body))
		if err := CheckAnswer(body, w.Code, w.Body.Bytes(), rules); err != nil {
			t.Fatal(err)
		}
		if w.Code == http.StatusOK && !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
			t.Fatalf("a 200 of Content-Type %q", w.Header().Get("Content-Type"))
		}
	})
}
