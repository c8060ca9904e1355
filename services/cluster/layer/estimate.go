package layer

import (
	"fmt"

	"github.com/vtmeta/vtmeta/internal/spec"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// Estimate is the size of the answer to a request, before it is built:
// every VitessCell repeats the cluster config, its own cell, the keyspaces
// it serves, and a line for every other keyspace and every cell with
// tablets; every shard has a budget with the cluster's labels.
func Estimate(req *v1.ClusterSyncRequest) int64 {
	return estimate(req.GetParent().GetSpec()) + spec.StatusOverhead + spec.Records(req.GetChildren())
}

// remoteOverhead is what a keyspace a cell does not serve adds to it (its
// name and shards' hash), and a watched cell (its name).
const remoteOverhead = 128

func estimate(s *v1.VitessClusterSpec) int64 {
	shared := 2*spec.Encoded(s.GetSelector()) + 2*spec.Encoded(s.GetTemplate()) + spec.Encoded(s.GetImages()) + 2*spec.Encoded(s.GetBackup()) +
		2*spec.Encoded(&v1.TemplateMetadata{Labels: s.GetLabels(), Annotations: s.GetAnnotations()}) +
		2*spec.Encoded(&v1.TemplateMetadata{Labels: s.GetBackupFlags()}) +
		spec.Encoded(s.GetCredentials()) + spec.Encoded(s.GetInitSql()) + spec.ChildOverhead
	budget := spec.ChildOverhead/2 + 2*spec.Encoded(s.GetSelector()) + 2*spec.Encoded(s.GetTemplate().GetMetadata()) +
		spec.Encoded(&v1.TemplateMetadata{Labels: s.GetLabels(), Annotations: s.GetAnnotations()})
	keyspaces := make([]int64, len(s.GetKeyspaces()))
	var est int64
	for i, k := range s.GetKeyspaces() {
		est += int64(max(len(k.GetShards()), 1)) * budget
		keyspaces[i] = spec.Encoded(servedKeyspace(k))
		est += 2 * spec.Encoded(k.GetVschema()) // once, in the global cell's keyspace setup, as escaped JSON
	}
	for _, c := range s.GetCells() {
		est += shared + spec.Encoded(c) + int64(len(s.GetCells()))*remoteOverhead
		for i, k := range s.GetKeyspaces() {
			if spec.ServedIn(s, k, c) {
				est += keyspaces[i]
			} else {
				est += remoteOverhead
			}
		}
	}
	return est
}

// answerFits refuses a cluster whose VitessCells would pass the answer
// limit.
func answerFits(s *v1.VitessClusterSpec, limit int64) error {
	return spec.AnswerSize("spec.keyspaces", estimate(s), limit, fmt.Sprintf("%d VitessCells", len(s.GetCells())),
		"each repeats the keyspaces it serves and the cluster's labels and annotations; shrink the keyspaces' tablets (affinity, tolerations, labels, annotations), serve each keyspace in fewer cells (spec.keyspaces[].cells), or split the cluster")
}
