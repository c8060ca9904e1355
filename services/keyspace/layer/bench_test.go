package layer

import (
	"fmt"
	"testing"

	"github.com/vtmeta/vtmeta/internal/golden"
	"github.com/vtmeta/vtmeta/internal/kjson"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// benchFixture returns a steady-state request body for a keyspace of n
// shards, every VitessShard present, ready, and shaped like an apiserver's.
func benchFixture(tb testing.TB, n int) []byte {
	tb.Helper()
	sel := map[string]any{"app": "bench", "vitess.io/cluster": "bench", "vitess.io/cell": "zone1", "vitess.io/keyspace": "main"}
	var shards []any
	for s := range n {
		start, end := "", ""
		if s > 0 {
			start = fmt.Sprintf("%04x", s*65536/n)
		}
		if s < n-1 {
			end = fmt.Sprintf("%04x", (s+1)*65536/n)
		}
		shards = append(shards, map[string]any{"keyRange": map[string]any{"start": start, "end": end}})
	}
	parent := map[string]any{
		"apiVersion": "vitess.io/v1alpha1", "kind": "VitessKeyspace",
		"metadata": map[string]any{"name": "bench-zone1-main", "namespace": "default", "uid": "0b7e4c1e-0000-4000-8000-00000000b002", "generation": 1},
		"spec": map[string]any{
			"cluster": "bench", "cell": "zone1", "name": "main", "durabilityPolicy": "semi_sync",
			"clusterConfig": map[string]any{
				"images":   map[string]any{"vttablet": "vitess/lite:v24.0.3", "mysqld": "mysql:8.4.6"},
				"topology": map[string]any{"implementation": "etcd2", "globalServerAddress": "bench-etcd-client.default.svc:2379", "globalRoot": "/vitess/global", "cellRoot": "/vitess/zone1"},
			},
			"selector": map[string]any{"matchLabels": sel},
			"template": map[string]any{"metadata": map[string]any{"labels": sel}},
			"shards":   shards,
			"tablets": map[string]any{
				"defaults": map[string]any{"volumeClaim": map[string]any{"accessModes": []any{"ReadWriteOnce"}, "resources": map[string]any{"requests": map[string]any{"storage": "100Gi"}}}},
				"replica":  map[string]any{"replicas": 2, "vttablet": map[string]any{"resources": map[string]any{"limits": map[string]any{"cpu": "2", "memory": "2Gi"}}}},
				"rdonly":   map[string]any{"replicas": 1},
			},
		},
	}
	bare, err := golden.SteadyRequest(parent, nil, Service.ChildTypes)
	if err != nil {
		tb.Fatal(err)
	}
	var req v1.KeyspaceSyncRequest
	if err := kjson.Unmarshal(bare, &req); err != nil {
		tb.Fatal(err)
	}
	resp, err := Sync(golden.Context(), &req)
	if err != nil {
		tb.Fatal(err)
	}
	body, err := golden.SteadyRequest(parent, resp.GetChildren(), Service.ChildTypes)
	if err != nil {
		tb.Fatal(err)
	}
	return body
}

var benchSizes = []int{2, 32, 256}

// BenchmarkSync measures the pure sync function over decoded requests.
func BenchmarkSync(b *testing.B) {
	for _, n := range benchSizes {
		var req v1.KeyspaceSyncRequest
		if err := kjson.Unmarshal(benchFixture(b, n), &req); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%dshards", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Sync(golden.Context(), &req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHTTP measures the full HTTP path against json.Valid.
func BenchmarkHTTP(b *testing.B) {
	h := golden.Handler(b, Service)
	for _, n := range benchSizes {
		body := benchFixture(b, n)
		b.Run(fmt.Sprintf("%dshards", n), func(b *testing.B) {
			golden.BenchHTTP(b, h, "/sync", body)
		})
	}
}

func TestBenchFixtureIsSteady(t *testing.T) {
	for _, n := range benchSizes {
		var req v1.KeyspaceSyncRequest
		body := benchFixture(t, n)
		if err := kjson.Unmarshal(body, &req); err != nil {
			t.Fatal(err)
		}
		resp, err := Sync(golden.Context(), &req)
		if err != nil {
			t.Fatal(err)
		}
		if st := resp.GetStatus(); st.GetShards() != int32(n) || st.GetReadyShards() != int32(n) || st.GetUpdatedShards() != int32(n) {
			t.Errorf("%d shards: fixture is not steady: %v", n, st)
		}
		t.Logf("%d shards: %d KB", n, len(body)/1024)
	}
}
