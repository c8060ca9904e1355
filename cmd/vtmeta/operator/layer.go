// Package operator runs vtmeta offline: the five layers' real sync hooks,
// chained as Metacontroller chains them on a cluster — each layer's
// children of vtmeta's kinds become the next layer's parents — over an
// in-memory store in which every child becomes ready as soon as it is
// written. A layer runs in this process (the very function its service
// serves) or, to see what a deployed version would do, in a running
// service reached over gRPC.
package operator

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
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

// local runs a layer's sync function in this process.
type local[Req hook.Request, Resp hook.Response] struct {
	l hook.Layer[Req, Resp]
}

// InProcess runs a layer's sync function, the one its service serves, in
// this process.
func InProcess[Req hook.Request, Resp hook.Response](l hook.Layer[Req, Resp]) Layer {
	return local[Req, Resp]{l}
}

func (x local[Req, Resp]) Name() string       { return x.l.Name }
func (x local[Req, Resp]) ParentKind() string { return x.l.ParentKind }
func (x local[Req, Resp]) Where() string      { return "in process" }

func (x local[Req, Resp]) Sync(ctx context.Context, body []byte) (Answer, error) {
	req := newMessage[Req]()
	if err := kjson.Unmarshal(body, req); err != nil {
		return Answer{}, fmt.Errorf("the %s layer's request: %w", x.l.Name, err)
	}
	resp, err := x.l.Sync(ctx, req)
	if err != nil {
		return Answer{}, fmt.Errorf("the %s layer: %w", x.l.Name, err)
	}
	return answer(resp)
}

// remote calls a layer's service over gRPC.
type remote[Req hook.Request, Resp hook.Response] struct {
	l       hook.Layer[Req, Resp]
	method  string
	addr    string
	conn    *grpc.ClientConn
	timeout time.Duration
}

// Remote calls the Sync of a running layer service at addr (host:port of
// its gRPC listener); service is its gRPC service name, for example
// vtmeta.v1alpha1.ShardService. Close the returned closer when done.
func Remote[Req hook.Request, Resp hook.Response](l hook.Layer[Req, Resp], service, addr string, timeout time.Duration) (Layer, func() error, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, nil, fmt.Errorf("the %s layer at %s: %w", l.Name, addr, err)
	}
	r := remote[Req, Resp]{l: l, method: "/" + service + "/Sync", addr: addr, conn: conn, timeout: timeout}
	return r, conn.Close, nil
}

func (x remote[Req, Resp]) Name() string       { return x.l.Name }
func (x remote[Req, Resp]) ParentKind() string { return x.l.ParentKind }
func (x remote[Req, Resp]) Where() string      { return x.addr }

func (x remote[Req, Resp]) Sync(ctx context.Context, body []byte) (Answer, error) {
	req, resp := newMessage[Req](), newMessage[Resp]()
	if err := kjson.Unmarshal(body, req); err != nil {
		return Answer{}, fmt.Errorf("the %s layer's request: %w", x.l.Name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, x.timeout)
	defer cancel()
	// WaitForReady lets a service that is just starting answer in time.
	if err := x.conn.Invoke(ctx, x.method, req, resp, grpc.WaitForReady(true)); err != nil {
		return Answer{}, fmt.Errorf("the %s layer at %s: %w", x.l.Name, x.addr, err)
	}
	return answer(resp)
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
