package layer

import (
	"testing"

	"github.com/vtmeta/vtmeta/internal/golden"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// rules are what the keyspace layer's answers must respect: an observed child
// may only go when the layer's rules say it does.
var rules = golden.Rules{
	Types: Service.ChildTypes,
	MayGo: func(req map[string]any, _, _ string) bool { return golden.ReclaimDelete(req) },
}

// bases are the requests the catalogue's cases edit: a new Keyspace with
// no children yet, and the same once every child exists, applied and ready.
func bases(tb testing.TB) map[string][]byte {
	tb.Helper()
	req := golden.Load[*v1.KeyspaceSyncRequest](tb, "testdata/create-two-shards.request.json")
	resp, err := Sync(golden.Context(), req)
	if err != nil {
		tb.Fatal(err)
	}
	return map[string][]byte{
		"create": golden.Steady(tb, req.GetParent(), nil, Service.ChildTypes),
		"steady": golden.Steady(tb, req.GetParent(), resp.GetChildren(), Service.ChildTypes),
	}
}

// TestBadRequests sends the catalogue of bad and hostile requests.
func TestBadRequests(t *testing.T) {
	golden.RunCatalogue(t, golden.Handler(t, Service), "testdata/bad-requests.json", bases(t), rules)
}

// FuzzHTTP throws arbitrary bodies at the whole HTTP handler, seeded with
// the small golden requests and the catalogue's bases.
func FuzzHTTP(f *testing.F) {
	seeds := golden.Seeds(f, "testdata", 16<<10)
	for _, b := range bases(f) {
		seeds = append(seeds, b)
	}
	golden.Fuzz(f, golden.Handler(f, Service), seeds, rules)
}
