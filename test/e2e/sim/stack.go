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
	"github.com/vtmeta/vtmeta/test/e2e/standin"
)

// handler serves one layer as its service does.
func handler[Req hook.Request, Resp hook.Response](l hook.Layer[Req, Resp]) (http.Handler, error) {
	h, err := hook.NewHandler(context.Background(), l)
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", l.Name, err)
	}
	return h, nil
}

// Hooks returns the five layers' sync hooks, each served in process by
// its real HTTP handler, by layer. wrap, when set, stands between
// Metacontroller and each hook.
func Hooks(wrap func(layer string, h http.Handler) http.Handler) (map[string]standin.Hook, error) {
	if wrap == nil {
		wrap = func(_ string, h http.Handler) http.Handler { return h }
	}
	out := map[string]standin.Hook{}
	var err error
	add := func(name string, h http.Handler, e error) {
		if e != nil {
			err = e
			return
		}
		out[name] = standin.Handler(wrap(name, h))
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
	return out, err
}
