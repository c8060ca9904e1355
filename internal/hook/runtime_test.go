package hook

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// minimal is the smallest request Metacontroller could send.
var minimal = request("x", "", "")

func TestLayerFaultsAre500NotCrashes(t *testing.T) {
	tests := []struct {
		name string
		sync Func[*req, *resp]
		msg  string
	}{
		{"panic", func(context.Context, *req) (*resp, error) { panic("index out of range") }, "panicked: index out of range"},
		{"nil response", func(context.Context, *req) (*resp, error) { return nil, nil }, "no response"},
		{"nil child", func(context.Context, *req) (*resp, error) {
			return &resp{Children: []*v1.Raw{nil}}, nil
		}, "child 0 that is not a JSON object"},
		{"empty child", func(context.Context, *req) (*resp, error) {
			return &resp{Children: []*v1.Raw{{Json: []byte(`{"kind":"VitessCell"}`)}, {}}}, nil
		}, "child 1 that is not a JSON object"},
		{"status error kept", func(context.Context, *req) (*resp, error) {
			return nil, status.Error(codes.FailedPrecondition, "children cannot be held")
		}, "children cannot be held"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newService(t, defaults(t), tt.sync)
			w := post(svc.HTTP, "/sync", minimal)
			var body struct {
				Error string `json:"error"`
				Code  int    `json:"code"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("error body is not JSON: %q", w.Body)
			}
			wantCode := 500
			if tt.name == "status error kept" {
				wantCode = 400 // FailedPrecondition: the layer chose the code
			}
			if w.Code != wantCode || body.Code != wantCode || !strings.Contains(body.Error, tt.msg) {
				t.Errorf("got %d %s, want %d mentioning %q", w.Code, w.Body, wantCode, tt.msg)
			}
		})
	}
}

func TestGRPCSurvivesPanicsAndLimitsSize(t *testing.T) {
	o := defaults(t, "--max-body-bytes", "2000")
	a, _, _ := serve(t, o, func(_ context.Context, r *req) (*resp, error) {
		if r.GetParent().GetMetadata().GetName() == "boom" {
			panic("boom")
		}
		return &resp{}, nil
	})
	conn, err := grpc.NewClient(a.GRPC.String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := v1.NewClusterServiceClient(conn)
	if _, err := c.Sync(context.Background(), named("boom", nil)); status.Code(err) != codes.Internal || !strings.Contains(err.Error(), "panicked") {
		t.Errorf("a panicking layer: %v, want Internal", err)
	}
	if _, err := c.Sync(context.Background(), named("fine", nil)); err != nil {
		t.Errorf("the server must survive a panic: %v", err)
	}
	if _, err := c.Sync(context.Background(), named(strings.Repeat("x", 3000), nil)); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("a request over --max-body-bytes over gRPC: %v, want ResourceExhausted", err)
	}
	out, err := c.Finalize(context.Background(), named("fine", nil))
	if err != nil || !out.GetFinalized() || out.GetStatus() == nil {
		t.Errorf("Finalize without a Finalize func: %v %v, want finalized with a status", out, err)
	}
	if _, err := c.Sync(context.Background(), &req{Parent: &v1.VitessCluster{Kind: "VitessCell", Metadata: &v1.ObjectMeta{Name: "x"}}}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("wrong parent kind over gRPC: %v, want InvalidArgument", err)
	}
}

func TestBodyLimitWithoutContentLength(t *testing.T) {
	const limit = 200
	svc := newService(t, defaults(t, "--max-body-bytes", fmt.Sprint(limit)), nil)
	big := request("x", `"pad":"`+strings.Repeat("x", limit)+`"`, "")
	for _, chunked := range []bool{false, true} {
		r := httptest.NewRequest(http.MethodPost, "/sync", bytes.NewReader(big))
		r.Header.Set("Content-Type", "application/json")
		if chunked {
			r.ContentLength = -1 // read until the limit, as for a chunked body
		}
		w := httptest.NewRecorder()
		svc.HTTP.ServeHTTP(w, r)
		if w.Code != http.StatusRequestEntityTooLarge || !strings.Contains(w.Body.String(), "larger than 200 bytes") {
			t.Errorf("chunked=%v: %d %s", chunked, w.Code, w.Body)
		}
	}
	// Exactly at the limit is fine.
	at := request("x", `"pad":"`+strings.Repeat("y", limit-len(request("x", `"pad":""`, "")))+`"`, "")
	if len(at) != limit {
		t.Fatalf("test body is %d bytes", len(at))
	}
	if w := post(svc.HTTP, "/sync", at); w.Code != 200 {
		t.Errorf("a body of exactly --max-body-bytes: %d %s", w.Code, w.Body)
	}
}

func TestFinalizeFunc(t *testing.T) {
	l := testLayer(nil)
	l.Finalize = func(context.Context, *req) (*resp, error) {
		return &resp{Finalized: false, Status: &v1.VitessClusterStatus{Cells: 42}}, nil
	}
	svc, err := New(context.Background(), l, defaults(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	w := post(svc.HTTP, "/finalize", minimal)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"cells":42`) || strings.Contains(w.Body.String(), `"finalized":true`) {
		t.Errorf("a layer's own Finalize decides finalized: %d %s", w.Code, w.Body)
	}
}

func TestETagHeaderForms(t *testing.T) {
	svc := newService(t, defaults(t, "--etag"), nil)
	tag := post(svc.HTTP, "/sync", minimal).Header().Get("ETag")
	if !strings.HasPrefix(tag, `"`) || !strings.HasSuffix(tag, `"`) || len(tag) < 10 {
		t.Fatalf("ETag %q is not a quoted entity tag", tag)
	}
	tests := []struct {
		ifNoneMatch string
		code        int
	}{
		{tag, 304},
		{"W/" + tag, 304},
		{`"other", ` + tag, 304},
		{`"other"`, 200},
		{"*", 200}, // says nothing about what the client holds
		{strings.Trim(tag, `"`), 200},
	}
	for _, tt := range tests {
		w := post(svc.HTTP, "/sync", minimal, "If-None-Match", tt.ifNoneMatch)
		if w.Code != tt.code {
			t.Errorf("If-None-Match %s: %d, want %d", tt.ifNoneMatch, w.Code, tt.code)
		}
		if got := w.Header().Get("ETag"); got != tag {
			t.Errorf("If-None-Match %s: ETag %q, want %q on 200 and 304 alike", tt.ifNoneMatch, got, tag)
		}
	}
	// The same request through the finalize hook or the gateway route of
	// sync: the gateway route is the same hook, finalize is not.
	if w := post(svc.HTTP, "/hooks/cluster/sync", minimal, "If-None-Match", tag); w.Code != 304 {
		t.Errorf("the sync hook's gateway route: %d, want 304", w.Code)
	}
	// Errors never carry a tag.
	w := post(svc.HTTP, "/sync", []byte(`{`), "If-None-Match", tag)
	if w.Code != 400 || w.Header().Get("ETag") != "" {
		t.Errorf("a refused request: %d, ETag %q", w.Code, w.Header().Get("ETag"))
	}
	// Without --etag there are no tags and no 304s.
	plain := newService(t, defaults(t), nil)
	w = post(plain.HTTP, "/sync", minimal, "If-None-Match", tag)
	if w.Code != 200 || w.Header().Get("ETag") != "" {
		t.Errorf("ETags off: %d, ETag %q", w.Code, w.Header().Get("ETag"))
	}
}

func TestNotModifiedOutcome(t *testing.T) {
	svc := newService(t, defaults(t, "--etag"), nil)
	tag := post(svc.HTTP, "/sync", minimal).Header().Get("ETag")
	post(svc.HTTP, "/sync", minimal, "If-None-Match", tag)
	w := httptest.NewRecorder()
	svc.HTTP.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if want := `vtmeta_hook_duration_seconds_count{hook="sync",layer="cluster",outcome="not_modified"} 1`; !strings.Contains(w.Body.String(), want) {
		t.Errorf("/metrics lacks %s", want)
	}
}

func TestNewHandlerOptions(t *testing.T) {
	l := testLayer(nil)
	h, err := NewHandler(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	if w := post(h, "/sync", minimal); w.Code != 200 || w.Header().Get("ETag") != "" {
		t.Errorf("default handler: %d, ETag %q", w.Code, w.Header().Get("ETag"))
	}
	o := DefaultOptions()
	o.ETag, o.SyncPath = true, "/custom/sync"
	if h, err = NewHandler(context.Background(), l, o); err != nil {
		t.Fatal(err)
	}
	if w := post(h, "/custom/sync", minimal); w.Code != 200 || w.Header().Get("ETag") == "" {
		t.Errorf("handler with options: %d, ETag %q", w.Code, w.Header().Get("ETag"))
	}
	if w := post(h, "/sync", minimal); w.Code != 404 {
		t.Errorf("the default path with --sync-path moved: %d", w.Code)
	}
	var zero Options
	if _, err := NewHandler(context.Background(), l, zero); err == nil {
		t.Error("zero Options accepted (no body limit would refuse every request)")
	}
	l.ParentKind = ""
	if _, err := NewHandler(context.Background(), l); err == nil {
		t.Error("a layer without ParentKind accepted")
	}
}

func TestHookPaths(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string // from ParseOptions or New
		post    map[string]int
	}{
		{"root sync path matches only /", []string{"--sync-path", "/"}, "",
			map[string]int{"/": 200, "/other": 404, "/finalize": 200, "/hooks/cluster/sync": 200}},
		{"nested paths", []string{"--sync-path", "/a/sync", "--finalize-path", "/a/finalize"}, "",
			map[string]int{"/a/sync": 200, "/a/finalize": 200, "/sync": 404}},
		{"same as the own route", []string{"--sync-path", "/hooks/cluster/sync"}, "",
			map[string]int{"/hooks/cluster/sync": 200}},
		{"the other hook's route", []string{"--sync-path", "/hooks/cluster/finalize"}, "finalize hook's route", nil},
		{"reserved", []string{"--sync-path", "/metrics"}, "served by the runtime", nil},
		{"pattern", []string{"--sync-path", "/{x}"}, "plain path", nil},
		{"relative", []string{"--finalize-path", "fin"}, "start with /", nil},
		{"unclean", []string{"--finalize-path", "/a/../fin"}, "clean path", nil},
		{"same", []string{"--sync-path", "/h", "--finalize-path", "/h"}, "distinct", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := ParseOptions("t", tt.args, func(string) string { return "" }, io.Discard)
			var svc *Service
			if err == nil {
				svc, err = New(context.Background(), testLayer(nil), o, nil)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for path, code := range tt.post {
				if w := post(svc.HTTP, path, minimal); w.Code != code {
					t.Errorf("POST %s: %d, want %d", path, w.Code, code)
				}
			}
		})
	}
}

func TestUsageNamesEnvironment(t *testing.T) {
	var out bytes.Buffer
	_, err := ParseOptions("vtmeta-cluster", []string{"-h"}, func(string) string { return "" }, &out)
	if err != flag.ErrHelp {
		t.Fatalf("-h: %v", err)
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	new(Options).Bind(fs)
	fs.VisitAll(func(f *flag.Flag) {
		if !strings.Contains(out.String(), "-"+f.Name) || !strings.Contains(out.String(), envName(f.Name)) {
			t.Errorf("-h does not list --%s with %s", f.Name, envName(f.Name))
		}
	})
}

func TestEnvironmentFillsEveryOption(t *testing.T) {
	env := map[string]string{
		"VTMETA_HTTP_ADDR": "127.0.0.1:1", "VTMETA_GRPC_ADDR": "127.0.0.1:2",
		"VTMETA_SYNC_PATH": "/s", "VTMETA_FINALIZE_PATH": "/f", "VTMETA_MAX_BODY_BYTES": "1234", "VTMETA_MAX_INFLIGHT_BODY_BYTES": "5678", "VTMETA_MAX_ANSWER_BYTES": "910",
		"VTMETA_READ_TIMEOUT": "1s", "VTMETA_WRITE_TIMEOUT": "2s", "VTMETA_IDLE_TIMEOUT": "3s",
		"VTMETA_SHUTDOWN_DELAY": "4s", "VTMETA_SHUTDOWN_TIMEOUT": "5s",
		"VTMETA_TLS_CERT_FILE": "c", "VTMETA_TLS_KEY_FILE": "k", "VTMETA_CLIENT_CA_FILE": "ca",
		"VTMETA_BEARER_TOKEN_FILE": "t", "VTMETA_ETAG": "true",
		"VTMETA_LOG_FORMAT": "text", "VTMETA_LOG_LEVEL": "debug", "VTMETA_VERSION": "true",
	}
	o, err := ParseOptions("t", nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := Options{
		HTTPAddr: "127.0.0.1:1", GRPCAddr: "127.0.0.1:2", SyncPath: "/s", FinalizePath: "/f", MaxBodyBytes: 1234, MaxInflightBodyBytes: 5678, MaxAnswerBytes: 910,
		ReadTimeout: time.Second, WriteTimeout: 2 * time.Second, IdleTimeout: 3 * time.Second,
		ShutdownDelay: 4 * time.Second, ShutdownTimeout: 5 * time.Second,
		TLSCertFile: "c", TLSKeyFile: "k", ClientCAFile: "ca", BearerTokenFile: "t", ETag: true,
		LogFormat: "text", LogLevel: "debug", Version: true,
	}
	if o != want {
		t.Errorf("from the environment:\n got %+v\nwant %+v", o, want)
	}
	if _, err := ParseOptions("t", []string{"--shutdown-timeout", "-1s"}, func(string) string { return "" }, io.Discard); err == nil {
		t.Error("a negative timeout accepted")
	}
}

func TestOneLogLinePerCall(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	svc, err := New(context.Background(), testLayer(nil), defaults(t), log)
	if err != nil {
		t.Fatal(err)
	}
	body := fixture(t, "original-example-sync-cluster.request.json")
	ok := post(svc.HTTP, "/sync", body)
	post(svc.HTTP, "/sync", request("x", `"spec":{"cells":3}`, ""))
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines for 2 calls:\n%s", len(lines), logs.String())
	}
	var first, second map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{
		"layer": "cluster", "hook": "sync", "outcome": "ok", "parent": "default/vitess",
		"children": float64(2), "bytes_in": float64(len(body)), "bytes_out": float64(ok.Body.Len()),
	} {
		if first[k] != v {
			t.Errorf("log %s = %v, want %v (line %s)", k, first[k], v, lines[0])
		}
	}
	if _, ok := first["duration"]; !ok {
		t.Errorf("log line without duration: %s", lines[0])
	}
	if second["outcome"] != "invalid_request" || !strings.Contains(second["error"].(string), "parent.spec.cells") || second["level"] != "WARN" {
		t.Errorf("refused call's log line: %s", lines[1])
	}
}

func TestReadyzTurnsOffOnShutdown(t *testing.T) {
	o := defaults(t, "--shutdown-delay", "2s")
	a, cancel, done := serve(t, o, nil)
	readyz := func() int {
		r, err := http.Get("http://" + a.HTTP.String() + "/readyz")
		if err != nil {
			return 0
		}
		r.Body.Close()
		return r.StatusCode
	}
	if c := readyz(); c != 200 {
		t.Fatalf("/readyz while serving: %d", c)
	}
	cancel() // SIGTERM
	deadline := time.Now().Add(time.Second)
	for readyz() != 503 {
		if time.Now().After(deadline) {
			t.Fatal("/readyz did not turn 503 during the shutdown delay")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Hooks are still answered during the delay.
	r, err := http.Post("http://"+a.HTTP.String()+"/sync", "application/json", bytes.NewReader(minimal))
	if err != nil || r.StatusCode != 200 {
		t.Errorf("a hook during the shutdown delay: %v %v", r, err)
	}
	if r != nil {
		r.Body.Close()
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the shutdown delay")
	}
}

// BenchmarkHTTPPath measures what the runtime adds around a layer: the
// middleware, the gateway and kjson's decoding of the real original-example
// request, with a layer that answers at once. It reports x-valid, the
// ratio to scanning the same bytes once with encoding/json.Valid.
func BenchmarkHTTPPath(b *testing.B) {
	body, err := os.ReadFile(fixtures + "original-example-sync-cluster.request.json")
	if err != nil {
		b.Fatal(err)
	}
	fixed := &resp{Status: &v1.VitessClusterStatus{Cells: 1}, Children: []*v1.Raw{{Json: []byte(`{"apiVersion":"vitess.io/v1alpha1","kind":"VitessCell","metadata":{"name":"x"}}`)}}}
	h, err := NewHandler(context.Background(), testLayer(func(context.Context, *req) (*resp, error) {
		return proto.CloneOf(fixed), nil
	}))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	var hook, valid time.Duration
	for b.Loop() {
		start := time.Now()
		r := httptest.NewRequest(http.MethodPost, "/sync", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
		mid := time.Now()
		if !json.Valid(body) {
			b.Fatal("fixture is not JSON")
		}
		hook, valid = hook+mid.Sub(start), valid+time.Since(mid)
	}
	if valid > 0 {
		b.ReportMetric(float64(hook)/float64(valid), "x-valid")
	}
}
