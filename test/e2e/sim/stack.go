package sim

import (
	"context"
	"fmt"
	"net/http"

	"github.com/vtmeta/vtmeta/internal/hook"
	cell "github.com/vtmeta/vtmeta/services/cell/layer"
	cluster "github.com/vtmeta/vtmeta/services/cluster/layer"
	keyspace "github.com/vtmeta/vtmeta/services/keyspace/layer"
	shard "github.com/vtmeta/vtmeta/services/shard/layer"
	tablet "github.com/vtmeta/vtmeta/services/tablet/layer"
)

const vt = "vitess.io/v1alpha1"

// handler serves one layer as its service does.
func handler[Req hook.Request, Resp hook.Response](l hook.Layer[Req, Resp]) (http.Handler, error) {
	h, err := hook.NewHandler(context.Background(), l)
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", l.Name, err)
	}
	return h, nil
}

// Stack returns the five layers' CompositeControllers, with the child
// types and update strategies of deploy/overlays, each served by its real
// HTTP hook. wrap, when set, stands between Metacontroller and each hook
// (to take a service down, for example).
func Stack(wrap func(layer string, h http.Handler) http.Handler) ([]Controller, error) {
	if wrap == nil {
		wrap = func(_ string, h http.Handler) http.Handler { return h }
	}
	hs := map[string]http.Handler{}
	var err error
	add := func(name string, h http.Handler, e error) {
		if e != nil && err == nil {
			err = e
		}
		hs[name] = wrap(name, h)
	}
	h, e := handler(cluster.Service)
	add("cluster", h, e)
	h, e = handler(cell.Service)
	add("cell", h, e)
	h, e = handler(keyspace.Service)
	add("keyspace", h, e)
	h, e = handler(shard.Service)
	add("shard", h, e)
	h, e = handler(tablet.Service)
	add("tablet", h, e)
	if err != nil {
		return nil, err
	}
	return []Controller{
		{Parent: "VitessCluster", Hook: hs["cluster"], Children: map[string]Strategy{"VitessCell." + vt: InPlace}},
		{Parent: "VitessCell", Hook: hs["cell"], Children: map[string]Strategy{
			"StatefulSet.apps/v1": InPlace, "Deployment.apps/v1": InPlace, "Service.v1": InPlace, "ConfigMap.v1": InPlace,
			"Job.batch/v1": Recreate, "PodDisruptionBudget.policy/v1": InPlace, "VitessKeyspace." + vt: InPlace}},
		{Parent: "VitessKeyspace", Hook: hs["keyspace"], Children: map[string]Strategy{"VitessShard." + vt: InPlace}},
		{Parent: "VitessShard", Hook: hs["shard"], Children: map[string]Strategy{"VitessTablet." + vt: InPlace, "PodDisruptionBudget.policy/v1": InPlace}},
		{Parent: "VitessTablet", Hook: hs["tablet"], Children: map[string]Strategy{"Pod.v1": Recreate, "PersistentVolumeClaim.v1": OnDelete}},
	}, nil
}
