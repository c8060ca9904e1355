package hook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
)

// Service is one layer's runtime, ready to be served: its HTTP handler, its
// gRPC server and its metrics.
type Service struct {
	// HTTP serves the hooks, /healthz, /readyz and /metrics.
	HTTP http.Handler
	// GRPC serves the layer's service and grpc health.
	GRPC *grpc.Server
	// Metrics are the service's metrics.
	Metrics *Metrics

	layer  string
	opts   Options
	log    *slog.Logger
	token  []byte
	bodies *budget
	ready  atomic.Bool
	health *health.Server
}

// New builds the runtime of a layer.
func New[Req Request, Resp Response](ctx context.Context, l Layer[Req, Resp], o Options, log *slog.Logger, grpcOpts ...grpc.ServerOption) (*Service, error) {
	if l.Name == "" || l.ParentKind == "" || l.Sync == nil || l.Register == nil {
		return nil, fmt.Errorf("layer %q: Name, ParentKind, Sync and Register are required", l.Name)
	}
	if err := o.check(); err != nil {
		return nil, fmt.Errorf("options of the %s layer: %w", l.Name, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if len(l.ChildTypes) == 0 {
		return nil, fmt.Errorf("layer %q: ChildTypes is required: the child types its CompositeController declares", l.Name)
	}
	svc := &Service{Metrics: NewMetrics(), layer: l.Name, opts: o, log: log, health: health.NewServer(), bodies: newBudget(o.MaxInflightBodyBytes)}
	svc.Metrics.BuildInfo.WithLabelValues(l.Name, Version).Set(1)
	if o.BearerTokenFile != "" {
		tok, err := os.ReadFile(o.BearerTokenFile)
		if err != nil {
			return nil, fmt.Errorf("read --bearer-token-file: %w", err)
		}
		svc.token = bytes.TrimSpace(tok)
		if len(svc.token) == 0 {
			return nil, fmt.Errorf("--bearer-token-file %s is empty", o.BearerTokenFile)
		}
	}
	srv := &Server[Req, Resp]{layer: l, metrics: svc.Metrics, log: log, now: time.Now, answers: svc.bodies, maxAnswer: min(o.MaxAnswerBytes, o.MaxInflightBodyBytes/2)}
	gate := &grpcGate{svc: svc, bodies: newBudget(o.MaxInflightBodyBytes)}
	grpcOpts = append(gate.serverOptions(), grpcOpts...)
	svc.GRPC = grpc.NewServer(grpcOpts...)
	healthpb.RegisterHealthServer(svc.GRPC, svc.health)
	reflection.Register(svc.GRPC)
	gw := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, codec{}),
		runtime.WithErrorHandler(errorHandler),
		runtime.WithRoutingErrorHandler(func(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, code int) {
			writeError(w, code, http.StatusText(code))
		}),
	)
	if err := l.Register(ctx, svc.GRPC, gw, srv); err != nil {
		return nil, fmt.Errorf("register the %s layer: %w", l.Name, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !svc.ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(svc.Metrics.Registry, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	if err := svc.handleHooks(mux, gw, o); err != nil {
		return nil, err
	}
	svc.HTTP = mux
	return svc, nil
}

// handleHooks routes the gateway routes of the two hooks, and the
// configured --sync-path and --finalize-path onto them, through the hook
// middleware. A path claimed by both hooks is an error, not a panic.
func (s *Service) handleHooks(mux *http.ServeMux, gw http.Handler, o Options) error {
	claimed := map[string]string{}
	for _, h := range []struct{ hook, path string }{{"sync", o.SyncPath}, {"finalize", o.FinalizePath}} {
		claimed["/hooks/"+s.layer+"/"+h.hook] = h.hook
	}
	for _, h := range []struct{ hook, path string }{{"sync", o.SyncPath}, {"finalize", o.FinalizePath}} {
		route := "/hooks/" + s.layer + "/" + h.hook
		if err := handle(mux, route, s.hook(h.hook, route, gw)); err != nil {
			return err
		}
		if h.path == route {
			continue
		}
		if other, ok := claimed[h.path]; ok {
			return fmt.Errorf("--%s-path %s is the %s hook's route", h.hook, h.path, other)
		}
		claimed[h.path] = h.hook
		if err := handle(mux, exactPattern(h.path), s.hook(h.hook, route, gw)); err != nil {
			return fmt.Errorf("--%s-path: %w", h.hook, err)
		}
	}
	return nil
}

// exactPattern is the http.ServeMux pattern that matches exactly path: a
// path ending in / would otherwise match every path below it.
func exactPattern(path string) string {
	if strings.HasSuffix(path, "/") {
		return path + "{$}"
	}
	return path
}

// handle registers h on mux, turning the mux's panic on a bad or
// conflicting pattern into an error.
func handle(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("cannot serve %s: %v", pattern, p)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

// grpcLimit is a body limit as a gRPC message size.
func grpcLimit(n int64) int {
	if n <= 0 || n > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(n)
}

// SetReady turns /readyz and grpc health on or off.
func (s *Service) SetReady(ready bool) {
	s.ready.Store(ready)
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if ready {
		st = healthpb.HealthCheckResponse_SERVING
	}
	s.health.SetServingStatus("", st)
}

// hook wraps the gateway route of one hook with what Metacontroller's calls
// need: method, auth and content-type checks, the body limits, ETags, and
// the metrics and log line of the call. A panic anywhere in the call costs
// that call a 500, never the process or the connection.
func (s *Service) hook(hookName, route string, gw http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		m := s.Metrics
		m.InFlight.WithLabelValues(s.layer).Inc()
		defer m.InFlight.WithLabelValues(s.layer).Dec()
		rec := &record{hook: hookName}
		rw := &responseWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				rec.outcome, rec.err = OutcomeError, fmt.Errorf("panic: %v", p)
				s.log.Error("hook panicked", slog.String("layer", s.layer), slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
				if rw.status == 0 {
					writeError(rw, http.StatusInternalServerError, fmt.Sprintf("the %s layer panicked: %v", s.layer, p))
				}
			}
			if rec.outcome == "" || (rec.outcome == OutcomeOK && rw.code() >= 400) {
				rec.outcome = outcomeOf(rw.code())
			}
			rec.bytesOut = rw.n
			m.ResponseBytes.WithLabelValues(s.layer, hookName).Observe(float64(rw.n))
			d := time.Since(start)
			m.Duration.WithLabelValues(s.layer, hookName, rec.outcome).Observe(d.Seconds())
			logCall(s.log, s.layer, "http", rec, d)
		}()
		if r.Method != http.MethodPost {
			rw.Header().Set("Allow", http.MethodPost)
			rec.err = fmt.Errorf("method %s not allowed", r.Method)
			writeError(rw, http.StatusMethodNotAllowed, "hooks take POST")
			return
		}
		if s.token != nil && !s.authorized(r) {
			rw.Header().Set("WWW-Authenticate", `Bearer realm="vtmeta"`)
			rec.err = fmt.Errorf("missing or wrong bearer token")
			writeError(rw, http.StatusUnauthorized, "a valid bearer token is required")
			return
		}
		if err := jsonContent(r.Header.Get("Content-Type")); err != nil {
			rec.err = err
			writeError(rw, http.StatusUnsupportedMediaType, err.Error())
			return
		}
		if r.ContentLength > s.opts.MaxBodyBytes { // refuse without reading it
			rec.bytesIn = int(min(r.ContentLength, math.MaxInt32))
			m.RequestBytes.WithLabelValues(s.layer, hookName).Observe(float64(r.ContentLength))
			rec.err = fmt.Errorf("body of %d bytes over %d", r.ContentLength, s.opts.MaxBodyBytes)
			writeError(rw, http.StatusRequestEntityTooLarge, tooLarge(s.opts.MaxBodyBytes))
			return
		}
		data, held, err := readBody(r.Body, r.ContentLength, s.opts.MaxBodyBytes, s.bodies)
		defer s.bodies.give(held)
		if errors.Is(err, errBusy) {
			rec.outcome, rec.err = OutcomeBusy, err
			rw.Header().Set("Retry-After", "1")
			writeError(rw, http.StatusServiceUnavailable, fmt.Sprintf("%v (--max-inflight-body-bytes %d); retry", err, s.opts.MaxInflightBodyBytes))
			return
		}
		if err != nil {
			rec.err = err
			writeError(rw, http.StatusBadRequest, "read request body: "+err.Error())
			return
		}
		rec.bytesIn = len(data)
		m.RequestBytes.WithLabelValues(s.layer, hookName).Observe(float64(len(data)))
		if int64(len(data)) > s.opts.MaxBodyBytes {
			rec.err = fmt.Errorf("body over %d bytes", s.opts.MaxBodyBytes)
			writeError(rw, http.StatusRequestEntityTooLarge, tooLarge(s.opts.MaxBodyBytes))
			return
		}
		if s.opts.ETag {
			tag := etagOf(s.layer, route, data)
			if matches(r.Header.Get("If-None-Match"), tag) {
				rw.Header().Set("ETag", tag)
				rw.WriteHeader(http.StatusNotModified)
				rec.outcome = OutcomeNotModified
				return
			}
			rw.etag = tag
		}
		r2 := r.Clone(withRecord(r.Context(), rec))
		r2.URL.Path, r2.URL.RawPath = route, ""
		r2.Body = &body{Reader: bytes.NewReader(data), data: data}
		r2.ContentLength = int64(len(data))
		gw.ServeHTTP(rw, r2)
	})
}

// jsonContent refuses a request whose body is not declared JSON:
// Metacontroller always sends Content-Type: application/json.
func jsonContent(ct string) error {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return fmt.Errorf("Content-Type %q: hooks take application/json, as Metacontroller sends", ct)
	}
	return nil
}

// tooLarge is the message of a 413.
func tooLarge(limit int64) string {
	return fmt.Sprintf("request body is larger than %d bytes; raise --max-body-bytes if this is a real request", limit)
}

// authorized compares the bearer token in constant time.
func (s *Service) authorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), s.token) == 1
}

// etagOf is the entity tag of a request: hooks are pure, so the same
// request to the same hook of the same version has the same answer.
func etagOf(layer, route string, body []byte) string {
	h := sha256.New()
	_, _ = io.WriteString(h, Version+"\x00"+layer+"\x00"+route+"\x00")
	_, _ = h.Write(body)
	return `"` + hex.EncodeToString(h.Sum(nil)[:16]) + `"`
}

// matches says whether an If-None-Match header names the tag (weak
// comparison, as RFC 9110 prescribes for If-None-Match). Metacontroller
// sends the tag of the response it cached for the parent, and serves that
// cached body on 304. "*" never matches: it does not say that the client
// holds the body for this request, and a 200 is always a right answer.
func matches(header, tag string) bool {
	for t := range strings.SplitSeq(header, ",") {
		if strings.TrimPrefix(strings.TrimSpace(t), "W/") == tag {
			return true
		}
	}
	return false
}

func outcomeOf(code int) string {
	switch {
	case code == http.StatusNotModified:
		return OutcomeNotModified
	case code < 400:
		return OutcomeOK
	case code < 500:
		return OutcomeInvalidRequest
	}
	return OutcomeError
}

// errorHandler writes gateway and layer errors as small JSON bodies with the
// HTTP status that matches the gRPC code: 400 for requests Metacontroller
// could not have sent, 500 when the layer failed (Metacontroller then
// changes nothing).
func errorHandler(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, _ *http.Request, err error) {
	st := status.Convert(err)
	if rec := recordOf(ctx); rec != nil && rec.err == nil {
		rec.err = err
	}
	writeError(w, runtime.HTTPStatusFromCode(st.Code()), st.Message())
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Del("ETag")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": msg, "code": code})
}

// responseWriter records the status and size of a response and adds the
// ETag to successful ones.
type responseWriter struct {
	http.ResponseWriter
	status int
	n      int
	etag   string
}

// WriteHeader records the status once and adds the ETag to a 200.
func (w *responseWriter) WriteHeader(code int) {
	if w.status != 0 {
		return
	}
	w.status = code
	if w.etag != "" && code == http.StatusOK {
		w.Header().Set("ETag", w.etag)
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write counts the bytes written.
func (w *responseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.n += n
	return n, err
}

func (w *responseWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// NewHandler returns the HTTP handler of a layer (what a service serves,
// without listening), ready: for tests, benchmarks and in-process control
// planes. It uses opts[0] when given, else the default options (the flags'
// defaults, no environment). Listening options (addresses, TLS, timeouts)
// do not apply to a bare handler.
func NewHandler[Req Request, Resp Response](ctx context.Context, l Layer[Req, Resp], opts ...Options) (http.Handler, error) {
	if len(opts) > 1 {
		return nil, fmt.Errorf("NewHandler takes at most one Options, got %d", len(opts))
	}
	o := DefaultOptions()
	if len(opts) == 1 {
		o = opts[0]
	}
	svc, err := New(ctx, l, o, nil)
	if err != nil {
		return nil, err
	}
	svc.SetReady(true)
	return svc.HTTP, nil
}
