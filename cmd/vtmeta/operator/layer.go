// Package operator runs vtmeta offline: the five layers' real sync hooks,
// chained as Metacontroller chains them on a cluster — each layer's
// children of vtmeta's kinds become the next layer's parents — over an
// in-memory store in which every child becomes ready as soon as it is
// written. A layer runs in this process, as its service does (the hook
// runtime with the layer's sync function, reached over an in-memory gRPC
// connection: the same request checks, the same code), or, to see what a
// deployed version would do, in a running service reached over gRPC.
package operator

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"

	"github.com/vtmeta/vtmeta/internal/hook"
	"github.com/vtmeta/vtmeta/internal/kjson"
)

// Layer is one layer's sync hook.
type Layer interface {
	// Name is the layer: cluster, cell, keyspace, shard or tablet.
	Name() string
	// ParentKind is the kind of the parents it syncs.
	ParentKind() string
	// ChildTypes are the type keys (Kind.apiVersion) of its children, as
	// its CompositeController declares them: Metacontroller sends a map
	// for each, even an empty one.
	ChildTypes() []string
	// Sync answers a hook request (JSON as Metacontroller sends it).
	Sync(ctx context.Context, req []byte) (Answer, error)
	// Where says where it runs, for messages: "in process" or an address.
	Where() string
}

// Answer is a layer's answer to a sync.
type Answer struct {
	// Status is the parent's new status (JSON).
	Status json.RawMessage
	// Children are the desired children (JSON objects), in order.
	Children []json.RawMessage
}

// maxMessage bounds a hook message over gRPC, as the services' own
// --max-body-bytes does.
const maxMessage = 64 << 20

// service calls a layer's gRPC service.
type service[Req hook.Request, Resp hook.Response] struct {
	l       hook.Layer[Req, Resp]
	method  string
	where   string
	conn    *grpc.ClientConn
	timeout time.Duration
}

// InProcess runs a layer as its service runs it — the hook runtime with its
// request checks around the layer's sync function — in this process,
// reached over an in-memory gRPC connection; name is the layer's gRPC
// service, for example vtmeta.v1alpha1.ShardService. Call the returned
// function to stop it.
func InProcess[Req hook.Request, Resp hook.Response](l hook.Layer[Req, Resp], name string) (Layer, func(), error) {
	svc, err := hook.New(context.Background(), l, hook.DefaultOptions(), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("the %s layer: %w", l.Name, err)
	}
	lis := bufconn.Listen(1 << 20)
	go func() { _ = svc.GRPC.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///"+l.Name,
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage), grpc.MaxCallSendMsgSize(maxMessage)))
	if err != nil {
		svc.GRPC.Stop()
		return nil, nil, fmt.Errorf("the %s layer: %w", l.Name, err)
	}
	stop := func() { _ = conn.Close(); svc.GRPC.Stop() }
	return service[Req, Resp]{l: l, method: "/" + name + "/Sync", where: "in process", conn: conn, timeout: time.Minute}, stop, nil
}

// Remote calls the Sync of a running layer service at addr (host:port of
// its gRPC listener); name is its gRPC service, for example
// vtmeta.v1alpha1.ShardService. Call the returned function when done.
func Remote[Req hook.Request, Resp hook.Response](l hook.Layer[Req, Resp], name, addr string, timeout time.Duration) (Layer, func(), error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage), grpc.MaxCallSendMsgSize(maxMessage)))
	if err != nil {
		return nil, nil, fmt.Errorf("the %s layer at %s: %w", l.Name, addr, err)
	}
	return service[Req, Resp]{l: l, method: "/" + name + "/Sync", where: addr, conn: conn, timeout: timeout}, func() { _ = conn.Close() }, nil
}

func (x service[Req, Resp]) Name() string         { return x.l.Name }
func (x service[Req, Resp]) ParentKind() string   { return x.l.ParentKind }
func (x service[Req, Resp]) ChildTypes() []string { return x.l.ChildTypes }
func (x service[Req, Resp]) Where() string        { return x.where }

func (x service[Req, Resp]) Sync(ctx context.Context, body []byte) (Answer, error) {
	req, resp := newMessage[Req](), newMessage[Resp]()
	if err := kjson.Unmarshal(body, req); err != nil {
		return Answer{}, fmt.Errorf("the %s layer's request: %w", x.l.Name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, x.timeout)
	defer cancel()
	// WaitForReady lets a service that is just starting answer in time.
	if err := x.conn.Invoke(ctx, x.method, req, resp, grpc.WaitForReady(true)); err != nil {
		return Answer{}, fmt.Errorf("the %s layer %s: %w", x.l.Name, at(x.where), err)
	}
	return answer(resp)
}

// at is where a layer runs, for messages.
func at(where string) string {
	if where == "in process" {
		return where
	}
	return "at " + where
}

func newMessage[M proto.Message]() M {
	var zero M
	return zero.ProtoReflect().New().Interface().(M)
}

// answer reads a layer's typed response.
func answer(resp hook.Response) (Answer, error) {
	b, err := kjson.Marshal(resp)
	if err != nil {
		return Answer{}, fmt.Errorf("encode the answer: %w", err)
	}
	var whole struct {
		Status json.RawMessage `json:"status"`
	}
	if err := json.Unmarshal(b, &whole); err != nil {
		return Answer{}, fmt.Errorf("decode the answer: %w", err)
	}
	out := Answer{Status: whole.Status}
	for _, c := range resp.GetChildren() {
		out.Children = append(out.Children, json.RawMessage(c.GetJson()))
	}
	return out, nil
}
