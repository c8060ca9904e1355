package layer

import (
	"testing"

	"github.com/vtmeta/vtmeta/internal/golden"
)

// TestHTTP drives the running service the way Metacontroller does.
func TestHTTP(t *testing.T) {
	golden.RunHTTP(t, golden.Handler(t, Service), []golden.HTTPCase{
		{Name: "original example v1", Path: "/sync", File: golden.Fixture("original-example-sync-keyspace.request.json"), Code: 200,
			Want: []string{`"name":"vitess-zone1-main-x-80"`, `"name":"vitess-zone1-main-80-x"`, `"kind":"VitessShard"`}},
		{Name: "original example v2", Path: "/sync", File: golden.Fixture("original-example-v2-sync-keyspace.request.json"), Code: 200,
			Want: []string{`"kind":"VitessShard"`, `"shards":2`}},
		{Name: "finalize", Path: "/finalize", File: golden.Fixture("original-example-v2-sync-keyspace.request.json"), Code: 200,
			Want: []string{`"finalized":true`}},
		{Name: "unsharded", Path: "/sync", File: "testdata/create-unsharded.request.json", Code: 200,
			Want: []string{`"name":"vitess-zone1-lookup-0"`, `"name":"0"`}},
		{Name: "gap holds", Path: "/sync", File: "testdata/invalid-gap.request.json", Code: 200,
			Want: []string{`"reason":"InvalidSpec"`, `keyspace ids 40 to 80 belong to no shard`}},
		{Name: "a shard request at the keyspace hook", Path: "/sync", File: golden.Fixture("original-example-sync-shard.request.json"), Code: 400,
			Want: []string{"serves VitessKeyspace parents"}},
	})
}
