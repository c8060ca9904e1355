// Package vtflags renders Vitess command lines the way current Vitess wants
// them: dashed flag names only (underscored names stop working in Vitess
// v25), in a stable order.
package vtflags

import (
	"maps"
	"slices"
	"strings"

	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// Flag renders one flag; a name written with underscores gets dashes.
func Flag(name, value string) string {
	return "--" + strings.ReplaceAll(strings.TrimLeft(name, "-"), "_", "-") + "=" + value
}

// Map renders a map of flags in name order.
func Map(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, Flag(k, m[k]))
	}
	return out
}

// Topology points a Vitess server at the global topology.
func Topology(t *v1.TopologySpec) []string {
	return []string{
		Flag("topo-implementation", t.GetImplementation()),
		Flag("topo-global-server-address", t.GetGlobalServerAddress()),
		Flag("topo-global-root", t.GetGlobalRoot()),
	}
}
