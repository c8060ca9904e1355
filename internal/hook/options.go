package hook

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// Options configure a hook service. Every option is a flag and an
// environment variable: VTMETA_ and the flag's name in upper snake case
// (--http-addr is VTMETA_HTTP_ADDR). A flag given on the command line wins
// over the environment.
type Options struct {
	// HTTPAddr serves the hooks, /healthz, /readyz and /metrics.
	HTTPAddr string
	// GRPCAddr serves the layer's gRPC service and grpc health.
	GRPCAddr string
	// SyncPath and FinalizePath are the hook URLs' paths.
	SyncPath, FinalizePath string
	// MaxBodyBytes bounds a request body; larger ones get 413.
	MaxBodyBytes int64
	// ReadTimeout, WriteTimeout and IdleTimeout bound HTTP connections.
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// ShutdownTimeout bounds how long in-flight hooks may finish on SIGTERM.
	ShutdownTimeout time.Duration
	// TLSCertFile and TLSKeyFile turn on HTTPS (and TLS for gRPC).
	TLSCertFile, TLSKeyFile string
	// ClientCAFile requires client certificates signed by these CAs (mTLS).
	ClientCAFile string
	// BearerTokenFile holds the token the hook paths require as
	// "Authorization: Bearer <token>".
	BearerTokenFile string
	// ETag answers If-None-Match with 304 when the request is unchanged.
	ETag bool
	// LogFormat is json or text; LogLevel is debug, info, warn or error.
	LogFormat, LogLevel string
	// Version prints the version and exits.
	Version bool
}

// envName is the environment variable of a flag.
func envName(flagName string) string {
	return "VTMETA_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Bind defines the options' flags on fs.
func (o *Options) Bind(fs *flag.FlagSet) {
	fs.StringVar(&o.HTTPAddr, "http-addr", ":8080", "address of the HTTP server: hooks, /healthz, /readyz, /metrics")
	fs.StringVar(&o.GRPCAddr, "grpc-addr", ":9090", "address of the gRPC server (empty: no gRPC)")
	fs.StringVar(&o.SyncPath, "sync-path", "/sync", "path of the sync hook")
	fs.StringVar(&o.FinalizePath, "finalize-path", "/finalize", "path of the finalize hook")
	fs.Int64Var(&o.MaxBodyBytes, "max-body-bytes", 16<<20, "largest request body accepted; larger ones get 413")
	fs.DurationVar(&o.ReadTimeout, "read-timeout", 30*time.Second, "HTTP read timeout")
	fs.DurationVar(&o.WriteTimeout, "write-timeout", 30*time.Second, "HTTP write timeout")
	fs.DurationVar(&o.IdleTimeout, "idle-timeout", 120*time.Second, "HTTP keep-alive idle timeout")
	fs.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", 25*time.Second, "how long in-flight hooks may finish after SIGTERM")
	fs.StringVar(&o.TLSCertFile, "tls-cert-file", "", "serve HTTPS and gRPC over TLS with this certificate (PEM)")
	fs.StringVar(&o.TLSKeyFile, "tls-key-file", "", "private key of --tls-cert-file (PEM)")
	fs.StringVar(&o.ClientCAFile, "client-ca-file", "", "require client certificates signed by these CAs (mTLS)")
	fs.StringVar(&o.BearerTokenFile, "bearer-token-file", "", "require this bearer token on the hook paths")
	fs.BoolVar(&o.ETag, "etag", false, "answer If-None-Match with 304 Not Modified when the request is unchanged")
	fs.StringVar(&o.LogFormat, "log-format", "json", "log format: json or text")
	fs.StringVar(&o.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.BoolVar(&o.Version, "version", false, "print the version and exit")
}

// ParseOptions parses args into Options, taking each flag not given on the
// command line from its environment variable, if set.
func ParseOptions(name string, args []string, getenv func(string) string, usageOut io.Writer) (Options, error) {
	var o Options
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(usageOut)
	o.Bind(fs)
	fs.Usage = func() {
		fmt.Fprintf(usageOut, "Usage of %s (every flag can also be set as VTMETA_<FLAG>, e.g. VTMETA_HTTP_ADDR):\n", name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || given[f.Name] {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = fmt.Errorf("%s=%q: %w", envName(f.Name), v, serr)
			}
		}
	})
	if err != nil {
		return o, err
	}
	return o, o.check()
}

// check refuses inconsistent options.
func (o Options) check() error {
	if (o.TLSCertFile == "") != (o.TLSKeyFile == "") {
		return fmt.Errorf("--tls-cert-file and --tls-key-file go together")
	}
	if o.ClientCAFile != "" && o.TLSCertFile == "" {
		return fmt.Errorf("--client-ca-file needs --tls-cert-file: client certificates only exist over TLS")
	}
	if !strings.HasPrefix(o.SyncPath, "/") || !strings.HasPrefix(o.FinalizePath, "/") || o.SyncPath == o.FinalizePath {
		return fmt.Errorf("--sync-path %q and --finalize-path %q must be distinct paths starting with /", o.SyncPath, o.FinalizePath)
	}
	if o.MaxBodyBytes <= 0 {
		return fmt.Errorf("--max-body-bytes must be positive")
	}
	switch o.LogFormat {
	case "json", "text":
	default:
		return fmt.Errorf("--log-format %q: use json or text", o.LogFormat)
	}
	switch o.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("--log-level %q: use debug, info, warn or error", o.LogLevel)
	}
	return nil
}
