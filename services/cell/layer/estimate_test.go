package layer

import (
	"fmt"
	"testing"

	"github.com/vtmeta/vtmeta/internal/golden"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// TestEstimateHolds: the estimate of every golden answer, and of a cell of
// many keyspaces, is at least the answer and not far above it.
func TestEstimateHolds(t *testing.T) {
	req := load(t, "every-option-zone")
	for i := range 40 {
		req.Parent.Spec.Keyspaces = append(req.Parent.Spec.Keyspaces, &v1.KeyspaceSpec{Name: fmt.Sprint("ks-", i),
			Tablets: &v1.TabletsSpec{Defaults: &v1.TabletPoolSpec{Scheduling: &v1.Scheduling{Affinity: &v1.Raw{Json: golden.Affinity(4 << 10)}}}}})
	}
	golden.EstimatesHold(t, "testdata", Sync, Estimate, req)
}
