package layer

import (
	"testing"

	"github.com/vtmeta/vtmeta/internal/golden"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// TestEstimateHolds: the estimate of every golden answer, and of a tablet
// with a large affinity, is at least the answer and not far above it.
func TestEstimateHolds(t *testing.T) {
	req := golden.Load[*v1.TabletSyncRequest](t, "testdata/create-replica.request.json")
	req.Parent.Spec.Pool.Scheduling = &v1.Scheduling{Affinity: &v1.Raw{Json: golden.Affinity(64 << 10)}}
	golden.EstimatesHold(t, "testdata", Sync, Estimate, req)
}
