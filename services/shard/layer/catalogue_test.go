package layer

import (
	"testing"

	"github.com/vtmeta/vtmeta/internal/golden"
)

// rules are what the shard layer's answers must respect: an observed child
// may only go when the layer's rules say it does.
var rules = golden.Rules{
	Types: Service.ChildTypes,
	MayGo: func(req map[string]any, typ, _ string) bool {
		// The budget and the backup Jobs hold no data; a tablet goes only
		// when the reclaim policy says Delete.
		return typ == "PodDisruptionBudget.policy/v1" || typ == "CronJob.batch/v1" || typ == "Job.batch/v1" || golden.ReclaimDelete(req)
	},
}

// TestBadRequests sends the catalogue of bad and hostile requests.
func TestBadRequests(t *testing.T) {
	golden.LayerCatalogue(t, Service, "testdata/create-original-x-80.request.json", rules)
}

// FuzzHTTP throws arbitrary bodies at the whole HTTP handler.
func FuzzHTTP(f *testing.F) {
	golden.LayerFuzz(f, Service, "testdata/create-original-x-80.request.json", rules)
}
