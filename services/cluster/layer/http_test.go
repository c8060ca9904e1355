package layer

import (
	"os"
	"testing"

	"github.com/vtmeta/vtmeta/internal/golden"
)

// TestHTTP drives the running service the way Metacontroller does.
func TestHTTP(t *testing.T) {
	golden.RunHTTP(t, golden.Handler(t, Service), []golden.HTTPCase{
		{Name: "original example v1", Path: "/sync", File: golden.Fixture("original-example-sync-cluster.request.json"), Types: Service.ChildTypes, Code: 200,
			Want: []string{`"name":"vitess-global"`, `"name":"vitess-zone1"`, `"kind":"VitessCell"`, `"observedGeneration":2`}},
		{Name: "original example v2", Path: "/sync", File: golden.Fixture("original-example-v2-sync-cluster.request.json"), Types: Service.ChildTypes, Code: 200,
			Want: []string{`"name":"vitess-global"`, `"children":[`}},
		{Name: "finalize", Path: "/finalize", File: golden.Fixture("original-example-v2-finalize-sync-cluster.request.json"), Types: Service.ChildTypes, Code: 200,
			Want: []string{`"finalized":true`, `"name":"vitess-global"`}},
		{Name: "fresh original example", Path: "/sync", File: "testdata/create-original.request.json", Code: 200,
			Want: []string{`"vtorc":{"replicas":1`, `"globalServerAddress":"vitess-etcd-client.default.svc:2379"`, `"keyspaceSetup":[{"name":"main","durabilityPolicy":"none"}]`}},
		{Name: "invalid spec holds", Path: "/sync", File: "testdata/invalid-overlap.request.json", Code: 200,
			Want: []string{`"reason":"InvalidSpec"`, `spec.keyspaces[0].shards`}},
		{Name: "a cell request at the cluster hook", Path: "/sync", File: golden.Fixture("original-example-sync-cell.request.json"), Code: 400,
			Want: []string{"serves VitessCluster parents"}},
	})
}

// BenchmarkHTTP measures the full HTTP path against json.Valid on a
// steady-state cluster of 3 cells and 4 keyspaces of 32 shards.
func BenchmarkHTTP(b *testing.B) {
	body := BenchFixture(b, 3, 4, 32)
	b.Run("3cells-4keyspaces-32shards", func(b *testing.B) {
		golden.BenchHTTP(b, golden.Handler(b, Service), "/sync", body)
	})
	b.Run("original-example", func(b *testing.B) {
		body, err := os.ReadFile(golden.Fixture("original-example-sync-cluster.request.json"))
		if err != nil {
			b.Fatal(err)
		}
		golden.BenchHTTP(b, golden.Handler(b, Service), "/sync", body)
	})
}
