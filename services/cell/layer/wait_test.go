package layer

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// TestWaitForTopology runs the wait's script with sh against a stand-in
// for the topology etcd's HTTP API: it waits while etcd is unhealthy or a
// cell is unregistered, goes on once both are there, and gives up (exit 0,
// the component starts as it would have) after its tries.
func TestWaitForTopology(t *testing.T) {
	for _, tool := range []string{"sh", "wget", "timeout", "grep"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s here: %v", tool, err)
		}
	}
	var calls, registeredAfter atomic.Int32
	var mu sync.Mutex
	var keys []string
	etcd := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch r.URL.Path {
		case "/health":
			if n < 3 {
				io.WriteString(w, `{"health":"false","reason":"RAFT NO LEADER"}`)
				return
			}
			io.WriteString(w, `{"health":"true","reason":""}`)
		case "/v3/kv/range":
			var req struct{ Key string }
			_ = json.NewDecoder(r.Body).Decode(&req)
			k, _ := base64.StdEncoding.DecodeString(req.Key)
			mu.Lock()
			keys = append(keys, string(k))
			mu.Unlock()
			if after := registeredAfter.Load(); after == 0 || n < after {
				io.WriteString(w, `{"header":{"revision":"7"}}`)
				return
			}
			io.WriteString(w, `{"header":{"revision":"9"},"kvs":[{"key":"`+req.Key+`"}],"count":"1"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer etcd.Close()
	b := builder{cfg: &v1.ClusterConfig{Topology: &v1.TopologySpec{
		GlobalServerAddress: strings.TrimPrefix(etcd.URL, "http://"),
		GlobalRoot:          "/vitess/global",
	}}}
	run := func(tries int) string {
		t.Helper()
		argv := b.waitCommand([]string{"zone1"}, tries, 0)
		out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
		if err != nil {
			t.Fatalf("the wait failed: %v\n%s", err, out)
		}
		return string(out)
	}

	registeredAfter.Store(8)
	if out := run(50); !strings.Contains(out, "the topology and cell zone1: ready") {
		t.Errorf("a topology that comes up: %q", out)
	}
	if n := calls.Load(); n < 8 {
		t.Errorf("the wait asked etcd %d times: it went on before the cell was registered", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(keys) == 0 || keys[0] != "/vitess/global/cells/zone1/CellInfo" {
		t.Errorf("the wait asked for %q, want the cell's record /vitess/global/cells/zone1/CellInfo", keys)
	}

	calls.Store(0)
	registeredAfter.Store(0) // never registered
	if out := run(3); !strings.Contains(out, "still waiting for the topology and cell zone1 after 3 tries: starting anyway") {
		t.Errorf("a cell never registered: %q", out)
	}
}
