package layer

import (
	"fmt"

	"github.com/vtmeta/vtmeta/internal/spec"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// Estimate is the size of the answer to a request, before it is built:
// every VitessTablet repeats its pool (the defaults laid under it), the
// cluster config, the selector and the template; a held tablet is sent
// back as last applied.
func Estimate(req *v1.ShardSyncRequest) int64 {
	est, _ := estimate(req.GetParent())
	return est + spec.StatusOverhead + spec.Records(req.GetChildren())
}

// estimate is the estimate of the children the layer builds and the
// number of tablets it is for.
func estimate(p *v1.VitessShard) (int64, int) {
	s := p.GetSpec()
	t := spec.Normalize(s.GetTablets())
	each := spec.Encoded(s.GetClusterConfig()) + 2*spec.Encoded(s.GetSelector()) + 2*spec.Encoded(s.GetTemplate()) +
		spec.Encoded(t.GetDefaults()) + spec.ChildOverhead
	var est int64
	n := 0
	for _, pool := range []*v1.TabletPoolSpec{t.GetReplica(), t.GetRdonly()} {
		if pool == nil {
			continue
		}
		count := pool.GetReplicas()
		if pool.Replicas == nil {
			count = t.GetDefaults().GetReplicas()
		}
		n += int(count)
		est += int64(count) * (each + spec.Encoded(pool))
	}
	return est + spec.ChildOverhead, n // and the budget
}

// answerFits refuses a shard whose tablets would pass the answer limit.
func answerFits(p *v1.VitessShard, limit int64) error {
	est, n := estimate(p)
	return spec.AnswerSize("spec.tablets", est, limit, fmt.Sprintf("%d VitessTablets", n),
		"each repeats its pool; shrink the pools (affinity, tolerations, labels, annotations) or the cluster's labels and annotations")
}
