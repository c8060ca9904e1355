package golden

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/vtmeta/vtmeta/internal/hook"
)

// Catalogue is a file of bad requests to one layer and what each must get:
// every case edits a base request (one the layer test names) and states the
// HTTP status and the words the answer must contain.
type Catalogue struct {
	// Base names the base request of cases that name none.
	Base string `json:"base"`
	// Cases are the bad requests.
	Cases []BadRequest `json:"cases"`
}

// BadRequest is one case of a Catalogue. Edits apply in this order: set
// and delete (JSON pointers, RFC 6901, into the decoded base), replace and
// append (on the compact encoding), nest; raw replaces the body whole.
type BadRequest struct {
	Name string `json:"name"`
	Base string `json:"base,omitempty"`
	// Set maps JSON pointers to the values to put there.
	Set map[string]json.RawMessage `json:"set,omitempty"`
	// Delete lists JSON pointers to remove.
	Delete []string `json:"delete,omitempty"`
	// Replace is [old, new]: the first old in the encoded body becomes new.
	Replace []string `json:"replace,omitempty"`
	// Append is added after the body.
	Append string `json:"append,omitempty"`
	// Nest puts Depth nested arrays at the pointer At.
	Nest *struct {
		At    string `json:"at"`
		Depth int    `json:"depth"`
	} `json:"nest,omitempty"`
	// Raw is the whole body, when set.
	Raw *string `json:"raw,omitempty"`
	// Method, ContentType (default application/json; "-" for none), Path
	// (default /sync) and ContentLength (when set, declared instead of
	// the real length) shape the HTTP request.
	Method        string `json:"method,omitempty"`
	ContentType   string `json:"contentType,omitempty"`
	Path          string `json:"path,omitempty"`
	ContentLength int64  `json:"contentLength,omitempty"`
	// Status is the HTTP status the answer must have; Want are strings the
	// answer must contain (the error message of a refusal, the JSON text
	// of a 200).
	Status int      `json:"status"`
	Want   []string `json:"want"`
}

// RunCatalogue sends every case of the catalogue file to h and checks the
// answers; every 200 must also hold the invariants of CheckAnswer.
func RunCatalogue(t *testing.T, h http.Handler, file string, bases map[string][]byte, rules Rules) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var c Catalogue
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	names := map[string]bool{}
	for _, bc := range c.Cases {
		if names[bc.Name] {
			t.Errorf("%s: two cases named %q", file, bc.Name)
		}
		names[bc.Name] = true
		t.Run(bc.Name, func(t *testing.T) {
			body, err := bc.body(bases, c.Base)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(cmp.Or(bc.Method, http.MethodPost), cmp.Or(bc.Path, "/sync"), bytes.NewReader(body))
			switch bc.ContentType {
			case "":
				r.Header.Set("Content-Type", "application/json")
			case "-":
			default:
				r.Header.Set("Content-Type", bc.ContentType)
			}
			if bc.ContentLength != 0 {
				r.ContentLength = bc.ContentLength
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			answer := w.Body.String()
			if w.Code != http.StatusOK {
				var e struct{ Error string }
				if json.Unmarshal(w.Body.Bytes(), &e) == nil && e.Error != "" {
					answer = e.Error
				}
			}
			if w.Code != bc.Status {
				t.Fatalf("%d %.500s, want %d", w.Code, answer, bc.Status)
			}
			for _, s := range bc.Want {
				if !strings.Contains(answer, s) {
					t.Errorf("the answer lacks %q: %.800s", s, answer)
				}
			}
			if err := CheckAnswer(body, w.Code, w.Body.Bytes(), rules); err != nil {
				t.Error(err)
			}
		})
	}
	if len(c.Cases) < 40 {
		t.Errorf("%s has %d cases; the catalogue keeps at least 40 per layer", file, len(c.Cases))
	}
}

// body builds the case's request body.
func (bc BadRequest) body(bases map[string][]byte, defaultBase string) ([]byte, error) {
	if bc.Raw != nil {
		return []byte(*bc.Raw), nil
	}
	name := cmp.Or(bc.Base, defaultBase)
	base, ok := bases[name]
	if !ok {
		return nil, fmt.Errorf("no base request %q", name)
	}
	body := base
	if len(bc.Set) > 0 || len(bc.Delete) > 0 || bc.Nest != nil {
		var doc any
		if err := json.Unmarshal(base, &doc); err != nil {
			return nil, fmt.Errorf("base %s: %w", name, err)
		}
		for ptr, raw := range bc.Set {
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, fmt.Errorf("set %s: %w", ptr, err)
			}
			if err := pointer(&doc, ptr, v, false); err != nil {
				return nil, err
			}
		}
		for _, ptr := range bc.Delete {
			if err := pointer(&doc, ptr, nil, true); err != nil {
				return nil, err
			}
		}
		var err error
		if body, err = json.Marshal(doc); err != nil {
			return nil, err
		}
		if bc.Nest != nil {
			const mark = `"__nest__"`
			if err := pointer(&doc, bc.Nest.At, "__nest__", false); err != nil {
				return nil, err
			}
			if body, err = json.Marshal(doc); err != nil {
				return nil, err
			}
			nested := strings.Repeat("[", bc.Nest.Depth) + strings.Repeat("]", bc.Nest.Depth)
			body = bytes.Replace(body, []byte(mark), []byte(nested), 1)
		}
	}
	if len(bc.Replace) == 2 {
		if !bytes.Contains(body, []byte(bc.Replace[0])) {
			return nil, fmt.Errorf("replace: %q is not in the body", bc.Replace[0])
		}
		body = bytes.Replace(body, []byte(bc.Replace[0]), []byte(bc.Replace[1]), 1)
	}
	return append(bytes.Clone(body), bc.Append...), nil
}

// pointer sets (or deletes) the value at a JSON pointer in doc; the parent
// of the pointed-at value must exist.
func pointer(doc *any, ptr string, v any, del bool) error {
	if ptr == "" {
		*doc = v
		return nil
	}
	if !strings.HasPrefix(ptr, "/") {
		return fmt.Errorf("JSON pointer %q must start with /", ptr)
	}
	parts := strings.Split(ptr[1:], "/")
	for i, p := range parts {
		parts[i] = strings.NewReplacer("~1", "/", "~0", "~").Replace(p)
	}
	cur := *doc
	for _, p := range parts[:len(parts)-1] {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(c) {
				return fmt.Errorf("JSON pointer %q: no element %s", ptr, p)
			}
			cur = c[i]
		default:
			return fmt.Errorf("JSON pointer %q: %s is not in an object or array", ptr, p)
		}
	}
	last := parts[len(parts)-1]
	switch c := cur.(type) {
	case map[string]any:
		if del {
			delete(c, last)
		} else {
			c[last] = v
		}
	case []any:
		i, err := strconv.Atoi(last)
		if err != nil || i < 0 || i >= len(c) || del {
			return fmt.Errorf("JSON pointer %q: cannot set or delete element %s of an array", ptr, last)
		}
		c[i] = v
	default:
		return fmt.Errorf("JSON pointer %q: the parent is not an object or array", ptr)
	}
	return nil
}

// Bases are the requests a layer's catalogue cases edit, built from its
// golden create request (createFile): "create", the parent with no child
// yet, and "steady", the same once every child the layer asks for
// exists, applied and ready.
func Bases[Req hook.Request, Resp hook.Response](tb testing.TB, l hook.Layer[Req, Resp], createFile string) map[string][]byte {
	tb.Helper()
	req := Load[Req](tb, createFile)
	resp, err := l.Sync(Context(), req)
	if err != nil {
		tb.Fatal(err)
	}
	m := req.ProtoReflect()
	parent := m.Get(m.Descriptor().Fields().ByName("parent")).Message().Interface()
	return map[string][]byte{
		"create": Steady(tb, parent, nil, l.ChildTypes),
		"steady": Steady(tb, parent, resp.GetChildren(), l.ChildTypes),
	}
}

// LayerCatalogue runs a layer's catalogue of bad and hostile requests
// (testdata/bad-requests.json) against its HTTP handler.
func LayerCatalogue[Req hook.Request, Resp hook.Response](t *testing.T, l hook.Layer[Req, Resp], createFile string, rules Rules) {
	t.Helper()
	RunCatalogue(t, Handler(t, l), "testdata/bad-requests.json", Bases(t, l, createFile), rules)
}

// LayerFuzz is a layer's fuzz target over its whole HTTP handler, seeded
// with its small golden requests and the catalogue's bases.
func LayerFuzz[Req hook.Request, Resp hook.Response](f *testing.F, l hook.Layer[Req, Resp], createFile string, rules Rules) {
	seeds := Seeds(f, "testdata", 16<<10)
	for _, b := range Bases(f, l, createFile) {
		seeds = append(seeds, b)
	}
	Fuzz(f, Handler(f, l), seeds, rules)
}
