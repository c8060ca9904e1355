package layer

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/vtmeta/vtmeta/internal/golden"
	"github.com/vtmeta/vtmeta/internal/kjson"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// TestHTTP drives the running service the way Metacontroller does.
func TestHTTP(t *testing.T) {
	golden.RunHTTP(t, golden.Handler(t, Service), []golden.HTTPCase{
		{Name: "original example shard, v1", Path: "/sync", File: golden.Fixture("original-example-sync-shard.request.json"), Types: Service.ChildTypes, Code: 200,
			Want: []string{`"name":"vitess-vttablet-zone1-0214747900"`, `"tablets":3`}},
		{Name: "original example shard, v2", Path: "/sync", File: golden.Fixture("original-example-v2-sync-shard.request.json"), Types: Service.ChildTypes, Code: 200,
			Want: []string{`"kind":"VitessTablet"`}},
		{Name: "finalize", Path: "/finalize", File: golden.Fixture("original-example-v2-sync-shard.request.json"), Types: Service.ChildTypes, Code: 200, Want: []string{`"finalized":true`}},
		{Name: "a keyspace request at the shard hook", Path: "/sync", File: golden.Fixture("original-example-sync-keyspace.request.json"), Code: 400,
			Want: []string{"serves VitessShard parents"}},
	})
}

// benchFixture is a steady-state request for a shard of n tablets (half
// replicas, half rdonly), every child present and ready.
func benchFixture(tb testing.TB, n int) []byte {
	tb.Helper()
	req := golden.Load[*v1.ShardSyncRequest](tb, "testdata/create-original-x-80.request.json")
	req.Parent.Spec.Tablets.Replica.Replicas = proto.Int32(int32(n - n/2))
	req.Parent.Spec.Tablets.Rdonly.Replicas = proto.Int32(int32(n / 2))
	resp, err := Sync(golden.Context(), req)
	if err != nil {
		tb.Fatal(err)
	}
	return golden.Steady(tb, req.GetParent(), resp.GetChildren(), Service.ChildTypes)
}

var benchSizes = []int{6, 100, 198}

// BenchmarkHTTP measures the full HTTP path against json.Valid; the cost
// per tablet should stay flat as the shard grows.
func BenchmarkHTTP(b *testing.B) {
	h := golden.Handler(b, Service)
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
