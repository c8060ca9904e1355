package layer

import (
	"github.com/vtmeta/vtmeta/internal/spec"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// podOverhead is what a tablet's Pod and claim take beside the parts of
// the spec they repeat: two containers, an init container and their
// scripts, probes, volumes.
const podOverhead = 12 << 10

// Estimate is the size of the answer to a request, before it is built: the
// Pod repeats the pool's scheduling, labels and annotations, the claim its
// volume template, both the template's labels.
func Estimate(req *v1.TabletSyncRequest) int64 {
	s := req.GetParent().GetSpec()
	return podOverhead + 2*spec.Encoded(s.GetPool()) + 3*spec.Encoded(s.GetTemplate()) + spec.Encoded(s.GetClusterConfig()) +
		spec.StatusOverhead + spec.Records(req.GetChildren())
}
