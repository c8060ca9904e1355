package operator

import (
	"context"
	"fmt"
	"slices"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/vtmeta/vtmeta/internal/kjson"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
	cell "github.com/vtmeta/vtmeta/services/cell/layer"
	cluster "github.com/vtmeta/vtmeta/services/cluster/layer"
	keyspace "github.com/vtmeta/vtmeta/services/keyspace/layer"
	shard "github.com/vtmeta/vtmeta/services/shard/layer"
	tablet "github.com/vtmeta/vtmeta/services/tablet/layer"
)

// Names are the layers, top down.
var Names = []string{"cluster", "cell", "keyspace", "shard", "tablet"}

// Local returns the five layers, each running in this process as its
// service runs it, and what stops them.
func Local() ([]Layer, func(), error) {
	var out []Layer
	var stops []func()
	stop := func() {
		for _, s := range stops {
			s()
		}
	}
	add := func(l Layer, s func(), err error) error {
		if err != nil {
			return err
		}
		out, stops = append(out, l), append(stops, s)
		return nil
	}
	for _, err := range []func() error{
		func() error { return add(InProcess(cluster.Service, v1.ClusterService_ServiceDesc.ServiceName)) },
		func() error { return add(InProcess(cell.Service, v1.CellService_ServiceDesc.ServiceName)) },
		func() error { return add(InProcess(keyspace.Service, v1.KeyspaceService_ServiceDesc.ServiceName)) },
		func() error { return add(InProcess(shard.Service, v1.ShardService_ServiceDesc.ServiceName)) },
		func() error { return add(InProcess(tablet.Service, v1.TabletService_ServiceDesc.ServiceName)) },
	} {
		if e := err(); e != nil {
			stop()
			return nil, nil, e
		}
	}
	return out, stop, nil
}

// Dial returns the layer of the name served by a running service at addr
// (its gRPC address), and what closes the connection.
func Dial(name, addr string, timeout time.Duration) (Layer, func(), error) {
	switch name {
	case "cluster":
		return Remote(cluster.Service, v1.ClusterService_ServiceDesc.ServiceName, addr, timeout)
	case "cell":
		return Remote(cell.Service, v1.CellService_ServiceDesc.ServiceName, addr, timeout)
	case "keyspace":
		return Remote(keyspace.Service, v1.KeyspaceService_ServiceDesc.ServiceName, addr, timeout)
	case "shard":
		return Remote(shard.Service, v1.ShardService_ServiceDesc.ServiceName, addr, timeout)
	case "tablet":
		return Remote(tablet.Service, v1.TabletService_ServiceDesc.ServiceName, addr, timeout)
	}
	return nil, nil, fmt.Errorf("unknown layer %q: use one of %v", name, Names)
}

// With returns layers with each one replaced by the layer of the same name in with.
func With(layers []Layer, with ...Layer) []Layer {
	out := slices.Clone(layers)
	for _, r := range with {
		for i, l := range out {
			if l.Name() == r.Name() {
				out[i] = r
			}
		}
	}
	return out
}

// Call sends one hook request (JSON) to the named layer's service at addr
// over gRPC, its method Sync or Finalize, and returns the whole response as
// JSON.
func Call(ctx context.Context, name, addr, method string, req []byte, timeout time.Duration) ([]byte, error) {
	switch name {
	case "cluster":
		return call[*v1.ClusterSyncRequest, *v1.ClusterSyncResponse](ctx, v1.ClusterService_ServiceDesc.ServiceName, addr, method, req, timeout)
	case "cell":
		return call[*v1.CellSyncRequest, *v1.CellSyncResponse](ctx, v1.CellService_ServiceDesc.ServiceName, addr, method, req, timeout)
	case "keyspace":
		return call[*v1.KeyspaceSyncRequest, *v1.KeyspaceSyncResponse](ctx, v1.KeyspaceService_ServiceDesc.ServiceName, addr, method, req, timeout)
	case "shard":
		return call[*v1.ShardSyncRequest, *v1.ShardSyncResponse](ctx, v1.ShardService_ServiceDesc.ServiceName, addr, method, req, timeout)
	case "tablet":
		return call[*v1.TabletSyncRequest, *v1.TabletSyncResponse](ctx, v1.TabletService_ServiceDesc.ServiceName, addr, method, req, timeout)
	}
	return nil, fmt.Errorf("unknown layer %q: use one of %v", name, Names)
}

func call[Req, Resp proto.Message](ctx context.Context, service, addr, method string, body []byte, timeout time.Duration) ([]byte, error) {
	req, resp := newMessage[Req](), newMessage[Resp]()
	if err := kjson.Unmarshal(body, req); err != nil {
		return nil, fmt.Errorf("read the request: %w", err)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// WaitForReady lets a just-started service come up within the timeout.
	if err := conn.Invoke(ctx, "/"+service+"/"+method, req, resp, grpc.WaitForReady(true)); err != nil {
		return nil, fmt.Errorf("%s.%s at %s: %w", service, method, addr, err)
	}
	b, err := kjson.Marshal(resp)
	if err != nil {
		return nil, fmt.Errorf("encode the response: %w", err)
	}
	return b, nil
}

// ParentKinds are the parent kind of each layer.
var ParentKinds = map[string]string{
	"cluster": "VitessCluster", "cell": "VitessCell", "keyspace": "VitessKeyspace", "shard": "VitessShard", "tablet": "VitessTablet",
}
