package layer

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vtmeta/vtmeta/internal/conditions"
	"github.com/vtmeta/vtmeta/internal/golden"
	"github.com/vtmeta/vtmeta/internal/hookctx"
	"github.com/vtmeta/vtmeta/internal/kjson"
	"github.com/vtmeta/vtmeta/internal/spec"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// TestEstimateHolds: the estimate of every golden answer, and of a large
// one, is at least the answer and not far above it.
func TestEstimateHolds(t *testing.T) {
	req := load(t, "create-two-shards")
	req.Parent.Spec.Shards = equalShards(64)
	req.Parent.Spec.Tablets.Defaults.Scheduling = &v1.Scheduling{Affinity: &v1.Raw{Json: golden.Affinity(16 << 10)}}
	golden.EstimatesHold(t, "testdata", Sync, Estimate, req)
}

// TestAnAnswerOverTheLimitIsRefused: the keyspace, 1024 shards with
// a 256 KiB affinity in their tablets, would answer 256 MiB: refused before
// anything is built, naming what to shrink, its shards held as they were.
func TestAnAnswerOverTheLimitIsRefused(t *testing.T) {
	req := load(t, "create-two-shards")
	l := golden.NewLoop(t, req, Sync)
	l.Apply()
	req.Parent.Spec.Shards = equalShards(1024)
	req.Parent.Spec.Tablets.Defaults.Scheduling = &v1.Scheduling{Affinity: &v1.Raw{Json: golden.Affinity(256 << 10)}}
	req.Parent.Metadata.Generation++
	req.Children = l.API.Children()
	if est := Estimate(req); est < 256<<20 {
		t.Errorf("estimated %d bytes, want over 256 MiB", est)
	}
	resp, err := Sync(hookctx.WithAnswerLimit(golden.Context(), 16<<20), req)
	if err != nil {
		t.Fatal(err)
	}
	c := conditions.Find(resp.GetStatus().GetConditions(), conditions.Ready)
	for _, want := range []string{"InvalidSpec", "spec.tablets", "1024 VitessShards would take about", "over the 16.0 MiB", "affinity"} {
		if !strings.Contains(c.GetReason()+" "+c.GetMessage(), want) {
			t.Errorf("Ready = %v, want it to say %q", c, want)
		}
	}
	if len(resp.GetChildren()) != 2 {
		t.Errorf("%d children, want the two shards held", len(resp.GetChildren()))
	}
	for _, ch := range resp.GetChildren() {
		if len(ch.GetJson()) > 64<<10 {
			t.Errorf("a held child of %d bytes: held children are as they were", len(ch.GetJson()))
		}
	}
	// Without a limit (a direct call) it is built, as the estimate says.
	req.Parent.Spec.Shards = equalShards(8)
	resp, err = Sync(golden.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := kjson.Marshal(resp)
	golden.EstimateHolds(t, "8 shards with a 256 KiB affinity", Estimate(req), spec.Records(req.GetChildren()), b)
}

// TestTheServiceRefusesAnAnswerOverItsLimit: through the HTTP path, with
// the runtime's default --max-answer-bytes, the keyspace is a 200
// that refuses the spec, naming what to shrink, not a 536 MiB answer.
func TestTheServiceRefusesAnAnswerOverItsLimit(t *testing.T) {
	req := load(t, "create-two-shards")
	req.Parent.Spec.Shards = equalShards(1024)
	req.Parent.Spec.Tablets.Defaults.Scheduling = &v1.Scheduling{Affinity: &v1.Raw{Json: golden.Affinity(256 << 10)}}
	body, err := kjson.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	golden.Handler(t, Service).ServeHTTP(w, golden.Post("/sync", body))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "AnswerTooLarge") && !strings.Contains(w.Body.String(), "1024 VitessShards would take about") {
		t.Fatalf("%d %.500s", w.Code, w.Body)
	}
	if w.Body.Len() > 64<<10 {
		t.Errorf("answered %d bytes", w.Body.Len())
	}
}
