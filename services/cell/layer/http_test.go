package layer

import (
	"fmt"
	"testing"

	"github.com/vtmeta/vtmeta/internal/golden"
	"github.com/vtmeta/vtmeta/internal/kjson"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

func TestHTTP(t *testing.T) {
	golden.RunHTTP(t, golden.Handler(t, Service), []golden.HTTPCase{
		{Name: "real request, v1 (original API: held)", Path: "/sync", File: golden.Fixture("original-example-sync-cell.request.json"), Types: Service.ChildTypes, Code: 200, Want: []string{`"reason":"InvalidSpec"`}},
		{Name: "real request, v2", Path: "/sync", File: golden.Fixture("original-example-v2-sync-cell.request.json"), Types: Service.ChildTypes, Code: 200, Want: []string{`"children":[`}},
		{Name: "global cell", Path: "/sync", File: "testdata/original-global.request.json", Types: Service.ChildTypes, Code: 200, Want: []string{`"kind":"StatefulSet"`}},
		{Name: "finalize", Path: "/finalize", File: "testdata/original-zone1.request.json", Types: Service.ChildTypes, Code: 200, Want: []string{`"finalized":true`}},
		{Name: "a cluster request at the cell hook", Path: "/sync", File: golden.Fixture("original-example-sync-cluster.request.json"), Code: 400,
			Want: []string{"serves VitessCell parents"}},
	})
}

// benchFixture is a steady-state request for a cell serving n keyspaces of
// 4 shards, every child present and ready.
func benchFixture(tb testing.TB, n int) []byte {
	tb.Helper()
	req := golden.Load[*v1.CellSyncRequest](tb, "testdata/original-zone1.request.json")
	base := req.Parent.Spec.Keyspaces[0]
	req.Parent.Spec.Keyspaces = nil
	for i := range n {
		k := &v1.KeyspaceSpec{Name: fmt.Sprintf("ks%02d", i), Cells: base.Cells, Tablets: base.Tablets, Shards: []*v1.ShardSpec{
			{KeyRange: &v1.KeyRange{End: "40"}}, {KeyRange: &v1.KeyRange{Start: "40", End: "80"}},
			{KeyRange: &v1.KeyRange{Start: "80", End: "c0"}}, {KeyRange: &v1.KeyRange{Start: "c0"}}}}
		req.Parent.Spec.Keyspaces = append(req.Parent.Spec.Keyspaces, k)
	}
	resp, err := Sync(golden.Context(), req)
	if err != nil {
		tb.Fatal(err)
	}
	return golden.Steady(tb, req.GetParent(), resp.GetChildren(), Service.ChildTypes)
}

// BenchmarkHTTP measures the full HTTP path for a cell with 20 keyspaces
// against json.Valid.
func BenchmarkHTTP(b *testing.B) {
	golden.BenchHTTP(b, golden.Handler(b, Service), "/sync", benchFixture(b, 20))
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
