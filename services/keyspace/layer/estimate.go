package layer

import (
	"fmt"

	"github.com/vtmeta/vtmeta/internal/spec"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// Estimate is the size of the answer to a request, before it is built:
// every VitessShard repeats the keyspace's tablets (with its own laid
// over them), the cluster config, the selector and the template.
func Estimate(req *v1.KeyspaceSyncRequest) int64 {
	est, _ := estimate(req.GetParent())
	return est + spec.StatusOverhead + spec.Records(req.GetChildren())
}

// estimate is the estimate and the shards it is for.
func estimate(p *v1.VitessKeyspace) (int64, int) {
	s := p.GetSpec()
	each := spec.Encoded(s.GetClusterConfig()) + spec.Encoded(s.GetTablets()) + spec.Encoded(s.GetSelector()) +
		spec.Encoded(s.GetTemplate()) + spec.ChildOverhead
	n := max(len(s.GetShards()), 1)
	est := int64(n) * each
	for _, sh := range s.GetShards() {
		est += spec.Encoded(sh.GetTablets())
	}
	return est, n
}

// answerFits refuses a keyspace whose VitessShards would pass the answer
// limit.
func answerFits(p *v1.VitessKeyspace, limit int64) error {
	est, n := estimate(p)
	return spec.AnswerSize("spec.tablets", est, limit, fmt.Sprintf("%d VitessShards", n),
		"each repeats the keyspace's tablets and the cluster's labels and annotations; shrink the keyspace's tablets and its shards' own (in the VitessCluster, spec.keyspaces[].tablets: affinity, tolerations, labels, annotations), or the cluster's labels and annotations")
}
