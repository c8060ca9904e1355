package golden

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/vtmeta/vtmeta/internal/hook"
	"github.com/vtmeta/vtmeta/internal/kjson"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// Load decodes a recorded or golden hook request.
func Load[Req proto.Message](tb testing.TB, path string) Req {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var zero Req
	req := zero.ProtoReflect().New().Interface().(Req)
	if err := kjson.Unmarshal(data, req); err != nil {
		tb.Fatalf("decode %s: %v", path, err)
	}
	return req
}

// Handler is a layer's HTTP handler as its service serves it.
func Handler[Req hook.Request, Resp hook.Response](tb testing.TB, l hook.Layer[Req, Resp]) http.Handler {
	tb.Helper()
	h, err := hook.NewHandler(context.Background(), l)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// HTTPCase is one request to a running layer and what its answer must hold.
type HTTPCase struct {
	Name, Path, File string
	// Body is sent instead of File's content when set.
	Body []byte
	// Types, when set, recast the request's children to these child types
	// (see Recast): a request recorded under the original example's
	// CompositeControllers, as vtmeta's would send it.
	Types []string
	Code  int
	Want  []string
}

// RunHTTP posts each case to h the way Metacontroller does and checks the
// status code and that the body contains every wanted string.
func RunHTTP(t *testing.T, h http.Handler, cases []HTTPCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			body := tt.Body
			if body == nil {
				var err error
				if body, err = os.ReadFile(tt.File); err != nil {
					t.Fatal(err)
				}
			}
			if tt.Types != nil {
				var err error
				if body, err = Recast(body, tt.Types); err != nil {
					t.Fatal(err)
				}
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, Post(tt.Path, body))
			if w.Code != tt.Code {
				t.Fatalf("%d %.1000s, want %d", w.Code, w.Body, tt.Code)
			}
			for _, s := range tt.Want {
				if !strings.Contains(w.Body.String(), s) {
					t.Errorf("answer lacks %s:\n%.2000s", s, w.Body)
				}
			}
		})
	}
}

// Recast rewrites a request's children to the child types of a layer
// (hook.Layer.ChildTypes), as Metacontroller would send them under that
// layer's CompositeController: children of other types go, and each type
// without children gets an empty map.
func Recast(body []byte, types []string) ([]byte, error) {
	var req map[string]json.RawMessage
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fmt.Errorf("recast: %w", err)
	}
	var children map[string]json.RawMessage
	if len(req["children"]) > 0 {
		if err := json.Unmarshal(req["children"], &children); err != nil {
			return nil, fmt.Errorf("recast children: %w", err)
		}
	}
	kept := map[string]json.RawMessage{}
	for _, t := range types {
		kept[t] = json.RawMessage("{}")
		if c, ok := children[t]; ok && string(c) != "null" {
			kept[t] = c
		}
	}
	b, err := json.Marshal(kept)
	if err != nil {
		return nil, err
	}
	req["children"] = b
	return json.Marshal(req)
}

// Post is a hook request as Metacontroller sends it: a POST of JSON.
func Post(path string, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

// Steady is SteadyRequest for a parent given as a message: the request a
// layer gets once every child it asked for exists and is ready. types are
// the layer's child types (hook.Layer.ChildTypes).
func Steady(tb testing.TB, parent proto.Message, children []*v1.Raw, types []string) []byte {
	tb.Helper()
	b, err := kjson.Marshal(parent)
	if err != nil {
		tb.Fatal(err)
	}
	var pm map[string]any
	if err := json.Unmarshal(b, &pm); err != nil {
		tb.Fatal(err)
	}
	body, err := SteadyRequest(pm, children, types)
	if err != nil {
		tb.Fatal(err)
	}
	return body
}
