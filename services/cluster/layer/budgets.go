package layer

import (
	"maps"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/vtmeta/vtmeta/internal/kube"
	"github.com/vtmeta/vtmeta/internal/names"
	"github.com/vtmeta/vtmeta/internal/rollout"
	"github.com/vtmeta/vtmeta/internal/spec"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// budgetType is the type of the cluster's PodDisruptionBudgets.
var budgetType = rollout.Type{Kind: "PodDisruptionBudget", APIVersion: "policy/v1"}

// Budgets builds one PodDisruptionBudget per shard of the cluster, over the
// shard's tablets in every cell it is served in: an eviction (a drain, a
// node upgrade) takes at most one of a shard's tablets at a time, whichever
// cell it is in, so a primary being moved always has a replica to move to
// and a semi-sync primary always has its acknowledgers. Only the cluster
// sees every cell, so the budget is its child, not a shard's (a Pod under
// two budgets cannot be evicted at all). Budgets come first in rollout
// order: a changed count applies before the tablets change.
func Budgets(p *v1.VitessCluster) ([]rollout.Child, error) {
	s := p.GetSpec()
	var out []rollout.Child
	for _, k := range s.GetKeyspaces() {
		cells := spec.ServedCells(s, k)
		ranges := k.GetShards()
		if len(ranges) == 0 {
			ranges = []*v1.ShardSpec{{}} // unsharded: one shard "0"
		}
		for _, r := range ranges {
			tablets := spec.MergeTablets(k.GetTablets(), r.GetTablets())
			replica, rdonly := spec.Pools(tablets)
			n := cells * (replica.GetReplicas() + rdonly.GetReplicas())
			if n == 0 {
				continue
			}
			c, err := Budget(p, k.GetName(), spec.ShardName(r.GetKeyRange()), n)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// Budget builds the PodDisruptionBudget of one shard, of which the spec asks
// for n tablets across its cells: it lets one be evicted at a time. It says
// so as minAvailable n-1, a number of Pods: the disruption controller
// resolves maxUnavailable, or a percentage, through the Pods' controller's
// scale subresource, which a VitessTablet does not have, and would then
// allow no eviction at all.
func Budget(p *v1.VitessCluster, keyspace, shard string, n int32) (rollout.Child, error) {
	s := p.GetSpec()
	cluster := p.GetMetadata().GetName()
	identity := []string{spec.LabelCluster, cluster, spec.LabelKeyspace, keyspace, spec.LabelShard, names.Shard(shard)}
	sel, _ := spec.Narrow(s.GetSelector(), s.GetTemplate(), append(identity, spec.LabelComponent, "vttablet")...)
	available := intstr.FromInt32(n - 1)
	pdb := &policyv1.PodDisruptionBudget{
		TypeMeta: metav1.TypeMeta{APIVersion: budgetType.APIVersion, Kind: budgetType.Kind},
		ObjectMeta: metav1.ObjectMeta{
			Name:        names.ShardBudget(cluster, keyspace, shard),
			Namespace:   p.GetMetadata().GetNamespace(),
			Labels:      spec.Over(s.GetLabels(), spec.Labels(s.GetSelector(), s.GetTemplate(), identity...)),
			Annotations: maps.Clone(s.GetAnnotations()),
		},
		Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: &available,
			Selector:     &metav1.LabelSelector{MatchLabels: sel.GetMatchLabels()},
		},
	}
	return kube.Child(budgetType.Kind, budgetType.APIVersion, pdb)
}
