package layer

import (
	"fmt"

	"github.com/vtmeta/vtmeta/internal/spec"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// Sizes of what a cell renders beside its keyspaces, as encoded, without
// the parts of the spec they repeat: a component's Deployment, Service and
// budget; etcd's StatefulSet and Services; a Job; the tablets' Service.
const (
	componentOverhead = 4 << 10
	etcdOverhead      = 5 << 10
	jobOverhead       = 2 << 10
	serviceOverhead   = 1 << 10
)

// Estimate is the size of the answer to a request, before it is built:
// every VitessKeyspace repeats its keyspace, the cluster config, the
// selector and the template; every object the cell runs repeats the
// labels and annotations it carries.
func Estimate(req *v1.CellSyncRequest) int64 {
	return estimate(req.GetParent().GetSpec()) + spec.StatusOverhead + spec.Records(req.GetChildren())
}

func estimate(s *v1.VitessCellSpec) int64 {
	cfg := s.GetClusterConfig()
	meta := 3 * (spec.Encoded(&v1.TemplateMetadata{Labels: cfg.GetLabels(), Annotations: cfg.GetAnnotations()}) + spec.Encoded(s.GetTemplate()))
	each := spec.Encoded(cfg) + spec.Encoded(s.GetSelector()) + spec.Encoded(s.GetTemplate()) + spec.ChildOverhead
	var est int64
	for _, k := range s.GetKeyspaces() {
		est += each + spec.Encoded(k)
	}
	gate := s.GetVtgate()
	if gate == nil && len(s.GetKeyspaces()) > 0 {
		gate = &v1.ComponentSpec{} // a cell that serves keyspaces runs vtgates
	}
	for _, c := range []*v1.ComponentSpec{s.GetVtctld(), s.GetVtorc(), s.GetOrchestrator(), gate} {
		if c != nil {
			est += componentOverhead + 2*spec.Encoded(c) + meta
		}
	}
	if s.GetEtcd() != nil {
		est += etcdOverhead + 2*spec.Encoded(s.GetEtcd()) + 4*meta/3
	}
	jobs := int64(2 + len(s.GetKeyspaceSetup()))
	est += jobs*(jobOverhead+meta) + serviceOverhead + meta
	for _, k := range s.GetRemoteKeyspaces() {
		est += int64(len(k.GetName())) + 4
	}
	return est
}

// answerFits refuses a cell whose children would pass the answer limit.
func answerFits(s *v1.VitessCellSpec, limit int64) error {
	return spec.AnswerSize("spec.keyspaces", estimate(s), limit, fmt.Sprintf("the cell's objects and its %d VitessKeyspaces", len(s.GetKeyspaces())),
		"each keyspace is repeated whole, with the cluster's labels and annotations; shrink the keyspaces' tablets (affinity, tolerations, labels, annotations) or the cluster's labels and annotations, or serve fewer keyspaces in the cell (spec.keyspaces[].cells)")
}
