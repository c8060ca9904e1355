package hook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// Main runs a layer service: it reads its options from the command line and
// the environment, serves until SIGTERM or SIGINT, lets in-flight hooks
// finish, and returns the process exit code.
func Main[Req Request, Resp Response](l Layer[Req, Resp]) int {
	o, err := ParseOptions("vtmeta-"+l.Name, os.Args[1:], os.Getenv, os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(os.Stderr, "vtmeta-%s: %v\n", l.Name, err)
		return 2
	}
	if o.Version {
		fmt.Println(Version)
		return 0
	}
	log := NewLogger(o, os.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := Run(ctx, l, o, log, nil); err != nil {
		log.Error("service stopped", slog.String("error", err.Error()))
		return 1
	}
	return 0
}

// Listening reports the addresses a service bound, for tests that ask for
// port 0.
type Listening struct {
	HTTP, GRPC net.Addr
}

// Run serves a layer until ctx is done, then shuts down gracefully. When
// listening is not nil it receives the bound addresses once serving.
func Run[Req Request, Resp Response](ctx context.Context, l Layer[Req, Resp], o Options, log *slog.Logger, listening chan<- Listening) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tlsConf, err := TLSConfig(o)
	if err != nil {
		return err
	}
	var grpcOpts []grpc.ServerOption
	if tlsConf != nil {
		grpcOpts = append(grpcOpts, grpc.Creds(credentials.NewTLS(tlsConf)))
	}
	svc, err := New(ctx, l, o, log, grpcOpts...)
	if err != nil {
		return err
	}
	httpLn, err := net.Listen("tcp", o.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on --http-addr %s: %w", o.HTTPAddr, err)
	}
	if tlsConf != nil {
		httpLn = tls.NewListener(httpLn, tlsConf)
	}
	var grpcLn net.Listener
	if o.GRPCAddr != "" {
		if grpcLn, err = net.Listen("tcp", o.GRPCAddr); err != nil {
			httpLn.Close()
			return fmt.Errorf("listen on --grpc-addr %s: %w", o.GRPCAddr, err)
		}
	}
	hs := &http.Server{
		Handler:           svc.HTTP,
		ReadTimeout:       o.ReadTimeout,
		ReadHeaderTimeout: o.ReadTimeout,
		WriteTimeout:      o.WriteTimeout,
		IdleTimeout:       o.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errs := make(chan error, 2)
	go func() { errs <- hs.Serve(httpLn) }()
	if grpcLn != nil {
		go func() { errs <- svc.GRPC.Serve(grpcLn) }()
	}
	svc.SetReady(true)
	addrs := Listening{HTTP: httpLn.Addr()}
	if grpcLn != nil {
		addrs.GRPC = grpcLn.Addr()
	}
	log.Info("serving", slog.String("layer", l.Name), slog.String("version", Version),
		slog.String("http", addrs.HTTP.String()), slog.Bool("tls", tlsConf != nil),
		slog.Bool("mtls", o.ClientCAFile != ""), slog.Bool("bearer", o.BearerTokenFile != ""), slog.Bool("etag", o.ETag))
	if listening != nil {
		listening <- addrs
	}
	go func() { // forget parents that are no longer synced
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				svc.Metrics.Sweep(now)
			}
		}
	}()
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errs:
	}
	// Shut down: fail /readyz, keep serving for --shutdown-delay so the
	// Pod leaves the endpoints, then stop taking work and let in-flight
	// hooks finish.
	svc.SetReady(false)
	log.Info("shutting down", slog.Duration("delay", o.ShutdownDelay), slog.Duration("timeout", o.ShutdownTimeout))
	if o.ShutdownDelay > 0 && serveErr == nil {
		t := time.NewTimer(o.ShutdownDelay)
		select {
		case <-t.C:
		case serveErr = <-errs:
			t.Stop()
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), o.ShutdownTimeout)
	defer cancel()
	done := make(chan struct{})
	go func() { svc.GRPC.GracefulStop(); close(done) }()
	if err := hs.Shutdown(sctx); err != nil {
		serveErr = errors.Join(serveErr, fmt.Errorf("http shutdown: %w", err))
	}
	select {
	case <-done:
	case <-sctx.Done():
		svc.GRPC.Stop()
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}

// TLSConfig builds the server TLS configuration of the options, or nil
// without TLS.
func TLSConfig(o Options) (*tls.Config, error) {
	if o.TLSCertFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(o.TLSCertFile, o.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("load --tls-cert-file/--tls-key-file: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if o.ClientCAFile != "" {
		pem, err := os.ReadFile(o.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("read --client-ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--client-ca-file %s holds no PEM certificate", o.ClientCAFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// NewLogger returns the service's structured logger, writing to w in
// --log-format at --log-level.
func NewLogger(o Options, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(o.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if o.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
