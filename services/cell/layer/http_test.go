package layer

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

	"github.com/vtmeta/vtmeta/internal/golden"
	"github.com/vtmeta/vtmeta/internal/hook"
	"github.com/vtmeta/vtmeta/internal/kjson"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

func service(tb testing.TB) http.Handler {
	tb.Helper()
	o, err := hook.ParseOptions("cell", nil, func(string) string { return "" }, nil)
	if err != nil {
		tb.Fatal(err)
	}
	svc, err := hook.New(context.Background(), Service, o, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return svc.HTTP
}

func TestHTTP(t *testing.T) {
	h := service(t)
	for _, tt := range []struct {
		name, path, file string
		code             int
		want             string
	}{
		{"real request, v1 (original API: held)", "/sync", golden.Fixture("original-example-sync-cell.request.json"), 200, `"reason":"InvalidSpec"`},
		{"real request, v2", "/sync", golden.Fixture("original-example-v2-sync-cell.request.json"), 200, `"children":[`},
		{"global cell", "/sync", "testdata/original-global.request.json", 200, `"kind":"StatefulSet"`},
		{"finalize", "/finalize", "testdata/original-zone1.request.json", 200, `"finalized":true`},
		{"a cluster request at the cell hook", "/sync", golden.Fixture("original-example-sync-cluster.request.json"), 400, "serves VitessCell parents"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, tt.path, bytes.NewReader(body)))
			if w.Code != tt.code || !strings.Contains(w.Body.String(), tt.want) {
				t.Errorf("%d %.300s, want %d with %s", w.Code, w.Body, tt.code, tt.want)
			}
		})
	}
}

// benchFixture is a steady-state request for a cell serving n keyspaces of
// 4 shards, every child present and ready.
func benchFixture(tb testing.TB, n int) []byte {
	tb.Helper()
	data, err := os.ReadFile("testdata/original-zone1.request.json")
	if err != nil {
		tb.Fatal(err)
	}
	var req v1.CellSyncRequest
	if err := kjson.Unmarshal(data, &req); err != nil {
		tb.Fatal(err)
	}
	base := req.Parent.Spec.Keyspaces[0]
	req.Parent.Spec.Keyspaces = nil
	for i := range n {
		k := &v1.KeyspaceSpec{Name: fmt.Sprintf("ks%02d", i), Cells: base.Cells, Tablets: base.Tablets, Shards: []*v1.ShardSpec{
			{KeyRange: &v1.KeyRange{End: "40"}}, {KeyRange: &v1.KeyRange{Start: "40", End: "80"}},
			{KeyRange: &v1.KeyRange{Start: "80", End: "c0"}}, {KeyRange: &v1.KeyRange{Start: "c0"}}}}
		req.Parent.Spec.Keyspaces = append(req.Parent.Spec.Keyspaces, k)
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
	return body
}

// BenchmarkHTTP measures the full HTTP path for a cell with 20 keyspaces
// against json.Valid.
func BenchmarkHTTP(b *testing.B) {
	golden.BenchHTTP(b, service(b), "/sync", benchFixture(b, 20))
}

func TestBenchFixtureIsSteady(t *testing.T) {
	body := benchFixture(t, 20)
	var req v1.CellSyncRequest
	if err := kjson.Unmarshal(body, &req); err != nil {
		t.Fatal(err)
	}
	resp, err := Sync(golden.Context(), &req)
	if err != nil {
		t.Fatal(err)
	}
	if st := resp.GetStatus(); st.GetKeyspaces() != 20 {
		t.Errorf("status %v", st)
	}
	for _, c := range resp.GetStatus().GetConditions() {
		if c.GetType() == "Updated" && c.GetStatus() != "True" {
			t.Errorf("not steady: %v", c)
		}
	}
	t.Logf("%d KB", len(body)/1024)
}
