package layer

import (
	"testing"

	"github.com/vtmeta/vtmeta/internal/golden"
)

// rules are what the cell layer's answers must respect: an observed child
// may only go when the layer's rules say it does.
var rules = golden.Rules{
	Types: Service.ChildTypes,
	MayGo: func(req map[string]any, _, _ string) bool { return golden.ReclaimDelete(req) },
}

// TestBadRequests sends the catalogue of bad and hostile requests.
func TestBadRequests(t *testing.T) {
	golden.LayerCatalogue(t, Service, "testdata/original-zone1.request.json", rules)
}

// FuzzHTTP throws arbitrary bodies at the whole HTTP handler.
func FuzzHTTP(f *testing.F) {
	golden.LayerFuzz(f, Service, "testdata/original-zone1.request.json", rules)
}
