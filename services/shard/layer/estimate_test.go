package layer

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/vtmeta/vtmeta/internal/golden"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// TestEstimateHolds: the estimate of every golden answer, and of a shard of
// many tablets with a large affinity, is at least the answer and not far
// above it.
func TestEstimateHolds(t *testing.T) {
	req := load(t, "create-original-x-80")
	req.Parent.Spec.Tablets.Replica.Replicas = proto.Int32(60)
	req.Parent.Spec.Tablets.Defaults.Scheduling = &v1.Scheduling{Affinity: &v1.Raw{Json: golden.Affinity(16 << 10)}}
	golden.EstimatesHold(t, "testdata", Sync, Estimate, req)
}
