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
)

func handler(tb testing.TB) http.Handler {
	tb.Helper()
	o, err := hook.ParseOptions("cluster", nil, func(string) string { return "" }, nil)
	if err != nil {
		tb.Fatal(err)
	}
	svc, err := hook.New(context.Background(), Service, o, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return svc.HTTP
}

// TestHTTP drives the running service the way Metacontroller does.
func TestHTTP(t *testing.T) {
	h := handler(t)
	tests := []struct {
		name, path, file string
		code             int
		want             []string
	}{
		{"original example v1", "/sync", golden.Fixture("original-example-sync-cluster.request.json"), 200,
			[]string{`"name":"vitess-global"`, `"name":"vitess-zone1"`, `"kind":"VitessCell"`, `"observedGeneration":2`}},
		{"original example v2", "/sync", golden.Fixture("original-example-v2-sync-cluster.request.json"), 200,
			[]string{`"name":"vitess-global"`, `"children":[`}},
		{"finalize", "/finalize", golden.Fixture("original-example-v2-finalize-sync-cluster.request.json"), 200,
			[]string{`"finalized":true`, `"name":"vitess-global"`}},
		{"fresh original example", "/sync", "testdata/create-original.request.json", 200,
			[]string{`"vtorc":{"replicas":1`, `"globalServerAddress":"vitess-etcd-client.default.svc:2379"`, `"keyspaceSetup":[{"name":"main","durabilityPolicy":"semi_sync"}]`}},
		{"invalid spec holds", "/sync", "testdata/invalid-overlap.request.json", 200,
			[]string{`"reason":"InvalidSpec"`, `spec.keyspaces[0].shards`}},
		{"a cell request at the cluster hook", "/sync", golden.Fixture("original-example-sync-cell.request.json"), 400,
			[]string{"serves VitessCluster parents"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, tt.path, bytes.NewReader(body)))
			if w.Code != tt.code {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			for _, s := range tt.want {
				if !strings.Contains(w.Body.String(), s) {
					t.Errorf("response lacks %s:\n%.2000s", s, w.Body)
				}
			}
			if tt.code == 200 && !json.Valid(w.Body.Bytes()) {
				t.Error("response is not JSON")
			}
		})
	}
}

// BenchmarkHTTP measures the full HTTP path against json.Valid on a
// steady-state cluster of 3 cells and 4 keyspaces of 32 shards.
func BenchmarkHTTP(b *testing.B) {
	body := BenchFixture(b, 3, 4, 32)
	b.Run("3cells-4keyspaces-32shards", func(b *testing.B) {
		golden.BenchHTTP(b, handler(b), "/sync", body)
	})
	b.Run("original-example", func(b *testing.B) {
		body, err := os.ReadFile(golden.Fixture("original-example-sync-cluster.request.json"))
		if err != nil {
			b.Fatal(err)
		}
		golden.BenchHTTP(b, handler(b), "/sync", body)
	})
}
