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

	"google.golang.org/protobuf/proto"

	"github.com/vtmeta/vtmeta/internal/golden"
	"github.com/vtmeta/vtmeta/internal/hook"
	"github.com/vtmeta/vtmeta/internal/kjson"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

func service(tb testing.TB) http.Handler {
	tb.Helper()
	o, err := hook.ParseOptions("shard", nil, func(string) string { return "" }, nil)
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
	h := service(t)
	tests := []struct {
		name, path, file string
		code             int
		want             []string
	}{
		{"original example shard, v1", "/sync", golden.Fixture("original-example-sync-shard.request.json"), 200,
			[]string{`"name":"vitess-vttablet-zone1-0214747900"`, `"kind":"PodDisruptionBudget"`, `"tablets":3`}},
		{"original example shard, v2", "/sync", golden.Fixture("original-example-v2-sync-shard.request.json"), 200,
			[]string{`"kind":"VitessTablet"`}},
		{"finalize", "/finalize", golden.Fixture("original-example-v2-sync-shard.request.json"), 200, []string{`"finalized":true`}},
		{"a keyspace request at the shard hook", "/sync", golden.Fixture("original-example-sync-keyspace.request.json"), 400,
			[]string{"serves VitessShard parents"}},
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
					t.Errorf("response lacks %s", s)
				}
			}
		})
	}
}

// benchFixture is a steady-state request for a shard of n tablets (half
// replicas, half rdonly), every child present and ready.
func benchFixture(tb testing.TB, n int) []byte {
	tb.Helper()
	data, err := os.ReadFile("testdata/create-original-x-80.request.json")
	if err != nil {
		tb.Fatal(err)
	}
	var req v1.ShardSyncRequest
	if err := kjson.Unmarshal(data, &req); err != nil {
		tb.Fatal(err)
	}
	req.Parent.Spec.Tablets.Replica.Replicas = proto.Int32(int32(n - n/2))
	req.Parent.Spec.Tablets.Rdonly.Replicas = proto.Int32(int32(n / 2))
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

var benchSizes = []int{6, 100, 198}

// BenchmarkHTTP measures the full HTTP path against json.Valid; the cost
// per tablet should stay flat as the shard grows.
func BenchmarkHTTP(b *testing.B) {
	h := service(b)
	for _, n := range benchSizes {
		body := benchFixture(b, n)
		b.Run(fmt.Sprintf("%dtablets", n), func(b *testing.B) {
			golden.BenchHTTP(b, h, "/sync", body)
		})
	}
}

func TestBenchFixtureIsSteady(t *testing.T) {
	for _, n := range benchSizes {
		var req v1.ShardSyncRequest
		body := benchFixture(t, n)
		if err := kjson.Unmarshal(body, &req); err != nil {
			t.Fatal(err)
		}
		resp, err := Sync(golden.Context(), &req)
		if err != nil {
			t.Fatal(err)
		}
		if st := resp.GetStatus(); st.GetTablets() != int32(n) || st.GetReadyTablets() != int32(n) || st.GetUpdatedTablets() != int32(n) {
			t.Errorf("%d tablets: not steady: %v", n, st)
		}
		t.Logf("%d tablets: %d KB", n, len(body)/1024)
	}
}
