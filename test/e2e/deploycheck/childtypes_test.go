package deploycheck

import (
	"slices"
	"testing"

	cell "github.com/vtmeta/vtmeta/services/cell/layer"
	cluster "github.com/vtmeta/vtmeta/services/cluster/layer"
	keyspace "github.com/vtmeta/vtmeta/services/keyspace/layer"
	shard "github.com/vtmeta/vtmeta/services/shard/layer"
	tablet "github.com/vtmeta/vtmeta/services/tablet/layer"
	"github.com/vtmeta/vtmeta/test/e2e/standin"
)

// TestLayersExpectTheirControllersChildTypes: each layer refuses a request
// whose children are not keyed by exactly the child types it declares, so
// those must be what its CompositeController's childResources make
// Metacontroller send.
func TestLayersExpectTheirControllersChildTypes(t *testing.T) {
	ctrls, err := standin.Load()
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string][]string{
		"cluster":  cluster.Service.ChildTypes,
		"cell":     cell.Service.ChildTypes,
		"keyspace": keyspace.Service.ChildTypes,
		"shard":    shard.Service.ChildTypes,
		"tablet":   tablet.Service.ChildTypes,
	}
	if len(ctrls) != len(declared) {
		t.Fatalf("%d CompositeControllers, want %d", len(ctrls), len(declared))
	}
	for _, c := range ctrls {
		var sent []string
		for _, r := range c.Children {
			if r.Kind() == "" {
				t.Errorf("%s: childResources has %s, whose kind the stand-in does not know", c.Layer, r.Resource)
			}
			sent = append(sent, r.Type())
		}
		want := slices.Clone(declared[c.Layer])
		slices.Sort(sent)
		slices.Sort(want)
		if !slices.Equal(sent, want) {
			t.Errorf("%s: the CompositeController sends children of %v, the layer expects %v", c.Layer, sent, want)
		}
	}
}
