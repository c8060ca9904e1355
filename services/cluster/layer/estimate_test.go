package layer

import (
	"fmt"
	"testing"

	"github.com/vtmeta/vtmeta/internal/golden"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// TestEstimateHolds: the estimate of every golden answer, and of a cluster
// of many cells and keyspaces, is at least the answer and not far above it.
func TestEstimateHolds(t *testing.T) {
	req := golden.Load[*v1.ClusterSyncRequest](t, "testdata/create-every-option.request.json")
	s := req.Parent.Spec
	for i := range 30 {
		s.Cells = append(s.Cells, &v1.CellSpec{Name: fmt.Sprint("extra-", i), Vtgate: &v1.ComponentSpec{}})
	}
	for i := range 20 {
		s.Keyspaces = append(s.Keyspaces, &v1.KeyspaceSpec{Name: fmt.Sprint("ks-", i), Cells: []string{"extra-1", "extra-2"},
			Tablets: &v1.TabletsSpec{Defaults: &v1.TabletPoolSpec{Scheduling: &v1.Scheduling{Affinity: &v1.Raw{Json: golden.Affinity(4 << 10)}}}}})
	}
	golden.EstimatesHold(t, "testdata", Sync, Estimate, req)
}
