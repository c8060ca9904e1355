package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/vtmeta/vtmeta/internal/golden"
	"github.com/vtmeta/vtmeta/internal/hook"
	"github.com/vtmeta/vtmeta/internal/kjson"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
	cell "github.com/vtmeta/vtmeta/services/cell/layer"
	cluster "github.com/vtmeta/vtmeta/services/cluster/layer"
	keyspace "github.com/vtmeta/vtmeta/services/keyspace/layer"
	shard "github.com/vtmeta/vtmeta/services/shard/layer"
	tablet "github.com/vtmeta/vtmeta/services/tablet/layer"
	"github.com/vtmeta/vtmeta/test/e2e/manifests"
)

// The worst request a layer admits: its parent grown (more children, and
// a larger affinity in what every child repeats) until the layer's answer
// is as large as the services' default --max-answer-bytes lets it be, and
// the parent itself no larger than an object the apiserver stores (etcd
// takes at most 1.5 MiB a request). Larger would be refused, by the
// apiserver or by the layer (AnswerTooLarge), before anything is built.
const objectLimit = 3 << 19 // 1.5 MiB

// worstCase is one layer's worst request: how to build it from an affinity
// size, and the layer's estimate of its answer.
type worstCase struct {
	layer    string
	build    func(affinity int) (proto.Message, error)
	estimate func(proto.Message) int64
}

func worstCases() []worstCase {
	root := manifests.Repo()
	load := func(layer, file string, into proto.Message) error {
		data, err := os.ReadFile(filepath.Join(root, "services", layer, "layer", "testdata", file+".request.json"))
		if err != nil {
			return err
		}
		return kjson.Unmarshal(data, into)
	}
	aff := func(n int) *v1.Scheduling { return &v1.Scheduling{Affinity: &v1.Raw{Json: golden.Affinity(n)}} }
	return []worstCase{
		{"cluster", func(n int) (proto.Message, error) {
			req := &v1.ClusterSyncRequest{}
			if err := load("cluster", "create-original", req); err != nil {
				return nil, err
			}
			s := req.Parent.Spec
			s.Cells = s.Cells[:1]
			for i := range 63 {
				s.Cells = append(s.Cells, &v1.CellSpec{Name: fmt.Sprint("zone", i+1), Vtgate: &v1.ComponentSpec{Replicas: proto.Int32(1)}})
			}
			s.Keyspaces[0].Cells = nil // served in every cell with a vtgate
			s.Keyspaces[0].Tablets.Defaults.Scheduling = aff(n)
			return req, nil
		}, func(m proto.Message) int64 { return cluster.Estimate(m.(*v1.ClusterSyncRequest)) }},
		{"cell", func(n int) (proto.Message, error) {
			req := &v1.CellSyncRequest{}
			if err := load("cell", "original-zone1", req); err != nil {
				return nil, err
			}
			s := req.Parent.Spec
			base := s.Keyspaces[0]
			s.Keyspaces = nil
			for i := range 64 {
				k := proto.Clone(base).(*v1.KeyspaceSpec)
				k.Name = fmt.Sprint("keyspace-", i)
				k.Tablets.Defaults.Scheduling = aff(n)
				s.Keyspaces = append(s.Keyspaces, k)
			}
			return req, nil
		}, func(m proto.Message) int64 { return cell.Estimate(m.(*v1.CellSyncRequest)) }},
		{"keyspace", func(n int) (proto.Message, error) {
			req := &v1.KeyspaceSyncRequest{}
			if err := load("keyspace", "create-two-shards", req); err != nil {
				return nil, err
			}
			req.Parent.Spec.Shards = equalShards(1024)
			req.Parent.Spec.Tablets.Defaults.Scheduling = aff(n)
			return req, nil
		}, func(m proto.Message) int64 { return keyspace.Estimate(m.(*v1.KeyspaceSyncRequest)) }},
		{"shard", func(n int) (proto.Message, error) {
			req := &v1.ShardSyncRequest{}
			if err := load("shard", "create-original-x-80", req); err != nil {
				return nil, err
			}
			t := req.Parent.Spec.Tablets
			t.Replica.Replicas, t.Rdonly.Replicas = proto.Int32(99), proto.Int32(99)
			t.Defaults.Scheduling = aff(n)
			return req, nil
		}, func(m proto.Message) int64 { return shard.Estimate(m.(*v1.ShardSyncRequest)) }},
		{"tablet", func(n int) (proto.Message, error) {
			req := &v1.TabletSyncRequest{}
			if err := load("tablet", "create-rdonly", req); err != nil {
				return nil, err
			}
			req.Parent.Spec.Pool.Scheduling = aff(n)
			return req, nil
		}, func(m proto.Message) int64 { return tablet.Estimate(m.(*v1.TabletSyncRequest)) }},
	}
}

// worstRequest grows a case's affinity as far as both limits allow:
// answer (estimated) at most limit, parent at most objectLimit.
func worstRequest(c worstCase, limit int64) ([]byte, error) {
	fits := func(n int) ([]byte, bool, error) {
		m, err := c.build(n)
		if err != nil {
			return nil, false, err
		}
		b, err := kjson.Marshal(m)
		if err != nil {
			return nil, false, err
		}
		r := m.ProtoReflect()
		parent, err := kjson.Marshal(r.Get(r.Descriptor().Fields().ByName("parent")).Message().Interface())
		if err != nil {
			return nil, false, err
		}
		return b, c.estimate(m) <= limit && len(parent) <= objectLimit, nil
	}
	lo, hi := 0, objectLimit // the largest affinity that fits is in [lo, hi)
	for hi-lo > 1<<10 {
		mid := (lo + hi) / 2
		if _, ok, err := fits(mid); err != nil {
			return nil, err
		} else if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	b, ok, err := fits(lo)
	if err == nil && !ok {
		err = fmt.Errorf("%s: no request fits", c.layer)
	}
	return b, err
}

// runWorst sends each layer its worst request: first alone, five times,
// for the answer's size and time, then from every client at once, with
// the service's peak RSS beside the memory limit deploy/ gives it.
func runWorst(bin string, clients int, d time.Duration, layers []string) error {
	bin, done, err := binaries(bin)
	if err != nil {
		return err
	}
	defer done()
	o := hook.DefaultOptions()
	limit := min(o.MaxAnswerBytes, o.MaxInflightBodyBytes/2)
	memory, err := memoryLimit()
	if err != nil {
		return err
	}
	fmt.Printf("worst admitted request per layer (answer just under %d MiB, parent at most 1.5 MiB); alone, then %d clients for %s; the services' memory limit in deploy/base: %d MiB\n\n",
		limit>>20, clients, d, memory>>20)
	fmt.Printf("| layer | request | answer | one call (median of 5) | requests/s | p99 | 503 (shed) | other not 200 | peak RSS |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, c := range worstCases() {
		if !slices.Contains(layers, c.layer) {
			continue
		}
		body, err := worstRequest(c, limit)
		if err != nil {
			return err
		}
		path := filepath.Join(bin, "vtmeta-"+c.layer)
		size, took, err := alone(path, body)
		if err != nil {
			return fmt.Errorf("%s: %w", c.layer, err)
		}
		res, err := soak(path, body, clients, d, 0)
		if err != nil {
			return fmt.Errorf("%s: %w", c.layer, err)
		}
		fmt.Printf("| %s | %d KB | %.1f MB | %s | %.1f | %s | %d | %d | %d MB |\n", c.layer, len(body)>>10, float64(size)/(1<<20),
			took.Round(time.Millisecond), float64(res.n)/d.Seconds(), res.p(99), res.shed, res.failed, res.peakRSS>>20)
	}
	return nil
}

// alone sends one request five times to a fresh service, one at a time,
// and returns the answer's size and the median time.
func alone(bin string, body []byte) (size int, took time.Duration, err error) {
	svc, err := start(bin)
	if err != nil {
		return 0, 0, err
	}
	defer func() { err = svc.stop(err) }()
	addr := svc.addr
	var times []time.Duration
	for range 5 {
		t0 := time.Now()
		r, err := http.Post("http://"+addr+"/sync", "application/json", bytes.NewReader(body))
		if err != nil {
			return 0, 0, err
		}
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return 0, 0, err
		}
		if r.StatusCode != http.StatusOK || bytes.Contains(b, []byte(`"AnswerTooLarge"`)) {
			return 0, 0, fmt.Errorf("the worst request got %d: %.300s", r.StatusCode, b)
		}
		times = append(times, time.Since(t0))
		size = len(b)
	}
	slices.Sort(times)
	return size, times[len(times)/2], nil
}

// memoryLimit is the memory limit deploy/base gives the services.
func memoryLimit() (int64, error) {
	objs, err := manifests.Render("base")
	if err != nil {
		return 0, err
	}
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		cs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
		for _, c := range cs {
			if q, ok, _ := unstructured.NestedString(c.(map[string]any), "resources", "limits", "memory"); ok {
				v, err := resource.ParseQuantity(q)
				return v.Value(), err
			}
		}
	}
	return 0, fmt.Errorf("no memory limit in deploy/base")
}

// equalShards are n shards of equal width over 16-bit keys.
func equalShards(n int) []*v1.ShardSpec {
	out := make([]*v1.ShardSpec, n)
	for i := range n {
		kr := &v1.KeyRange{}
		if i > 0 {
			kr.Start = fmt.Sprintf("%04x", i*(0x10000/n))
		}
		if i < n-1 {
			kr.End = fmt.Sprintf("%04x", (i+1)*(0x10000/n))
		}
		out[i] = &v1.ShardSpec{KeyRange: kr}
	}
	return out
}

// deployedEnv is the environment deploy/base gives the services' container,
// as NAME=value.
func deployedEnv() ([]string, error) {
	objs, err := manifests.Render("base")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, o := range objs {
		cs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
		for _, c := range cs {
			env, _, _ := unstructured.NestedSlice(c.(map[string]any), "env")
			for _, e := range env {
				m := e.(map[string]any)
				if v, ok := m["value"].(string); ok {
					out = append(out, fmt.Sprintf("%s=%s", m["name"], v))
				}
			}
		}
	}
	return out, nil
}
