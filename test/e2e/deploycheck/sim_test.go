package deploycheck

import (
	"testing"

	"github.com/vtmeta/vtmeta/test/e2e/sim"
)

// kinds maps the resources the CompositeControllers name to their kinds.
var kinds = map[string]string{
	"vitessclusters": "VitessCluster", "vitesscells": "VitessCell", "vitesskeyspaces": "VitessKeyspace",
	"vitessshards": "VitessShard", "vitesstablets": "VitessTablet",
	"statefulsets": "StatefulSet", "deployments": "Deployment", "services": "Service", "configmaps": "ConfigMap",
	"jobs": "Job", "poddisruptionbudgets": "PodDisruptionBudget", "pods": "Pod", "persistentvolumeclaims": "PersistentVolumeClaim",
}

// TestSimulationMatchesTheManifests keeps the simulated control plane that
// the end-to-end scenarios and the demo run on honest: its controllers
// manage exactly the child types, with exactly the update strategies, that
// deploy/ installs.
func TestSimulationMatchesTheManifests(t *testing.T) {
	ctrls, err := sim.Stack(nil)
	if err != nil {
		t.Fatal(err)
	}
	byParent := map[string]sim.Controller{}
	for _, c := range ctrls {
		byParent[c.Parent] = c
	}
	for _, l := range layers {
		cc := typed(t, build(t, overlay(l)))["CompositeController"][0].(*compositeController)
		parent := kinds[cc.Spec.ParentResource.Resource]
		c, ok := byParent[parent]
		if !ok {
			t.Errorf("the simulation has no controller for %s", parent)
			continue
		}
		want := map[string]sim.Strategy{}
		for _, ch := range cc.Spec.ChildResources {
			want[kinds[ch.Resource]+"."+ch.APIVersion] = sim.Strategy(ch.UpdateStrategy.Method)
		}
		for typ, s := range want {
			if c.Children[typ] != s {
				t.Errorf("%s: the manifests update %s with %s, the simulation with %q", l, typ, s, c.Children[typ])
			}
		}
		for typ := range c.Children {
			if _, ok := want[typ]; !ok {
				t.Errorf("%s: the simulation manages %s, the manifests do not", l, typ)
			}
		}
	}
}
