// Package hook is the runtime every vtmeta layer service runs on: one call
// in a service's main.go serves the layer's pure sync and finalize functions
// to Metacontroller over HTTP/JSON (through grpc-gateway and the kjson
// codec) and to tools over gRPC, with metrics, logs, health, TLS, mTLS,
// bearer tokens, ETags and graceful shutdown.
package hook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/vtmeta/vtmeta/internal/hookctx"
	"github.com/vtmeta/vtmeta/internal/observed"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// Version is the version of the service, stamped at build time with
// -ldflags "-X github.com/vtmeta/vtmeta/internal/hook.Version=...".
var Version = "dev"

// Request is what every layer's hook request message provides.
type Request interface {
	proto.Message
	GetFinalizing() bool
	GetChildren() map[string]*v1.ObjectMap
}

// Response is what every layer's hook response message provides.
type Response interface {
	proto.Message
	GetChildren() []*v1.Raw
}

// Func is a layer's pure hook function.
type Func[Req Request, Resp Response] func(ctx context.Context, req Req) (Resp, error)

// Layer describes one layer service to the runtime.
type Layer[Req Request, Resp Response] struct {
	// Name is the layer: cluster, cell, keyspace, shard or tablet.
	Name string
	// ParentKind is the parent's kind; a request naming another gets 400.
	ParentKind string
	// ChildTypes are the type keys (Kind.apiVersion, observed.TypeKey) of
	// the layer's children, as its CompositeController's childResources
	// declare them: a request must carry a map for each, and no other.
	ChildTypes []string
	// Sync is the sync hook.
	Sync Func[Req, Resp]
	// Finalize is the finalize hook, for a layer that must act before its
	// parent goes; its CompositeController then declares the hook. nil (no
	// layer has one) means the layer does nothing on finalize and declares
	// none, since each costs a finalizer update on every parent; the route
	// still answers, with Sync's response and finalized: true, so parents
	// that carry the finalizer of an older CompositeController are let go.
	Finalize Func[Req, Resp]
	// Estimate is the size in bytes of the answer the layer would build for
	// a request, estimated before building it (see hookctx.AnswerLimit): the
	// runtime holds twice that much of the in-flight budget while the call
	// runs, so that answers many times their request's size cannot together
	// take more memory than the budget. Nil estimates nothing.
	Estimate func(req Req) int64
	// Register registers s as the layer's gRPC service on g and its gateway
	// handlers on mux.
	Register func(ctx context.Context, g GRPCRegistrar, mux *GatewayMux, s *Server[Req, Resp]) error
}

// Server adapts a layer's pure functions to its generated gRPC server
// interface, which has exactly Sync and Finalize: it checks the request,
// enforces the response invariants Metacontroller relies on, and records
// metrics and a log line per call.
type Server[Req Request, Resp Response] struct {
	layer   Layer[Req, Resp]
	metrics *Metrics
	log     *slog.Logger
	now     func() time.Time
	// answers is the in-flight budget answers are held from, maxAnswer the
	// largest answer a layer may build (--max-answer-bytes).
	answers   *budget
	maxAnswer int64
}

// Sync serves the sync hook.
func (s *Server[Req, Resp]) Sync(ctx context.Context, req Req) (Resp, error) {
	return s.call(ctx, "sync", req)
}

// Finalize serves the finalize hook.
func (s *Server[Req, Resp]) Finalize(ctx context.Context, req Req) (Resp, error) {
	return s.call(ctx, "finalize", req)
}

// call is one hook call. Nothing that goes wrong in it, the layer's
// function or the bookkeeping around it, may cost more than this call: a
// panic anywhere becomes an Internal error (HTTP 500, and Metacontroller
// changes nothing).
func (s *Server[Req, Resp]) call(ctx context.Context, hookName string, req Req) (resp Resp, err error) {
	var zero Resp
	rec := recordOf(ctx)
	start := s.now()
	if rec == nil { // a gRPC call: the HTTP middleware records HTTP calls
		s.metrics.InFlight.WithLabelValues(s.layer.Name).Inc()
		defer s.metrics.InFlight.WithLabelValues(s.layer.Name).Dec()
		rec = &record{hook: hookName}
		defer func() { s.finish(rec, start) }()
	}
	defer func() {
		if p := recover(); p != nil {
			resp, err = zero, s.panicked(p, req)
			rec.outcome, rec.err = OutcomeError, err
		}
	}()
	rec.parent = safeLabel(parentName(req))
	if err := s.check(req); err != nil {
		rec.outcome, rec.err = OutcomeInvalidRequest, err
		return zero, status.Error(codes.InvalidArgument, err.Error())
	}
	ctx = hookctx.WithInvalidRecorder(ctx, func(reason string) {
		s.metrics.InvalidSpecs.WithLabelValues(s.layer.Name, reason).Inc()
	})
	if s.layer.Estimate != nil && s.answers != nil {
		ctx = hookctx.WithAnswerLimit(ctx, s.maxAnswer)
		// An answer over the limit is refused: the layer sends back its
		// children as held, no larger than the request already counted.
		if est := s.layer.Estimate(req); est <= s.maxAnswer {
			if !s.answers.take(2 * est) {
				rec.outcome, rec.err = OutcomeBusy, fmt.Errorf("%w: an answer of about %d bytes", errBusy, est)
				return zero, status.Errorf(codes.Unavailable, "%v (--max-inflight-body-bytes); retry", rec.err)
			}
			defer s.answers.give(2 * est)
		}
	}
	fn, finalize := s.layer.Sync, false
	if hookName == "finalize" {
		if s.layer.Finalize != nil {
			fn = s.layer.Finalize
		} else {
			finalize = true
		}
	}
	resp, err = s.invoke(ctx, fn, req)
	if err != nil {
		rec.outcome, rec.err = OutcomeError, err
		if _, ok := status.FromError(err); ok && status.Code(err) != codes.Unknown {
			return zero, err
		}
		return zero, status.Error(codes.Internal, err.Error())
	}
	if any(resp) == nil || !resp.ProtoReflect().IsValid() {
		rec.outcome, rec.err = OutcomeError, errors.New("layer returned no response")
		return zero, status.Error(codes.Internal, "layer returned no response")
	}
	if err := checkChildren(resp); err != nil {
		rec.outcome, rec.err = OutcomeError, err
		return zero, status.Error(codes.Internal, err.Error())
	}
	ensureStatus(resp)
	if finalize {
		setBool(resp, "finalized")
	}
	rec.outcome, rec.children = OutcomeOK, len(resp.GetChildren())
	s.metrics.DesiredChildren.WithLabelValues(s.layer.Name).Observe(float64(rec.children))
	if ns, name := parentKeyOf(req); name != "" {
		k := parentKey{s.layer.Name, ns, name}
		if req.GetFinalizing() {
			s.metrics.forgetParent(k)
		} else {
			s.metrics.setParent(k, parentState{ready: conditionTrue(resp, "Ready"), available: conditionTrue(resp, "Available"),
				progressing: conditionTrue(resp, "Progressing"), backedUp: conditionStatus(resp, "BackedUp"), lastBackup: lastBackup(resp)}, s.now())
		}
	}
	return resp, nil
}

// invoke calls a layer function, turning a panic into an error: a layer
// that panics on some input must cost that one call a 500 (Metacontroller
// then changes nothing), not the process (the gRPC server does not recover
// panics) or the connection.
func (s *Server[Req, Resp]) invoke(ctx context.Context, fn Func[Req, Resp], req Req) (resp Resp, err error) {
	defer func() {
		if p := recover(); p != nil {
			var zero Resp
			resp, err = zero, s.panicked(p, req)
		}
	}()
	return fn(ctx, req)
}

// panicked logs a recovered panic with its stack and returns the error the
// caller answers with.
func (s *Server[Req, Resp]) panicked(p any, req Req) error {
	s.log.Error("hook panicked", slog.String("layer", s.layer.Name), slog.String("parent", safeLabel(parentName(req))),
		slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
	return status.Errorf(codes.Internal, "the %s layer panicked: %v", s.layer.Name, p)
}

// checkChildren refuses a response with a child Metacontroller could not
// apply: a missing child or one that is not a JSON object would be written
// as null, and the whole sync would fail on Metacontroller's side instead of
// here, with a message.
func checkChildren(resp Response) error {
	for i, c := range resp.GetChildren() {
		j := bytes.TrimSpace(c.GetJson())
		if len(j) < 2 || j[0] != '{' || j[len(j)-1] != '}' {
			return fmt.Errorf("layer returned child %d that is not a JSON object (%d bytes)", i, len(c.GetJson()))
		}
	}
	return nil
}

// finish records the metrics and log line of a gRPC call.
func (s *Server[Req, Resp]) finish(rec *record, start time.Time) {
	d := s.now().Sub(start)
	s.metrics.Duration.WithLabelValues(s.layer.Name, rec.hook, rec.outcome).Observe(d.Seconds())
	logCall(s.log, s.layer.Name, "grpc", rec, d)
}

// APIVersion is the apiVersion of every parent a layer serves.
const APIVersion = "vitess.io/v1alpha1"

// check refuses requests Metacontroller could not have sent: no parent, a
// parent of another kind, names Kubernetes would not have accepted (every
// name a layer derives from its parent's must be valid too), or observed
// children that are not what the CompositeController declares.
func (s *Server[Req, Resp]) check(req Req) error {
	if any(req) == nil || !req.ProtoReflect().IsValid() {
		return errors.New("empty request")
	}
	p := message(req.ProtoReflect(), "parent")
	if p == nil {
		return errors.New("request has no parent: Metacontroller always sends the parent object")
	}
	if kind := str(p, "kind"); kind != s.layer.ParentKind {
		return fmt.Errorf("parent.kind is %q: the %s layer serves %s parents; check the CompositeController's webhook URL", kind, s.layer.Name, s.layer.ParentKind)
	}
	if v := str(p, "api_version"); v != APIVersion {
		return fmt.Errorf("parent.apiVersion is %q: the %s layer serves %s %s", v, s.layer.Name, APIVersion, s.layer.ParentKind)
	}
	md := message(p, "metadata")
	if md == nil || str(md, "name") == "" {
		return errors.New("parent.metadata.name is missing")
	}
	for _, f := range []struct{ field, value string }{{"name", str(md, "name")}, {"namespace", str(md, "namespace")}} {
		if msgs := validation.IsDNS1123Label(f.value); len(msgs) > 0 {
			return fmt.Errorf("parent.metadata.%s %q is not a DNS-1123 label, as every %s %s must be (vtmeta derives Pod hostnames and Service names from it): %s",
				f.field, safeLabel(f.value), s.layer.ParentKind, f.field, strings.Join(msgs, "; "))
		}
	}
	if err := observed.Check(req.GetChildren(), s.layer.ChildTypes, str(md, "namespace")); err != nil {
		return err
	}
	return nil
}

// parentName is "namespace/name" of the request's parent, for logs.
func parentName(req proto.Message) string {
	ns, name := parentKeyOf(req)
	if ns != "" {
		return ns + "/" + name
	}
	return name
}

// parentKeyOf returns the namespace and name of the request's parent.
func parentKeyOf(req proto.Message) (namespace, name string) {
	if any(req) == nil || !req.ProtoReflect().IsValid() {
		return "", ""
	}
	md := message(message(req.ProtoReflect(), "parent"), "metadata")
	if md == nil {
		return "", ""
	}
	return str(md, "namespace"), str(md, "name")
}

// conditionTrue says whether a response's status has the condition of the
// type, True.
func conditionTrue(resp proto.Message, typ string) bool {
	return conditionStatus(resp, typ) == "True"
}

// conditionStatus is the status of a response's condition of the type, ""
// when it has none.
func conditionStatus(resp proto.Message, typ string) string {
	st := message(resp.ProtoReflect(), "status")
	if st == nil {
		return ""
	}
	fd := st.Descriptor().Fields().ByName("conditions")
	if fd == nil || !fd.IsList() || fd.Message() == nil {
		return ""
	}
	list := st.Get(fd).List()
	for i := range list.Len() {
		c := list.Get(i).Message()
		if str(c, "type") == typ {
			return str(c, "status")
		}
	}
	return ""
}

// lastBackup is the time a response's status gives as its last backup
// (last_backup_time, RFC 3339), zero when it gives none or no time.
func lastBackup(resp proto.Message) time.Time {
	st := message(resp.ProtoReflect(), "status")
	if st == nil {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, str(st, "last_backup_time"))
	if err != nil {
		return time.Time{}
	}
	return t
}

// message returns the set message field of m with the name, or nil.
func message(m protoreflect.Message, name protoreflect.Name) protoreflect.Message {
	if m == nil {
		return nil
	}
	fd := m.Descriptor().Fields().ByName(name)
	if fd == nil || fd.Message() == nil || !m.Has(fd) {
		return nil
	}
	return m.Get(fd).Message()
}

// str returns the string field of m with the name.
func str(m protoreflect.Message, name protoreflect.Name) string {
	fd := m.Descriptor().Fields().ByName(name)
	if fd == nil || fd.Kind() != protoreflect.StringKind {
		return ""
	}
	return m.Get(fd).String()
}

// ensureStatus gives the response a status message if it has none:
// Metacontroller reads a missing status as "wipe the status".
func ensureStatus(resp proto.Message) {
	m := resp.ProtoReflect()
	if fd := m.Descriptor().Fields().ByName("status"); fd != nil && fd.Message() != nil && !m.Has(fd) {
		m.Mutable(fd)
	}
}

// setBool sets the bool field of the name.
func setBool(resp proto.Message, name protoreflect.Name) {
	m := resp.ProtoReflect()
	if fd := m.Descriptor().Fields().ByName(name); fd != nil && fd.Kind() == protoreflect.BoolKind {
		m.Set(fd, protoreflect.ValueOfBool(true))
	}
}

// record is what the HTTP middleware and the Server learn about one call.
type record struct {
	hook     string
	parent   string
	outcome  string
	children int
	err      error
	bytesIn  int
	bytesOut int
}

type recordKey struct{}

func withRecord(ctx context.Context, r *record) context.Context {
	return context.WithValue(ctx, recordKey{}, r)
}

func recordOf(ctx context.Context) *record {
	r, _ := ctx.Value(recordKey{}).(*record)
	return r
}

// logCall writes the one log line of a hook call.
func logCall(log *slog.Logger, layer, transport string, rec *record, d time.Duration) {
	attrs := []any{
		slog.String("layer", layer), slog.String("hook", rec.hook), slog.String("transport", transport),
		slog.String("parent", rec.parent), slog.String("outcome", rec.outcome),
		slog.Duration("duration", d), slog.Int("children", rec.children),
	}
	if transport == "http" {
		attrs = append(attrs, slog.Int("bytes_in", rec.bytesIn), slog.Int("bytes_out", rec.bytesOut))
	}
	switch {
	case rec.outcome == OutcomeError:
		log.Error("hook call failed", append(attrs, slog.String("error", rec.err.Error()))...)
	case rec.err != nil:
		log.Warn("hook call refused", append(attrs, slog.String("error", rec.err.Error()))...)
	default:
		log.Info("hook call", attrs...)
	}
}

// GRPCRegistrar is where a layer registers its gRPC service.
type GRPCRegistrar = grpc.ServiceRegistrar

// GatewayMux is where a layer registers its gateway handlers.
type GatewayMux = runtime.ServeMux
