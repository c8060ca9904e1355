package hook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
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

// TestHostileEnvelopes are requests Metacontroller could not have sent: each
// gets a 4xx naming what is wrong, and the layer is never called.
func TestHostileEnvelopes(t *testing.T) {
	called := false
	svc := newService(t, defaults(t), func(context.Context, *req) (*resp, error) {
		called = true
		return &resp{}, nil
	})
	cell := `"VitessCell.vitess.io/v1alpha1"`
	with := func(parent, children string) string {
		return `{"parent":{` + parent + `},"children":{` + children + `}}`
	}
	const id = `"apiVersion":"vitess.io/v1alpha1","kind":"VitessCluster"`
	meta := func(name, ns string) string { return `"metadata":{"name":"` + name + `","namespace":"` + ns + `"}` }
	ok := id + "," + meta("x", "db")
	tests := []struct {
		name, contentType, body string
		code                    int
		msg                     string
	}{
		// Names (finding 5) and labels (finding 2, 4).
		{"name with invalid UTF-8", "", with(id+",\"metadata\":{\"name\":\"\xff\",\"namespace\":\"db\"}", cell+":{}"), 400, "not a DNS-1123 label"},
		{"name in uppercase", "", with(id+","+meta("Vitess", "db"), cell+":{}"), 400, `parent.metadata.name "Vitess" is not a DNS-1123 label`},
		{"name in unicode", "", with(id+","+meta("vitéss", "db"), cell+":{}"), 400, "not a DNS-1123 label"},
		{"name with a slash", "", with(id+","+meta("a/b", "db"), cell+":{}"), 400, "not a DNS-1123 label"},
		{"name with a dot", "", with(id+","+meta("a.b", "db"), cell+":{}"), 400, "not a DNS-1123 label"},
		{"name of 300 characters", "", with(id+","+meta(strings.Repeat("a", 300), "db"), cell+":{}"), 400, "must be no more than 63 characters"},
		{"name of 8 MB", "", with(id+","+meta(strings.Repeat("a", 8<<20), "db"), cell+":{}"), 400, "must be no more than 63 characters"},
		{"no namespace", "", with(id+`,"metadata":{"name":"x"}`, cell+":{}"), 400, `parent.metadata.namespace ""`},
		{"namespace with a slash", "", with(id+","+meta("x", "a/b"), cell+":{}"), 400, `parent.metadata.namespace "a/b"`},
		{"two names", "", with(id+`,"metadata":{"name":"x","namespace":"db","name":"y"}`, cell+":{}"), 400, "parent.metadata.name: duplicate key"},
		{"two specs", "", with(ok+`,"spec":{},"spec":{"cells":[]}`, cell+":{}"), 400, "parent.spec: duplicate key"},
		// Observed children (finding 6).
		{"children null", "", `{"parent":{` + ok + `},"children":null}`, 400, `children["VitessCell.vitess.io/v1alpha1"] is missing or null`},
		{"no children", "", `{"parent":{` + ok + `}}`, 400, "is missing or null"},
		{"a child type null", "", with(ok, cell+":null"), 400, "children.VitessCell.vitess.io/v1alpha1: want an object, got null"},
		{"a child null", "", with(ok, cell+`:{"x":null}`), 400, "children.VitessCell.vitess.io/v1alpha1.x: want an object, got null"},
		{"a child without a name", "", with(ok, cell+`:{"x":{"apiVersion":"vitess.io/v1alpha1","kind":"VitessCell","metadata":{"name":null}}}`), 400, "metadata.name is missing"},
		{"a child under another key", "", with(ok, cell+`:{},"Pod.v1":{"p":{"apiVersion":"vitess.io/v1alpha1","kind":"VitessCell","metadata":{"name":"p"}}}`), 400, `children["Pod.v1"]`},
		{"a child of another type", "", with(ok, cell+`:{"p":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"}}}`), 400, "is a Pod.v1"},
		{"a child under another name", "", with(ok, cell+`:{"a":{"apiVersion":"vitess.io/v1alpha1","kind":"VitessCell","metadata":{"name":"b"}}}`), 400, "neither the child's name"},
		{"two children under one key", "", with(ok, cell+`:{"a":{},"a":{}}`), 400, "duplicate key"},
		{"one child under both hook versions' keys", "", with(ok, cell+`:{"a":{"apiVersion":"vitess.io/v1alpha1","kind":"VitessCell","metadata":{"name":"a","namespace":"db"}},`+
			`"db/a":{"apiVersion":"vitess.io/v1alpha1","kind":"VitessCell","metadata":{"name":"a","namespace":"db"}}}`), 400, `VitessCell "a" is listed twice, under "a" and "db/a"`},
		// The envelope (finding 7).
		{"trailing bytes", "", with(ok, cell+":{}") + "xyz", 400, "after the top-level object"},
		{"trailing object", "", with(ok, cell+":{}") + "{}", 400, "after the top-level object"},
		{"text/plain", "text/plain", with(ok, cell+":{}"), 415, `Content-Type "text/plain"`},
		{"no content type", "-", with(ok, cell+":{}"), 415, `Content-Type ""`},
		{"form", "application/x-www-form-urlencoded", with(ok, cell+":{}"), 415, "application/json"},
		{"no kind", "", with(`"apiVersion":"vitess.io/v1alpha1",`+meta("x", "db"), cell+":{}"), 400, `parent.kind is ""`},
		{"no apiVersion", "", with(`"kind":"VitessCluster",`+meta("x", "db"), cell+":{}"), 400, `parent.apiVersion is ""`},
		{"apps/v1", "", with(`"apiVersion":"apps/v1","kind":"VitessCluster",`+meta("x", "db"), cell+":{}"), 400, `parent.apiVersion is "apps/v1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called = false
			r := httptest.NewRequest(http.MethodPost, "/sync", strings.NewReader(tt.body))
			switch tt.contentType {
			case "":
				r.Header.Set("Content-Type", "application/json")
			case "-":
			default:
				r.Header.Set("Content-Type", tt.contentType)
			}
			w := httptest.NewRecorder()
			svc.HTTP.ServeHTTP(w, r)
			var answer struct{ Error string }
			_ = json.Unmarshal(w.Body.Bytes(), &answer)
			if w.Code != tt.code || !strings.Contains(answer.Error, tt.msg) {
				t.Errorf("got %d %.300s, want %d mentioning %q", w.Code, w.Body, tt.code, tt.msg)
			}
			if called {
				t.Error("the layer was called")
			}
			if w.Body.Len() > 2000 {
				t.Errorf("the answer is %d bytes: a message must not echo what it refuses", w.Body.Len())
			}
		})
	}
	if got := scrape(t, svc); strings.Contains(got, "vtmeta_parent_ready{") {
		t.Errorf("a refused request reached vtmeta_parent_ready:\n%s", grep(got, "vtmeta_parent_ready{"))
	}
	// The service still answers.
	if w := post(svc.HTTP, "/sync", request("x", "", "")); w.Code != 200 {
		t.Errorf("after the hostile requests: %d %s", w.Code, w.Body)
	}
}

// TestPanicsOutsideTheLayerAre500s covers the part of a call around the
// layer: a panic there costs the call a 500, not the connection, and the
// service goes on.
func TestPanicsOutsideTheLayerAre500s(t *testing.T) {
	l := testLayer(nil)
	register := l.Register
	l.Register = func(ctx context.Context, g GRPCRegistrar, mux *GatewayMux, s *Server[*req, *resp]) error {
		if err := register(ctx, g, mux, s); err != nil {
			return err
		}
		return mux.HandlePath(http.MethodPost, "/hooks/cluster/finalize", func(http.ResponseWriter, *http.Request, map[string]string) {
			panic("the gateway broke")
		})
	}
	svc, err := New(context.Background(), l, defaults(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	svc.SetReady(true)
	srv := httptest.NewServer(svc.HTTP)
	defer srv.Close()
	for range 2 {
		r, err := http.Post(srv.URL+"/finalize", "application/json", bytes.NewReader(request("x", "", "")))
		if err != nil {
			t.Fatalf("the connection broke: %v", err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != 500 || !strings.Contains(string(b), "panicked: the gateway broke") {
			t.Errorf("%d %s, want a 500 naming the panic", r.StatusCode, b)
		}
	}
	r, err := http.Post(srv.URL+"/sync", "application/json", bytes.NewReader(request("x", "", "")))
	if err != nil || r.StatusCode != 200 {
		t.Fatalf("the service must go on: %v %v", r, err)
	}
	r.Body.Close()
}

// TestBodyMemoryFollowsTheBytesSent: a client that declares a large body
// and sends a small one costs what it sent.
func TestBodyMemoryFollowsTheBytesSent(t *testing.T) {
	svc := newService(t, defaults(t), nil)
	body := request("x", `"pad":"`+strings.Repeat("p", 1<<10)+`"`, "")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range 8 {
		r := httptest.NewRequest(http.MethodPost, "/sync", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.ContentLength = 16 << 20 // declared, never sent
		svc.HTTP.ServeHTTP(httptest.NewRecorder(), r)
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 4<<20 {
		t.Errorf("8 requests declaring 16 MiB and sending %d bytes allocated %d MiB", len(body), got>>20)
	}
}

// TestBodiesInFlightAreBounded: slow clients holding bodies open spend the
// budget; one more gets 503 at once, and the budget comes back when they
// finish.
func TestBodiesInFlightAreBounded(t *testing.T) {
	const limit = 256 << 10
	svc := newService(t, defaults(t, "--max-body-bytes", fmt.Sprint(limit), "--max-inflight-body-bytes", fmt.Sprint(limit)), nil)
	srv := httptest.NewServer(svc.HTTP)
	defer srv.Close()
	// Each slow client declares the largest body and sends 200 KiB of it,
	// so its buffer grows to 256 KiB: the budget holds one.
	var wg sync.WaitGroup
	release := make(chan struct{})
	slow := func() *http.Response {
		pr, pw := io.Pipe()
		go func() {
			_, _ = pw.Write(bytes.Repeat([]byte(" "), 200<<10))
			<-release
			_, _ = pw.Write(request("x", "", ""))
			pw.Close()
		}()
		r, _ := http.NewRequest(http.MethodPost, srv.URL+"/sync", pr)
		r.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Error(err)
			return nil
		}
		return resp
	}
	first := make(chan *http.Response, 1)
	wg.Add(1)
	go func() { defer wg.Done(); first <- slow() }()
	deadline := time.Now().Add(5 * time.Second)
	for svc.bodies.take(1) {
		svc.bodies.give(1)
		if time.Now().After(deadline) {
			t.Fatal("the slow client never took the budget")
		}
		time.Sleep(10 * time.Millisecond)
	}
	r, err := http.Post(srv.URL+"/sync", "application/json", bytes.NewReader(request("x", "", "")))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 503 || r.Header.Get("Retry-After") == "" || !strings.Contains(string(b), "--max-inflight-body-bytes") {
		t.Errorf("with the budget spent: %d %s, want 503 with Retry-After", r.StatusCode, b)
	}
	m := httptest.NewRecorder()
	svc.HTTP.ServeHTTP(m, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if want := `vtmeta_hook_duration_seconds_count{hook="sync",layer="cluster",outcome="busy"} 1`; !strings.Contains(m.Body.String(), want) {
		t.Errorf("the shed call is not counted as %s", want)
	}
	close(release)
	wg.Wait()
	if resp := <-first; resp == nil || resp.StatusCode != 200 {
		t.Errorf("the slow client: %v", resp)
	} else {
		resp.Body.Close()
	}
	if r, err := http.Post(srv.URL+"/sync", "application/json", bytes.NewReader(request("x", "", ""))); err != nil || r.StatusCode != 200 {
		t.Errorf("after the slow client: %v %v", r, err)
	} else {
		r.Body.Close()
	}
}

// TestManyDeclaredHugeBodiesOverSockets is the attack of the issue, scaled
// down: connections declare 16 MiB, send 1 KiB and stall; the heap stays
// near what they sent.
func TestManyDeclaredHugeBodiesOverSockets(t *testing.T) {
	svc := newService(t, defaults(t), nil)
	srv := httptest.NewServer(svc.HTTP)
	defer srv.Close()
	var before, during runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const conns = 32
	var open []net.Conn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	for range conns {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
		fmt.Fprintf(c, "POST /sync HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", 16<<20, bytes.Repeat([]byte(" "), 1<<10))
	}
	time.Sleep(300 * time.Millisecond) // let the server read what was sent
	runtime.ReadMemStats(&during)
	if grew := int64(during.HeapAlloc) - int64(before.HeapAlloc); grew > 16<<20 {
		t.Errorf("%d connections that declared 16 MiB and sent 1 KiB grew the heap by %d MiB", conns, grew>>20)
	}
}

// TestParentSeriesAreBounded: vtmeta_parent_ready keeps at most MaxParents
// series per layer, dropping the least recently synced and counting it.
func TestParentSeriesAreBounded(t *testing.T) {
	m := NewMetrics()
	m.MaxParents = 3
	now := time.Now()
	for i := range 5 {
		m.setParent(parentKey{"cluster", "db", fmt.Sprintf("p%d", i)}, parentState{ready: true}, now)
	}
	m.setParent(parentKey{"cell", "db", "c"}, parentState{ready: true}, now) // other layers keep their own
	m.setParent(parentKey{"cluster", "db", "p2"}, parentState{ready: true}, now)
	m.setParent(parentKey{"cluster", "db", "p5"}, parentState{ready: true}, now)
	var out bytes.Buffer
	if err := writeMetrics(&out, m); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{`name="p2"`, `name="p4"`, `name="p5"`, `layer="cell",name="c"`, `vtmeta_parent_series_dropped_total{layer="cluster"} 3`} {
		if !strings.Contains(got, want) {
			t.Errorf("no %s in\n%s", want, grep(got, "vtmeta_parent"))
		}
	}
	for _, gone := range []string{`name="p0"`, `name="p1"`, `name="p3"`} {
		if strings.Contains(got, gone) {
			t.Errorf("%s kept:\n%s", gone, grep(got, "vtmeta_parent"))
		}
	}
}

func TestSafeLabel(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"db/x", "db/x"},
		{"\xff", "\uFFFD"},
		{strings.Repeat("é", 200), strings.Repeat("é", 125) + "..."},
	} {
		if got := safeLabel(tt.in); got != tt.want {
			t.Errorf("safeLabel(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// writeMetrics writes m's registry in the text format.
func writeMetrics(w io.Writer, m *Metrics) error {
	mfs, err := m.Registry.Gather()
	if err != nil {
		return err
	}
	for _, mf := range mfs {
		for _, metric := range mf.GetMetric() {
			var labels []string
			for _, l := range metric.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			v := metric.GetGauge().GetValue() + metric.GetCounter().GetValue()
			fmt.Fprintf(w, "%s{%s} %g\n", mf.GetName(), strings.Join(labels, ","), v)
		}
	}
	return nil
}

func scrape(t *testing.T, svc *Service) string {
	t.Helper()
	w := httptest.NewRecorder()
	svc.HTTP.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	return w.Body.String()
}

// grep keeps the lines of s that contain sub.
func grep(s, sub string) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestReadBodyHoldsWhatArrives: the buffer, and the budget it takes, grow
// with the bytes that arrive, never past the declared length (plus the one
// byte that tells a longer body) nor the limit.
func TestReadBodyHoldsWhatArrives(t *testing.T) {
	const limit = 1 << 20
	for _, tc := range []struct {
		name             string
		declared, actual int64
		wantLen          int64
		mostHeld         int64
	}{
		{"small, declared", 100, 100, 100, 101},
		{"declared 16 MiB, sends 1 KiB", 16 << 20, 1 << 10, 1 << 10, firstRead},
		{"declared 640 KB, sends it", 640_000, 640_000, 640_000, 640_001},
		{"unknown length", -1, 300_000, 300_000, 512 << 10},
		{"over the limit", -1, 3 << 20, limit + 1, limit + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBudget(64 << 20)
			data, held, err := readBody(bytes.NewReader(make([]byte, tc.actual)), tc.declared, limit, b)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(data)) != tc.wantLen {
				t.Errorf("read %d bytes, want %d", len(data), tc.wantLen)
			}
			if held != int64(cap(data)) || held > tc.mostHeld {
				t.Errorf("held %d for a buffer of %d, want the buffer's capacity and at most %d", held, cap(data), tc.mostHeld)
			}
			b.give(held)
			if !b.take(64 << 20) {
				t.Error("the budget did not come back whole")
			}
		})
	}
}

// TestGRPCCallsInFlightAreBounded: each gRPC stream holds --max-body-bytes
// of the gRPC budget from its headers to its end, so streams that stall
// before sending their message cannot make the service hold more than the
// budget; a call past it, of any method (a health check's message may be as
// large as a hook's), is refused before its message is read, and the
// budget comes back when a stream ends.
func TestGRPCCallsInFlightAreBounded(t *testing.T) {
	const limit = 64 << 10
	o := defaults(t, "--max-body-bytes", fmt.Sprint(limit), "--max-inflight-body-bytes", fmt.Sprint(2*limit))
	a, _, _ := serve(t, o, func(_ context.Context, _ *req) (*resp, error) { return &resp{}, nil })
	conn, err := grpc.NewClient(a.GRPC.String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := v1.NewClusterServiceClient(conn)
	if _, err := c.Sync(context.Background(), named("first", nil)); err != nil {
		t.Fatalf("a call with the budget free: %v", err)
	}
	// Two streams send their headers and stall: the budget holds two.
	var cancels []context.CancelFunc
	defer func() {
		for _, cancel := range cancels {
			cancel()
		}
	}()
	for range 2 {
		ctx, cancel := context.WithCancel(context.Background())
		cancels = append(cancels, cancel)
		if _, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true}, v1.ClusterService_Sync_FullMethodName); err != nil {
			t.Fatal(err)
		}
	}
	var busy error
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) { // the stalled streams' headers reach the server
		if _, busy = c.Sync(context.Background(), named("third", nil)); busy != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if status.Code(busy) != codes.Unavailable || !strings.Contains(busy.Error(), "--max-inflight-body-bytes") {
		t.Fatalf("a call with the budget held by stalled streams: %v, want Unavailable naming --max-inflight-body-bytes", busy)
	}
	m, err := http.Get("http://" + a.HTTP.String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(m.Body)
	m.Body.Close()
	if want := `vtmeta_hook_duration_seconds_count{hook="sync",layer="cluster",outcome="busy"} 1`; !strings.Contains(string(text), want) {
		t.Errorf("the refused call is not counted as %s:\n%s", want, grep(string(text), "outcome="))
	}
	if _, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{}); status.Code(err) != codes.Unavailable {
		t.Errorf("grpc health with the budget spent: %v, want Unavailable: its message would not be bounded", err)
	}
	// One stream ends: its share comes back.
	cancels[0]()
	var after error = busy
	for deadline := time.Now().Add(5 * time.Second); after != nil && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		_, after = c.Sync(context.Background(), named("after", nil))
	}
	if after != nil {
		t.Errorf("after a stalled stream ended: %v, want the call served", after)
	}
	if h, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("grpc health with budget free: %v %v, want SERVING", h, err)
	}
}

// TestAnswersInFlightAreBounded: a layer whose answers are many times
// their requests' size holds twice its estimate of the in-flight budget
// while a call runs; calls past the budget get 503 before the layer builds
// anything, the layer learns the answer limit, and the budget comes back.
func TestAnswersInFlightAreBounded(t *testing.T) {
	const inflight = 1 << 20
	o := defaults(t, "--max-body-bytes", fmt.Sprint(inflight/4), "--max-inflight-body-bytes", fmt.Sprint(inflight), "--max-answer-bytes", fmt.Sprint(inflight))
	started, release := make(chan int64, 8), make(chan struct{})
	l := testLayer(func(ctx context.Context, r *req) (*resp, error) {
		started <- hookctx.AnswerLimit(ctx)
		<-release
		return &resp{}, nil
	})
	// Each call estimates a third of the budget: two fit (held twice).
	l.Estimate = func(*req) int64 { return inflight / 6 }
	svc, err := New(context.Background(), l, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc.SetReady(true)
	var wg sync.WaitGroup
	codes := make(chan int, 3)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- post(svc.HTTP, "/sync", request("db", "", "")).Code
		}()
	}
	for range 2 {
		if limit := <-started; limit != inflight/2 {
			t.Errorf("the layer learned an answer limit of %d, want half the in-flight budget, %d", limit, inflight/2)
		}
	}
	if c := <-codes; c != http.StatusServiceUnavailable {
		t.Errorf("a third call got %d, want 503 while two answers hold the budget", c)
	}
	close(release)
	wg.Wait()
	for range 2 {
		if c := <-codes; c != http.StatusOK {
			t.Errorf("a held call got %d", c)
		}
	}
	if free := freeOf(svc.bodies); free != inflight {
		t.Errorf("%d of %d bytes of the budget came back", free, inflight)
	}
	// Over the limit, nothing is held: the layer refuses and holds its
	// children, an answer no larger than the request.
	l.Estimate = func(*req) int64 { return 10 * inflight }
	svc2, err := New(context.Background(), l, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc2.SetReady(true)
	done := make(chan int, 1)
	go func() { done <- post(svc2.HTTP, "/sync", request("db", "", "")).Code }()
	<-started
	if free := freeOf(svc2.bodies); free < inflight-(64<<10) {
		t.Errorf("an answer over the limit holds %d bytes of the budget, more than its request's buffer", inflight-free)
	}
	if c := <-done; c != http.StatusOK {
		t.Errorf("got %d", c)
	}
}

// freeOf reads a budget's free bytes.
func freeOf(b *budget) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.free
}
