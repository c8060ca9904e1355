package layer

import (
	"testing"

	"github.com/vtmeta/vtmeta/internal/golden"
)

// rules are what the tablet layer's answers must respect: an observed child
// may only go when the layer's rules say it does.
var rules = golden.Rules{
	Types: Service.ChildTypes,
	MayGo: func(_ map[string]any, typ, _ string) bool { return typ == "Pod.v1" },
}

// TestBadRequests sends the catalogue of bad and hostile requests.
func TestBadRequests(t *testing.T) {
	golden.LayerCatalogue(t, Service, "testdata/create-rdonly.request.json", rules)
}

// FuzzHTTP throws arbitrary bodies at the whole HTTP handler.
func FuzzHTTP(f *testing.F) {
	golden.LayerFuzz(f, Service, "testdata/create-rdonly.request.json", rules)
}
