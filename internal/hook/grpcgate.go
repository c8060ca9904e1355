package hook

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
)

// grpcGate puts the calls of the gRPC port under a body budget of their
// own. gRPC reads a whole message before any code of a service sees it, so
// a call cannot be charged as its bytes arrive, as an HTTP one is: instead
// each stream takes --max-body-bytes, the most its message may be, when its
// headers arrive and gives it back when the stream ends (the stream's
// context is cancelled on every path that ends it). A call that finds the
// budget spent is refused with Unavailable before one byte of its message
// is read. Every method is gated, health and reflection too: their
// messages may be as large as a hook's. The probes of deploy/ use HTTP.
//
// The budget is separate from the HTTP one so that tools on the gRPC port
// can never take the memory Metacontroller's calls need.
type grpcGate struct {
	svc    *Service
	bodies *budget
}

// hookOfMethod is the hook a gRPC method serves ("sync", "finalize"), or ""
// for methods that are not a layer's hooks.
func hookOfMethod(full string) string {
	if !strings.HasPrefix(full, "/vtmeta.") {
		return ""
	}
	switch full[strings.LastIndexByte(full, '/')+1:] {
	case "Sync":
		return "sync"
	case "Finalize":
		return "finalize"
	}
	return ""
}

// tap is the gRPC server's InTapHandle.
func (g *grpcGate) tap(ctx context.Context, info *tap.Info) (context.Context, error) {
	n := g.svc.opts.MaxBodyBytes
	if !g.bodies.take(n) {
		if hook := hookOfMethod(info.FullMethodName); hook != "" {
			g.svc.Metrics.Duration.WithLabelValues(g.svc.layer, hook, OutcomeBusy).Observe(0)
		}
		g.svc.log.Warn("gRPC call shed", slog.String("layer", g.svc.layer), slog.String("method", safeLabel(info.FullMethodName)),
			slog.String("error", errBusy.Error()))
		return nil, status.Errorf(codes.Unavailable, "%v (each gRPC call holds --max-body-bytes %d of --max-inflight-body-bytes %d until it ends); retry",
			errBusy, n, g.svc.opts.MaxInflightBodyBytes)
	}
	context.AfterFunc(ctx, func() { g.bodies.give(n) })
	return ctx, nil
}

// grpcServerOptions are the options every layer's gRPC server gets: the
// HTTP size limit (gRPC's own default, 4 MiB, is smaller than a large
// shard's request), the gate, and a connection age after which a stalled
// call is cut so that it cannot hold its share of the budget for good.
func (g *grpcGate) serverOptions() []grpc.ServerOption {
	o := g.svc.opts
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(grpcLimit(o.MaxBodyBytes)),
		grpc.InTapHandle(g.tap),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionAge:      max(o.IdleTimeout, time.Minute),
			MaxConnectionAgeGrace: o.ReadTimeout + o.WriteTimeout,
		}),
	}
}
