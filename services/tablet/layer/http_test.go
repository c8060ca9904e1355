package layer

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/vtmeta/vtmeta/internal/golden"
	"github.com/vtmeta/vtmeta/internal/hook"
	"github.com/vtmeta/vtmeta/internal/kjson"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

func service(tb testing.TB) http.Handler {
	tb.Helper()
	o, err := hook.ParseOptions("tablet", nil, func(string) string { return "" }, nil)
	if err != nil {
		tb.Fatal(err)
	}
	svc, err := hook.New(context.Background(), Service, o, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return svc.HTTP
}

// steadyBody is a steady-state request for a tablet whose Pod and claim
// exist, shaped as a real apiserver returns them: managedFields, the
// last-applied annotation and, for the Pod, the full status a real tablet
// Pod reported (taken from the recorded Metacontroller request).
func steadyBody(tb testing.TB) []byte {
	tb.Helper()
	data, err := os.ReadFile("testdata/create-rdonly.request.json")
	if err != nil {
		tb.Fatal(err)
	}
	var req v1.TabletSyncRequest
	if err := kjson.Unmarshal(data, &req); err != nil {
		tb.Fatal(err)
	}
	resp, err := Sync(golden.Context(), &req)
	if err != nil {
		tb.Fatal(err)
	}
	parent, err := kjson.Marshal(req.GetParent())
	if err != nil {
		tb.Fatal(err)
	}
	var pm map[string]any
	if err := json.Unmarshal(parent, &pm); err != nil {
		tb.Fatal(err)
	}
	body, err := golden.SteadyRequest(pm, resp.GetChildren())
	if err != nil {
		tb.Fatal(err)
	}
	// Give the children the status a real Pod and claim report.
	var shard, out map[string]any
	rec, err := os.ReadFile(golden.Fixture("original-example-sync-shard.request.json"))
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(rec, &shard); err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(body, &out); err != nil {
		tb.Fatal(err)
	}
	for typ, objs := range out["children"].(map[string]any) {
		for _, real := range shard["children"].(map[string]any)[typ].(map[string]any) {
			for _, o := range objs.(map[string]any) {
				o.(map[string]any)["status"] = real.(map[string]any)["status"]
			}
			break
		}
	}
	body, err = json.Marshal(out)
	if err != nil {
		tb.Fatal(err)
	}
	return body
}

func TestHTTP(t *testing.T) {
	h := service(t)
	for _, tt := range []struct {
		name, path string
		body       []byte
		code       int
		want       string
	}{
		{"steady tablet", "/sync", steadyBody(t), 200, `"volumeBound":true`},
		{"new tablet", "/sync", mustRead(t, "testdata/create-replica.request.json"), 200, `"kind":"Pod"`},
		{"finalize", "/finalize", steadyBody(t), 200, `"finalized":true`},
		{"a shard request at the tablet hook", "/sync", mustRead(t, golden.Fixture("original-example-sync-shard.request.json")), 400, "serves VitessTablet parents"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, tt.path, bytes.NewReader(tt.body)))
			if w.Code != tt.code || !strings.Contains(w.Body.String(), tt.want) {
				t.Errorf("%d %.500s, want %d with %s", w.Code, w.Body, tt.code, tt.want)
			}
		})
	}
}

func TestSteadyBodyIsRealistic(t *testing.T) {
	body := steadyBody(t)
	var req v1.TabletSyncRequest
	if err := kjson.Unmarshal(body, &req); err != nil {
		t.Fatal(err)
	}
	resp, err := Sync(golden.Context(), &req)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.GetStatus().GetUpdated() || !resp.GetStatus().GetVolumeBound() {
		t.Errorf("not steady: %v", resp.GetStatus())
	}
	t.Logf("request: %d KB", len(body)/1024)
}

// BenchmarkHTTP measures the full HTTP path of a tablet with its Pod and
// claim against json.Valid.
func BenchmarkHTTP(b *testing.B) {
	golden.BenchHTTP(b, service(b), "/sync", steadyBody(b))
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
