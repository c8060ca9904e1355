// Command soak is the load driver of the hook services: for each layer it
// starts the service binary as a process on a loopback socket, sends its
// steady-state request from many concurrent clients for a while, and
// reports throughput, latency percentiles, failures and the process's peak
// RSS (VmHWM). Then it does it again on a fresh process while -hostile
// connections are held open that each declare a 16 MiB body and send 1 KiB
// of it, the memory attack of issue 13. What it measures is the full HTTP path over real
// sockets, client included, on this machine.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vtmeta/vtmeta/internal/golden"
	"github.com/vtmeta/vtmeta/internal/kjson"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
	cell "github.com/vtmeta/vtmeta/services/cell/layer"
	cluster "github.com/vtmeta/vtmeta/services/cluster/layer"
	keyspace "github.com/vtmeta/vtmeta/services/keyspace/layer"
	shard "github.com/vtmeta/vtmeta/services/shard/layer"
	tablet "github.com/vtmeta/vtmeta/services/tablet/layer"
	"github.com/vtmeta/vtmeta/test/e2e/manifests"
)

func main() {
	bin := flag.String("bin", "", "directory holding vtmeta-<layer> binaries (empty: build them from this checkout)")
	clients := flag.Int("clients", 200, "concurrent clients")
	duration := flag.Duration("duration", 60*time.Second, "how long each layer is driven")
	hostile := flag.Int("hostile", 128, "connections that declare a 16 MiB body and send 1 KiB, held open during the second run of each layer (0: no second run)")
	only := flag.String("layers", strings.Join(manifests.Layers, ","), "layers to drive, comma-separated")
	shardTablets := flag.Int("shard-tablets", 0, "tablets of the shard layer's request (0: the golden request's 3); 198 makes a request of megabytes")
	worst := flag.Bool("worst", false, "send each layer the worst request it admits instead of its steady one: the spec grown until the layer's answer is just under the services' default --max-answer-bytes (see worst.go)")
	flag.Parse()
	if *worst {
		if err := runWorst(*bin, *clients, *duration, strings.Split(*only, ",")); err != nil {
			fmt.Fprintln(os.Stderr, "soak:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*bin, *clients, *duration, *hostile, strings.Split(*only, ","), *shardTablets); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

func run(bin string, clients int, d time.Duration, hostile int, layers []string, shardTablets int) error {
	bin, done, err := binaries(bin)
	if err != nil {
		return err
	}
	defer done()
	bodies, err := steady(shardTablets)
	if err != nil {
		return err
	}
	fmt.Printf("%d clients for %s per layer and run, each sending the layer's steady request over loopback\n\n", clients, d)
	fmt.Printf("| layer | request | hostile connections | requests/s | p50 | p99 | max | 503 (shed) | other not 200 | peak RSS |\n|---|---|---|---|---|---|---|---|---|---|\n")
	runs := []int{0}
	if hostile > 0 {
		runs = append(runs, hostile)
	}
	for _, l := range layers {
		for _, h := range runs {
			res, err := soak(filepath.Join(bin, "vtmeta-"+l), bodies[l], clients, d, h)
			if err != nil {
				return fmt.Errorf("%s: %w", l, err)
			}
			fmt.Printf("| %s | %d KB | %d | %.0f | %s | %s | %s | %d | %d | %d MB |\n", l, len(bodies[l])>>10, h,
				float64(res.n)/d.Seconds(), res.p(50), res.p(99), res.p(100), res.shed, res.failed, res.peakRSS>>20)
		}
	}
	return nil
}

// binaries is bin, or a temporary directory the services are built into
// when bin is empty; done removes it.
func binaries(bin string) (string, func(), error) {
	if bin != "" {
		return bin, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "vtmeta-soak")
	if err != nil {
		return "", nil, err
	}
	if err := build(dir); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// build builds the five services into dir.
func build(dir string) error {
	args := []string{"build", "-o", dir + "/"}
	for _, l := range manifests.Layers {
		args = append(args, "./services/"+l)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = manifests.Repo()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	for _, l := range manifests.Layers {
		if err := os.Rename(filepath.Join(dir, l), filepath.Join(dir, "vtmeta-"+l)); err != nil {
			return err
		}
	}
	return nil
}

// steady builds each layer's steady-state request from its golden create
// request: every child the layer asks for exists, applied and ready.
func steady(shardTablets int) (map[string][]byte, error) {
	out := map[string][]byte{}
	root := manifests.Repo()
	type layer struct {
		name, file string
		types      []string
		sync       func([]byte) (proto.Message, []*v1.Raw, error)
	}
	for _, l := range []layer{
		{"cluster", "create-original", cluster.Service.ChildTypes, syncWith(cluster.Sync)},
		{"cell", "original-zone1", cell.Service.ChildTypes, syncWith(cell.Sync)},
		{"keyspace", "create-two-shards", keyspace.Service.ChildTypes, syncWith(keyspace.Sync)},
		{"shard", "create-original-x-80", shard.Service.ChildTypes, syncWith(shard.Sync)},
		{"tablet", "create-rdonly", tablet.Service.ChildTypes, syncWith(tablet.Sync)},
	} {
		data, err := os.ReadFile(filepath.Join(root, "services", l.name, "layer", "testdata", l.file+".request.json"))
		if err != nil {
			return nil, err
		}
		if l.name == "shard" && shardTablets > 0 {
			if data, err = sized(data, shardTablets); err != nil {
				return nil, err
			}
		}
		parent, children, err := l.sync(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", l.name, err)
		}
		b, err := kjson.Marshal(parent)
		if err != nil {
			return nil, err
		}
		var pm map[string]any
		if err := json.Unmarshal(b, &pm); err != nil {
			return nil, err
		}
		if out[l.name], err = golden.SteadyRequest(pm, children, l.types); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// sized gives a shard request n tablets: half replicas, half rdonly.
func sized(data []byte, n int) ([]byte, error) {
	var req map[string]any
	if err := json.Unmarshal(data, &req); err != nil {
		return nil, err
	}
	tablets, _ := req["parent"].(map[string]any)["spec"].(map[string]any)["tablets"].(map[string]any)
	if tablets == nil {
		return nil, fmt.Errorf("the shard request has no tablets block")
	}
	tablets["replica"] = map[string]any{"replicas": n - n/2}
	tablets["rdonly"] = map[string]any{"replicas": n / 2}
	return json.Marshal(req)
}

// syncWith adapts a layer's Sync to the request bytes.
func syncWith[Req proto.Message, Resp interface{ GetChildren() []*v1.Raw }](sync func(context.Context, Req) (Resp, error)) func([]byte) (proto.Message, []*v1.Raw, error) {
	return func(data []byte) (proto.Message, []*v1.Raw, error) {
		var zero Req
		req := zero.ProtoReflect().New().Interface().(Req)
		if err := kjson.Unmarshal(data, req); err != nil {
			return nil, nil, err
		}
		resp, err := sync(golden.Context(), req)
		if err != nil {
			return nil, nil, err
		}
		m := req.ProtoReflect()
		return m.Get(m.Descriptor().Fields().ByName("parent")).Message().Interface(), resp.GetChildren(), nil
	}
}

// result is what one layer's run measured.
type result struct {
	n, shed, failed int
	lat             []time.Duration
	peakRSS         int64
}

// p is the pth percentile latency.
func (r result) p(p int) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := (len(r.lat) - 1) * p / 100
	return r.lat[i].Round(10 * time.Microsecond)
}

// service is a running service process.
type service struct {
	cmd     *exec.Cmd
	addr    string
	logFile *os.File
}

// start starts the service binary on a loopback port, with the
// environment deploy/base gives its container (flags on the command line
// set the addresses and the log level), and waits until it is ready.
func start(bin string) (*service, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	env, err := deployedEnv()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--http-addr="+addr, "--grpc-addr=", "--log-level=error")
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	// The service's own log goes to a file: under hostile load it logs
	// every refused call, which would bury the table.
	logFile, err := os.CreateTemp("", "soak-service-*.log")
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	s := &service{cmd: cmd, addr: addr, logFile: logFile}
	if err := ready("http://" + addr + "/readyz"); err != nil {
		s.stop(err)
		return nil, err
	}
	return s, nil
}

// stop kills the service; its log is kept when err says the run failed.
func (s *service) stop(err error) error {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.logFile.Close()
	if err != nil {
		return fmt.Errorf("%w (the service's log: %s)", err, s.logFile.Name())
	}
	os.Remove(s.logFile.Name())
	return nil
}

// soak starts the service and drives it.
func soak(bin string, body []byte, clients int, d time.Duration, hostile int) (res result, err error) {
	svc, err := start(bin)
	if err != nil {
		return res, err
	}
	defer func() { err = svc.stop(err) }()
	addr, cmd := svc.addr, svc.cmd
	for i := range hostile {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return res, fmt.Errorf("hostile connection %d: %w", i, err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST /sync HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", 16<<20, bytes.Repeat([]byte(" "), 1<<10))
	}
	tr := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	url := "http://" + addr + "/sync"
	stop := time.Now().Add(d)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			failed, shed := 0, 0
			for time.Now().Before(stop) {
				t0 := time.Now()
				r, err := client.Post(url, "application/json", bytes.NewReader(body))
				if err == nil {
					_, _ = io.Copy(io.Discard, r.Body)
					r.Body.Close()
				}
				lat = append(lat, time.Since(t0))
				switch {
				case err == nil && r.StatusCode == http.StatusServiceUnavailable:
					shed++
				case err != nil || r.StatusCode != http.StatusOK:
					failed++
				}
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			res.failed += failed
			res.shed += shed
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.n = len(res.lat)
	slices.Sort(res.lat)
	res.peakRSS, err = peakRSS(cmd.Process.Pid)
	return res, err
}

// ready waits for a URL to answer 200.
func ready(url string) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if r, err := http.Get(url); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New(url + " not ready after 10s")
}

// peakRSS reads a process's peak resident set size (VmHWM) in bytes.
func peakRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb); err != nil {
				return 0, fmt.Errorf("VmHWM %q: %w", v, err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("no VmHWM in /proc/<pid>/status")
}
