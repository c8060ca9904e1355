package hook

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/vtmeta/vtmeta/internal/hookctx"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

const fixtures = "../../test/fixtures/metacontroller-v4.17.2/"

type (
	req  = v1.ClusterSyncRequest
	resp = v1.ClusterSyncResponse
)

// testLayer is a cluster layer whose sync returns one child per cell and
// reports an invalid spec when the cluster has no cells.
func testLayer(sync Func[*req, *resp]) Layer[*req, *resp] {
	if sync == nil {
		sync = func(ctx context.Context, r *req) (*resp, error) {
			cells := r.GetParent().GetSpec().GetCells()
			if len(cells) == 0 {
				hookctx.ReportInvalid(ctx, "NoCells")
				return &resp{}, nil
			}
			out := &resp{Status: &v1.VitessClusterStatus{Cells: int32(len(cells))}}
			for _, c := range cells {
				out.Children = append(out.Children, &v1.Raw{Json: []byte(`{"apiVersion":"vitess.io/v1alpha1","kind":"VitessCell","metadata":{"name":"` + c.GetName() + `"}}`)})
			}
			return out, nil
		}
	}
	return Layer[*req, *resp]{
		Name: "cluster", ParentKind: "VitessCluster", ChildTypes: []string{"VitessCell.vitess.io/v1alpha1"}, Sync: sync,
		Register: func(ctx context.Context, g GRPCRegistrar, mux *GatewayMux, s *Server[*req, *resp]) error {
			v1.RegisterClusterServiceServer(g, s)
			return v1.RegisterClusterServiceHandlerServer(ctx, mux, s)
		},
	}
}

// request is a request Metacontroller could send for a VitessCluster
// named name in namespace db, with no children: parent and envelope add
// members (JSON text) to the parent and to the request.
func request(name, parent, envelope string) []byte {
	if parent != "" {
		parent = "," + parent
	}
	if envelope != "" {
		envelope = "," + envelope
	}
	return []byte(`{"parent":{"apiVersion":"vitess.io/v1alpha1","kind":"VitessCluster","metadata":{"name":"` + name + `","namespace":"db"}` +
		parent + `},"children":{"VitessCell.vitess.io/v1alpha1":{}}` + envelope + `}`)
}

// named is request as a message, for gRPC calls, with spec.
func named(name string, spec *v1.VitessClusterSpec) *req {
	return &req{
		Parent: &v1.VitessCluster{ApiVersion: APIVersion, Kind: "VitessCluster",
			Metadata: &v1.ObjectMeta{Name: name, Namespace: "db"}, Spec: spec},
		Children: map[string]*v1.ObjectMap{"VitessCell.vitess.io/v1alpha1": {}},
	}
}

func defaults(t *testing.T, args ...string) Options {
	t.Helper()
	o, err := ParseOptions("test", args, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func newService(t *testing.T, o Options, sync Func[*req, *resp]) *Service {
	t.Helper()
	svc, err := New(context.Background(), testLayer(sync), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc.SetReady(true)
	return svc
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(fixtures + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func post(h http.Handler, path string, body []byte, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestFixturesGet200WithStatusAndChildren(t *testing.T) {
	svc := newService(t, defaults(t), nil)
	for _, f := range []string{
		"original-example-sync-cluster.request.json",
		"original-example-v2-sync-cluster.request.json",
		"original-example-v2-finalize-sync-cluster.request.json",
	} {
		for _, path := range []string{"/sync", "/finalize", "/hooks/cluster/sync"} {
			w := post(svc.HTTP, path, fixture(t, f))
			if w.Code != http.StatusOK {
				t.Fatalf("%s %s: %d %s", f, path, w.Code, w.Body)
			}
			var out map[string]json.RawMessage
			if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(out["status"], []byte("{")) || !bytes.HasPrefix(out["children"], []byte("[")) {
				t.Errorf("%s %s: status %s children %s", f, path, out["status"], out["children"])
			}
			if path == "/finalize" && string(out["finalized"]) != "true" {
				t.Errorf("finalize without a Finalize func must answer finalized: true, got %s", w.Body)
			}
		}
	}
}

func TestEmptyResponseStillCarriesStatusAndChildren(t *testing.T) {
	svc := newService(t, defaults(t), func(context.Context, *req) (*resp, error) { return &resp{}, nil })
	w := post(svc.HTTP, "/sync", request("x", "", ""))
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"status":{`) || !strings.Contains(w.Body.String(), `"children":[]`) {
		t.Errorf("%d %s", w.Code, w.Body)
	}
}

func TestBadRequestsGet4xx(t *testing.T) {
	svc := newService(t, defaults(t, "--max-body-bytes", "1000"), nil)
	tests := []struct {
		name, method, body string
		code               int
		msg                string
	}{
		{"malformed", "POST", `{"parent": {`, 400, "invalid JSON"},
		{"wrong type", "POST", string(request("x", `"spec":{"cells":3}`, "")), 400, "parent.spec.cells: want an array"},
		{"wrong kind", "POST", `{"parent":{"kind":"VitessShard","metadata":{"name":"x"}}}`, 400, "serves VitessCluster parents"},
		{"no parent", "POST", `{"children":{}}`, 400, "no parent"},
		{"no name", "POST", `{"parent":{"apiVersion":"vitess.io/v1alpha1","kind":"VitessCluster","metadata":{}}}`, 400, "parent.metadata.name"},
		{"empty body", "POST", ``, 400, "empty"},
		{"too large", "POST", `{"parent":{"metadata":{"name":"` + strings.Repeat("x", 2000) + `"}}}`, 413, "larger than 1000 bytes"},
		{"GET", "GET", ``, 405, "POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "/sync", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			svc.HTTP.ServeHTTP(w, r)
			if w.Code != tt.code || !strings.Contains(w.Body.String(), tt.msg) {
				t.Errorf("got %d %s, want %d mentioning %q", w.Code, w.Body, tt.code, tt.msg)
			}
		})
	}
}

func TestLayerErrorIs500(t *testing.T) {
	svc := newService(t, defaults(t), func(context.Context, *req) (*resp, error) {
		return nil, errors.New("cannot hold child")
	})
	w := post(svc.HTTP, "/sync", request("x", "", ""))
	if w.Code != 500 || !strings.Contains(w.Body.String(), "cannot hold child") {
		t.Errorf("%d %s", w.Code, w.Body)
	}
}

func TestBearerToken(t *testing.T) {
	tok := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tok, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	svc := newService(t, defaults(t, "--bearer-token-file", tok), nil)
	body := request("x", "", "")
	for _, tt := range []struct {
		hdr  []string
		code int
	}{
		{nil, 401},
		{[]string{"Authorization", "Bearer wrong"}, 401},
		{[]string{"Authorization", "Basic s3cret"}, 401},
		{[]string{"Authorization", "Bearer s3cret"}, 200},
	} {
		if w := post(svc.HTTP, "/sync", body, tt.hdr...); w.Code != tt.code {
			t.Errorf("%v: %d %s", tt.hdr, w.Code, w.Body)
		}
	}
	// Health and metrics stay open.
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		w := httptest.NewRecorder()
		svc.HTTP.ServeHTTP(w, httptest.NewRequest("GET", p, nil))
		if w.Code != 200 {
			t.Errorf("%s: %d", p, w.Code)
		}
	}
}

func TestETag(t *testing.T) {
	calls := 0
	svc := newService(t, defaults(t, "--etag"), func(_ context.Context, r *req) (*resp, error) {
		calls++
		return &resp{}, nil
	})
	body := fixture(t, "original-example-sync-cluster.request.json")
	w := post(svc.HTTP, "/sync", body)
	tag := w.Header().Get("ETag")
	if w.Code != 200 || tag == "" {
		t.Fatalf("first call: %d, ETag %q", w.Code, tag)
	}
	w = post(svc.HTTP, "/sync", body, "If-None-Match", tag)
	if w.Code != 304 || w.Body.Len() != 0 || calls != 1 {
		t.Errorf("unchanged request: %d, body %q, %d layer calls", w.Code, w.Body, calls)
	}
	changed := bytes.Replace(body, []byte(`"generation": 2`), []byte(`"generation": 3`), 1)
	w = post(svc.HTTP, "/sync", changed, "If-None-Match", tag)
	if w.Code != 200 || w.Header().Get("ETag") == tag || calls != 2 {
		t.Errorf("changed request: %d, ETag %q, %d calls", w.Code, w.Header().Get("ETag"), calls)
	}
	w = post(svc.HTTP, "/finalize", body, "If-None-Match", tag)
	if w.Code != 200 {
		t.Errorf("the finalize hook shares no tags with sync: %d", w.Code)
	}
}

func TestMetricsExposed(t *testing.T) {
	svc := newService(t, defaults(t), nil)
	post(svc.HTTP, "/sync", fixture(t, "original-example-sync-cluster.request.json"))
	post(svc.HTTP, "/sync", request("x", `"spec":{}`, "")) // invalid spec
	post(svc.HTTP, "/sync", []byte(`{`))
	w := httptest.NewRecorder()
	svc.HTTP.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	text := w.Body.String()
	for _, want := range []string{
		`vtmeta_hook_duration_seconds_bucket{hook="sync",layer="cluster",outcome="ok",le="0.0001"}`,
		`vtmeta_hook_duration_seconds_count{hook="sync",layer="cluster",outcome="invalid_request"} 1`,
		`vtmeta_hook_request_bytes_bucket{hook="sync",layer="cluster"`,
		`vtmeta_hook_response_bytes_bucket{hook="sync",layer="cluster"`,
		`vtmeta_hook_desired_children_bucket{layer="cluster"`,
		`vtmeta_invalid_specs_total{layer="cluster",reason="NoCells"} 1`,
		`vtmeta_hooks_in_flight{layer="cluster"} 0`,
		`vtmeta_build_info{layer="cluster",version="dev"} 1`,
		`go_goroutines`, `process_cpu_seconds_total`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestReadyz(t *testing.T) {
	svc := newService(t, defaults(t), nil)
	svc.SetReady(false)
	w := httptest.NewRecorder()
	svc.HTTP.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	if w.Code != 503 {
		t.Errorf("/readyz while not ready: %d", w.Code)
	}
}

func TestOptionsFlagsAndEnv(t *testing.T) {
	env := map[string]string{"VTMETA_HTTP_ADDR": "127.0.0.1:1", "VTMETA_ETAG": "true", "VTMETA_SYNC_PATH": "/s"}
	o, err := ParseOptions("t", []string{"--http-addr", "127.0.0.1:2"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.HTTPAddr != "127.0.0.1:2" || !o.ETag || o.SyncPath != "/s" || o.GRPCAddr != ":9090" {
		t.Errorf("options %+v: the flag must win over the environment, which fills the rest", o)
	}
	for _, bad := range [][]string{
		{"--tls-cert-file", "c"},
		{"--client-ca-file", "ca"},
		{"--sync-path", "/x", "--finalize-path", "/x"},
		{"--log-format", "xml"},
		{"--max-body-bytes", "0"},
		{"stray"},
	} {
		if _, err := ParseOptions("t", bad, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if _, err := ParseOptions("t", nil, func(k string) string { return map[string]string{"VTMETA_ETAG": "maybe"}[k] }, io.Discard); err == nil || !strings.Contains(err.Error(), "VTMETA_ETAG") {
		t.Errorf("a bad environment value must name the variable: %v", err)
	}
}

// serve runs the service on loopback ports and returns its addresses.
func serve(t *testing.T, o Options, sync Func[*req, *resp]) (Listening, context.CancelFunc, <-chan error) {
	t.Helper()
	o.HTTPAddr, o.GRPCAddr = "127.0.0.1:0", "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan Listening, 1)
	done := make(chan error, 1)
	go func() { done <- Run(ctx, testLayer(sync), o, nil, addrs) }()
	select {
	case a := <-addrs:
		t.Cleanup(cancel)
		return a, cancel, done
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("service did not start")
	}
	return Listening{}, cancel, done
}

func TestGRPC(t *testing.T) {
	a, _, _ := serve(t, defaults(t), nil)
	conn, err := grpc.NewClient(a.GRPC.String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := v1.NewClusterServiceClient(conn)
	out, err := c.Sync(context.Background(), named("x", &v1.VitessClusterSpec{Cells: []*v1.CellSpec{{Name: "a"}}}))
	if err != nil || len(out.GetChildren()) != 1 {
		t.Fatalf("Sync: %v %v", out, err)
	}
	if _, err := c.Sync(context.Background(), &req{}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("a request without parent: %v", err)
	}
	h, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health: %v %v", h, err)
	}
}

func TestGracefulShutdownFinishesInFlightHooks(t *testing.T) {
	started := make(chan struct{})
	a, cancel, done := serve(t, defaults(t), func(context.Context, *req) (*resp, error) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		return &resp{Status: &v1.VitessClusterStatus{Cells: 7}}, nil
	})
	result := make(chan string, 1)
	go func() {
		r, err := http.Post("http://"+a.HTTP.String()+"/sync", "application/json", bytes.NewReader(request("x", "", "")))
		if err != nil {
			result <- err.Error()
			return
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		result <- string(b)
	}()
	<-started
	cancel() // SIGTERM
	if got := <-result; !strings.Contains(got, `"cells":7`) {
		t.Errorf("in-flight hook was cut off: %s", got)
	}
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// certs writes a CA, a server certificate for 127.0.0.1 and a client
// certificate, all signed by the CA.
func certs(t *testing.T) (dir string, client tls.Certificate, pool *x509.CertPool) {
	t.Helper()
	dir = t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test ca"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	pool = x509.NewCertPool()
	pool.AddCert(ca)
	issue := func(serial int64, usage x509.ExtKeyUsage) ([]byte, []byte) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "127.0.0.1"},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kd, _ := x509.MarshalECPrivateKey(key)
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
	}
	sc, sk := issue(2, x509.ExtKeyUsageServerAuth)
	cc, ck := issue(3, x509.ExtKeyUsageClientAuth)
	for name, b := range map[string][]byte{
		"tls.crt": sc, "tls.key": sk,
		"ca.crt": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	client, err = tls.X509KeyPair(cc, ck)
	if err != nil {
		t.Fatal(err)
	}
	return dir, client, pool
}

func TestTLSAndMTLS(t *testing.T) {
	dir, clientCert, pool := certs(t)
	body := string(request("x", "", ""))
	call := func(addr string, certs ...tls.Certificate) (int, error) {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: certs}}, Timeout: 5 * time.Second}
		r, err := c.Post("https://"+addr+"/sync", "application/json", strings.NewReader(body))
		if err != nil {
			return 0, err
		}
		r.Body.Close()
		return r.StatusCode, nil
	}
	o := defaults(t, "--tls-cert-file", filepath.Join(dir, "tls.crt"), "--tls-key-file", filepath.Join(dir, "tls.key"))
	a, _, _ := serve(t, o, nil)
	if code, err := call(a.HTTP.String()); err != nil || code != 200 {
		t.Errorf("HTTPS: %d %v", code, err)
	}
	o.ClientCAFile = filepath.Join(dir, "ca.crt")
	a, _, _ = serve(t, o, nil)
	if _, err := call(a.HTTP.String()); err == nil {
		t.Error("mTLS accepted a client without a certificate")
	}
	if code, err := call(a.HTTP.String(), clientCert); err != nil || code != 200 {
		t.Errorf("mTLS with a client certificate: %d %v", code, err)
	}
}

func TestParentReadyGauge(t *testing.T) {
	ready := true
	svc := newService(t, defaults(t), func(context.Context, *req) (*resp, error) {
		st, rolling, last := "False", "True", ""
		if ready {
			st, rolling, last = "True", "False", "2026-12-05T01:00:00Z"
		}
		return &resp{Status: &v1.VitessClusterStatus{LastBackupTime: &last, Conditions: []*v1.Condition{
			{Type: "Ready", Status: st}, {Type: "Progressing", Status: rolling}, {Type: "Available", Status: "True"}, {Type: "BackedUp", Status: st}}}}, nil
	})
	scrape := func() string {
		w := httptest.NewRecorder()
		svc.HTTP.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
		return w.Body.String()
	}
	body := request("c1", "", "")
	post(svc.HTTP, "/sync", body)
	got := scrape()
	for _, want := range []string{
		`vtmeta_parent_ready{layer="cluster",name="c1",namespace="db"} 1`,
		`vtmeta_parent_backed_up{layer="cluster",name="c1",namespace="db"} 1`,
		`vtmeta_parent_last_backup_timestamp_seconds{layer="cluster",name="c1",namespace="db"} 1.7964324e+09`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("a ready parent backed up at 01:00: no %s in\n%s", want, got)
		}
	}
	ready = false
	post(svc.HTTP, "/sync", body)
	got = scrape()
	if strings.Contains(got, "vtmeta_parent_last_backup_timestamp_seconds{") {
		t.Error("a parent without a last backup time keeps its series")
	}
	for _, want := range []string{
		`vtmeta_parent_ready{layer="cluster",name="c1",namespace="db"} 0`,
		`vtmeta_parent_available{layer="cluster",name="c1",namespace="db"} 1`,
		`vtmeta_parent_progressing{layer="cluster",name="c1",namespace="db"} 1`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("a rolling parent that serves: no %s", want)
		}
	}
	svc.Metrics.Sweep(time.Now().Add(ParentTTL + time.Minute))
	if strings.Contains(scrape(), `name="c1"`) {
		t.Error("a parent not synced for ParentTTL must be forgotten")
	}
	post(svc.HTTP, "/sync", body)
	post(svc.HTTP, "/finalize", request("c1", "", `"finalizing":true`))
	if strings.Contains(scrape(), `name="c1"`) {
		t.Error("a finalized parent must be forgotten")
	}
}
