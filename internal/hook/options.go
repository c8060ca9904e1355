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
	// MaxInflightBodyBytes bounds the request body bytes held in memory by
	// all hook calls at once, and the answers they build (each counted
	// twice: built, then encoded); a call that would go over it gets 503.
	MaxInflightBodyBytes int64
	// MaxAnswerBytes bounds the answer of one call, as its layer
	// estimates it before building anything, and is itself bounded by half
	// of MaxInflightBodyBytes (an answer is held twice while it is sent): a
	// spec whose answer would be larger is refused (InvalidSpec,
	// AnswerTooLarge) and its children held.
	MaxAnswerBytes int64
	// ReadTimeout, WriteTimeout and IdleTimeout bound HTTP connections.
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// ShutdownDelay is how long the service keeps serving after SIGTERM,
	// with /readyz failing, before it stops taking connections: the time
	// Kubernetes needs to take the Pod out of the Service's endpoints.
	ShutdownDelay time.Duration
	// ShutdownTimeout bounds how long in-flight hooks may finish on SIGTERM.
	ShutdownTimeout time.Duration
	// TLSCertFile and TLSKeyFile turn on HTTPS (and TLS for gRPC).
	TLSCertFile, TLSKeyFile string
	// ClientCAFile requires client certificates signed by these CAs (mTLS).
	ClientCAFile string
	// BearerTokenFile holds the token the HTTP hook paths require as
	// "Authorization: Bearer <token>" (compared in constant time);
	// /healthz, /readyz and /metrics stay open. gRPC is not covered: keep
	// --grpc-addr off the network Metacontroller uses (or empty) when the
	// token matters.
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

// Bind defines the options' flags on fs. Each flag's usage names its
// environment variable, so -h lists both.
func (o *Options) Bind(fs *flag.FlagSet) {
	str := func(p *string, name, value, usage string) { fs.StringVar(p, name, value, withEnv(name, usage)) }
	dur := func(p *time.Duration, name string, value time.Duration, usage string) {
		fs.DurationVar(p, name, value, withEnv(name, usage))
	}
	str(&o.HTTPAddr, "http-addr", ":8080", "address of the HTTP server: hooks, /healthz, /readyz, /metrics")
	str(&o.GRPCAddr, "grpc-addr", ":9090", "address of the gRPC server (empty: no gRPC)")
	str(&o.SyncPath, "sync-path", "/sync", "path of the sync hook (/hooks/<layer>/sync is served too)")
	str(&o.FinalizePath, "finalize-path", "/finalize", "path of the finalize hook (/hooks/<layer>/finalize is served too)")
	fs.Int64Var(&o.MaxBodyBytes, "max-body-bytes", 16<<20, withEnv("max-body-bytes", "largest request body accepted (HTTP and gRPC); larger ones get 413"))
	fs.Int64Var(&o.MaxInflightBodyBytes, "max-inflight-body-bytes", 64<<20, withEnv("max-inflight-body-bytes",
		"most request body and answer bytes all HTTP hook calls may hold in memory at once; a call that would go over it gets 503 and Metacontroller retries it"))
	fs.Int64Var(&o.MaxAnswerBytes, "max-answer-bytes", 16<<20, withEnv("max-answer-bytes",
		"largest answer a layer builds, as it estimates it first, and at most half of --max-inflight-body-bytes: a spec whose children would be larger is refused (Ready=False, InvalidSpec, AnswerTooLarge) and its children held"))
	dur(&o.ReadTimeout, "read-timeout", 30*time.Second, "HTTP read timeout")
	dur(&o.WriteTimeout, "write-timeout", 30*time.Second, "HTTP write timeout")
	dur(&o.IdleTimeout, "idle-timeout", 120*time.Second, "HTTP keep-alive idle timeout")
	dur(&o.ShutdownDelay, "shutdown-delay", 0, "after SIGTERM, keep serving this long with /readyz failing before closing the listeners")
	dur(&o.ShutdownTimeout, "shutdown-timeout", 25*time.Second, "how long in-flight hooks may finish once the listeners close")
	str(&o.TLSCertFile, "tls-cert-file", "", "serve HTTPS and gRPC over TLS with this certificate (PEM)")
	str(&o.TLSKeyFile, "tls-key-file", "", "private key of --tls-cert-file (PEM)")
	str(&o.ClientCAFile, "client-ca-file", "", "require client certificates signed by these CAs (mTLS)")
	str(&o.BearerTokenFile, "bearer-token-file", "", "require \"Authorization: Bearer <token>\" with the token in this file on the HTTP hook paths")
	fs.BoolVar(&o.ETag, "etag", false, withEnv("etag", "send ETags and answer a matching If-None-Match with 304 Not Modified"))
	str(&o.LogFormat, "log-format", "json", "log format: json or text")
	str(&o.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.BoolVar(&o.Version, "version", false, withEnv("version", "print the version and exit"))
}

// withEnv appends the environment variable of a flag to its usage.
func withEnv(flagName, usage string) string {
	return usage + " (env " + envName(flagName) + ")"
}

// DefaultOptions are the options with every flag at its default.
func DefaultOptions() Options {
	var o Options
	o.Bind(flag.NewFlagSet("defaults", flag.ContinueOnError))
	return o
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
	for _, p := range []struct{ flag, path string }{{"sync-path", o.SyncPath}, {"finalize-path", o.FinalizePath}} {
		if err := checkPath(p.path); err != nil {
			return fmt.Errorf("--%s %q: %w", p.flag, p.path, err)
		}
	}
	if o.SyncPath == o.FinalizePath {
		return fmt.Errorf("--sync-path and --finalize-path are both %q: the hooks need distinct paths", o.SyncPath)
	}
	if o.MaxBodyBytes <= 0 {
		return fmt.Errorf("--max-body-bytes must be positive")
	}
	if o.MaxInflightBodyBytes < o.MaxBodyBytes {
		return fmt.Errorf("--max-inflight-body-bytes %d is below --max-body-bytes %d: a request of the largest size could never be served", o.MaxInflightBodyBytes, o.MaxBodyBytes)
	}
	if o.MaxAnswerBytes <= 0 {
		return fmt.Errorf("--max-answer-bytes must be positive")
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"read-timeout", o.ReadTimeout}, {"write-timeout", o.WriteTimeout}, {"idle-timeout", o.IdleTimeout}, {"shutdown-delay", o.ShutdownDelay}, {"shutdown-timeout", o.ShutdownTimeout}} {
		if d.v < 0 {
			return fmt.Errorf("--%s %s must not be negative", d.flag, d.v)
		}
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

// reservedPaths are served by the runtime itself.
var reservedPaths = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// checkPath refuses a hook path the HTTP mux could not serve as one exact
// path.
func checkPath(p string) error {
	switch {
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("must start with /")
	case strings.ContainsAny(p, "{}?# \t\r\n%"):
		return fmt.Errorf("must be a plain path, without {, }, ?, #, %% or spaces")
	case strings.Contains(p, "//") || strings.Contains(p, "/./") || strings.Contains(p, "/../") || strings.HasSuffix(p, "/.") || strings.HasSuffix(p, "/.."):
		return fmt.Errorf("must be a clean path")
	case reservedPaths[p]:
		return fmt.Errorf("is served by the runtime itself")
	}
	return nil
}
