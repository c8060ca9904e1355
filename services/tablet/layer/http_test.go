package layer

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/vtmeta/vtmeta/internal/golden"
	"github.com/vtmeta/vtmeta/internal/kjson"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// steadyBody is a steady-state request for a tablet whose Pod and claim
// exist, shaped as a real apiserver returns them: managedFields, the
// last-applied annotation and, for the Pod, the full status a real tablet
// Pod reported (taken from the recorded Metacontroller request).
func steadyBody(tb testing.TB) []byte {
	tb.Helper()
	req := golden.Load[*v1.TabletSyncRequest](tb, "testdata/create-rdonly.request.json")
	resp, err := Sync(golden.Context(), req)
	if err != nil {
		tb.Fatal(err)
	}
	body := golden.Steady(tb, req.GetParent(), resp.GetChildren(), Service.ChildTypes)
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
	golden.RunHTTP(t, golden.Handler(t, Service), []golden.HTTPCase{
		{Name: "steady tablet", Path: "/sync", Body: steadyBody(t), Code: 200, Want: []string{`"volumeBound":true`}},
		{Name: "new tablet", Path: "/sync", File: "testdata/create-replica.request.json", Code: 200, Want: []string{`"kind":"Pod"`}},
		{Name: "finalize", Path: "/finalize", Body: steadyBody(t), Code: 200, Want: []string{`"finalized":true`}},
		{Name: "a shard request at the tablet hook", Path: "/sync", File: golden.Fixture("original-example-sync-shard.request.json"), Code: 400,
			Want: []string{"serves VitessTablet parents"}},
	})
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
	golden.BenchHTTP(b, golden.Handler(b, Service), "/sync", steadyBody(b))
}
