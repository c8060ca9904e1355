package layer

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/vtmeta/vtmeta/internal/golden"
	"github.com/vtmeta/vtmeta/internal/hook"
)

// TestHTTP drives the running service the way Metacontroller does.
func TestHTTP(t *testing.T) {
	o, err := hook.ParseOptions("keyspace", nil, func(string) string { return "" }, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := hook.New(context.Background(), Service, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, file string
		code             int
		want             []string
	}{
		{"original example v1", "/sync", golden.Fixture("original-example-sync-keyspace.request.json"), 200,
			[]string{`"name":"vitess-zone1-main-x-80"`, `"name":"vitess-zone1-main-80-x"`, `"kind":"VitessShard"`}},
		{"original example v2", "/sync", golden.Fixture("original-example-v2-sync-keyspace.request.json"), 200,
			[]string{`"kind":"VitessShard"`, `"shards":2`}},
		{"finalize", "/finalize", golden.Fixture("original-example-v2-sync-keyspace.request.json"), 200,
			[]string{`"finalized":true`}},
		{"unsharded", "/sync", "testdata/create-unsharded.request.json", 200,
			[]string{`"name":"vitess-zone1-lookup-0"`, `"name":"0"`}},
		{"gap holds", "/sync", "testdata/invalid-gap.request.json", 200,
			[]string{`"reason":"InvalidSpec"`, `keyspace ids 40 to 80 belong to no shard`}},
		{"a shard request at the keyspace hook", "/sync", golden.Fixture("original-example-sync-shard.request.json"), 400,
			[]string{"serves VitessKeyspace parents"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			svc.HTTP.ServeHTTP(w, httptest.NewRequest(http.MethodPost, tt.path, bytes.NewReader(body)))
			if w.Code != tt.code {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			for _, s := range tt.want {
				if !strings.Contains(w.Body.String(), s) {
					t.Errorf("response lacks %s:\n%.2000s", s, w.Body)
				}
			}
		})
	}
}
