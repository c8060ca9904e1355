package spec

import (
	"maps"

	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// Label keys vtmeta puts on the objects it creates.
const (
	LabelCluster  = "vitess.io/cluster"
	LabelCell     = "vitess.io/cell"
	LabelKeyspace = "vitess.io/keyspace"
	LabelShard    = "vitess.io/shard"
)

// Labels returns the labels of a parent's children: the template's labels,
// or the selector's matchLabels when the template has none, plus the extra
// key/value pairs. They always satisfy a matchLabels selector.
func Labels(sel *v1.LabelSelector, tmpl *v1.Template, extra ...string) map[string]string {
	out := maps.Clone(tmpl.GetMetadata().GetLabels())
	if len(out) == 0 {
		out = maps.Clone(sel.GetMatchLabels())
	}
	if out == nil {
		out = map[string]string{}
	}
	for i := 0; i+1 < len(extra); i += 2 {
		out[extra[i]] = extra[i+1]
	}
	return out
}

// Narrow returns the selector and template of a child that is itself a
// parent one layer down: the parent's, with the extra key/value pairs
// added, so the child's children are told apart from its siblings'.
func Narrow(sel *v1.LabelSelector, tmpl *v1.Template, extra ...string) (*v1.LabelSelector, *v1.Template) {
	match := maps.Clone(sel.GetMatchLabels())
	if match == nil {
		match = map[string]string{}
	}
	for i := 0; i+1 < len(extra); i += 2 {
		match[extra[i]] = extra[i+1]
	}
	return &v1.LabelSelector{MatchLabels: match}, &v1.Template{Metadata: &v1.TemplateMetadata{
		Labels:      Labels(sel, tmpl, extra...),
		Annotations: maps.Clone(tmpl.GetMetadata().GetAnnotations()),
	}}
}

// Over returns a new map of base's entries with top's laid over them; a
// user's extra labels go under vtmeta's own this way, so selectors hold.
func Over(base, top map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(top))
	maps.Copy(out, base)
	maps.Copy(out, top)
	return out
}

// Label keys of tablets.
const (
	LabelTabletUID  = "vitess.io/tablet-uid"
	LabelTabletType = "vitess.io/tablet-type"
	// LabelTabletIndex is a tablet's index in its pool: with its type, its
	// place in the shard, which keeps its uid.
	LabelTabletIndex = "vitess.io/tablet-index"
)

// LabelComponent names the Vitess component of a Pod or Service (vtctld,
// vtgate, vtorc, etcd, vttablet); budgets and Services select Pods by it.
const LabelComponent = "vitess.io/component"
