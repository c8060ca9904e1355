package sim

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	vtspec "github.com/vtmeta/vtmeta/internal/spec"
	"github.com/vtmeta/vtmeta/test/e2e/standin"
)

// world loads the original example into a simulated control plane.
func world(t *testing.T, wrap func(string, http.Handler) http.Handler) (*World, map[string]any) {
	t.Helper()
	w, err := New(wrap)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("../../../deploy/examples/original/my-vitess.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var vc map[string]any
	if err := yaml.Unmarshal(data, &vc); err != nil {
		t.Fatal(err)
	}
	w.Apply(vc)
	return w, vc
}

func clusterReady(w *World) func() bool {
	return func() bool {
		c := w.Get("VitessCluster", "default", "vitess")
		return Condition(c, "Ready") == "True" && Condition(c, "Updated") == "True"
	}
}

func count(w *World, kind string) int { return len(w.List(kind)) }

// TestOriginalExampleComesUp is scenario 1 on the simulated control plane.
func TestOriginalExampleComesUp(t *testing.T) {
	w, _ := world(t, nil)
	if err := w.Converge(60, nil, clusterReady(w)); err != nil {
		t.Fatalf("%v\nlast events: %v", err, tail(w.Events, 15))
	}
	want := map[string]int{
		"VitessCell": 2, "VitessKeyspace": 1, "VitessShard": 2, "VitessTablet": 6, "Pod": 6, "PersistentVolumeClaim": 6,
		"StatefulSet": 1, "Job": 2, // register zone1, set up keyspace main (global only hosts the topology)
	}
	for kind, n := range want {
		if got := count(w, kind); got != n {
			t.Errorf("%d %s, want %d", got, kind, n)
		}
	}
	for _, name := range []string{"vitess-global-vtctld", "vitess-global-vtorc", "vitess-zone1-vtgate"} {
		if w.Get("Deployment", "default", name) == nil {
			t.Errorf("no Deployment %s", name)
		}
	}
	for _, name := range []string{"vitess-etcd-client", "vitess-etcd-peer", "vitess-zone1-vttablet", "vitess-zone1-vtgate"} {
		if w.Get("Service", "default", name) == nil {
			t.Errorf("no Service %s", name)
		}
	}
	for _, name := range []string{"vitess-vttablet-zone1-1700000000", "vitess-vttablet-zone1-1700000100"} {
		if w.Get("Pod", "default", name) == nil || w.Get("PersistentVolumeClaim", "default", name) == nil {
			t.Errorf("tablet %s has no Pod or claim", name)
		}
	}
	st := w.Get("VitessCluster", "default", "vitess").Status
	if st["cells"] != int64(2) || st["readyCells"] != int64(2) {
		t.Errorf("cluster status %v", st)
	}
}

// TestImageEditRollsThroughEveryLayer is scenario 2: tablet Pods are
// replaced one at a time, rdonly first in each shard, vtgate after every
// tablet, and every claim keeps its identity.
func TestImageEditRollsThroughEveryLayer(t *testing.T) {
	w, vc := world(t, nil)
	if err := w.Converge(60, nil, clusterReady(w)); err != nil {
		t.Fatal(err)
	}
	claims := map[string]int{}
	for _, c := range w.List("PersistentVolumeClaim") {
		claims[c.Name] = c.UID
	}
	spec := vc["spec"].(map[string]any)
	ks := spec["keyspaces"].([]any)[0].(map[string]any)
	ks["tablets"].(map[string]any)["defaults"].(map[string]any)["image"] = "vitess/lite:v24.0.3"
	spec["cells"].([]any)[1].(map[string]any)["vtgate"].(map[string]any)["image"] = "vitess/lite:v24.0.3"
	mark := len(w.Events)
	w.Apply(vc)
	if err := w.Converge(200, nil, clusterReady(w)); err != nil {
		t.Fatalf("%v\n%v", err, tail(w.Events, 20))
	}
	var recreated []string
	gateAt, lastPodAt := -1, -1
	for i, e := range w.Events[mark:] {
		if strings.HasPrefix(e, "delete Pod/") { // Recreate: nothing else deletes a Pod here
			recreated = append(recreated, e)
			lastPodAt = i
		}
		if e == "update Deployment/default/vitess-zone1-vtgate" {
			gateAt = i
		}
	}
	if len(recreated) != 6 {
		t.Fatalf("%d Pods recreated, want 6: %v", len(recreated), recreated)
	}
	if gateAt < lastPodAt {
		t.Errorf("vtgate (event %d) moved before the last tablet Pod (event %d)", gateAt, lastPodAt)
	}
	// Shard by shard in key order, each with its rdonly tablet first.
	for i, shard := range []string{"-80", "80-"} {
		base := vtspec.ShardBase(0, i) // keyspace main's slot in zone1, the shard's range in it
		rdonly := fmt.Sprintf("vitess-vttablet-zone1-%010d", vtspec.PoolUID(base, vtspec.TypeRdonly, 0))
		if !strings.Contains(recreated[3*i], rdonly) {
			t.Errorf("shard %s: first recreated %s, want its rdonly tablet %s (order %v)", shard, recreated[3*i], rdonly, recreated)
		}
		for _, r := range recreated[3*i : 3*i+3] {
			if !strings.Contains(r, fmt.Sprintf("%010d", vtspec.PoolUID(base, vtspec.TypeReplica, 0))[:8]) && !strings.Contains(r, rdonly) {
				t.Errorf("shard %s's tablets are not replaced together: %v", shard, recreated)
			}
		}
	}
	for _, c := range w.List("PersistentVolumeClaim") {
		if claims[c.Name] != c.UID {
			t.Errorf("claim %s was recreated", c.Name)
		}
	}
	if strings.Contains(strings.Join(w.Events[mark:], "\n"), "delete PersistentVolumeClaim") {
		t.Error("a claim was deleted during the rollout")
	}
}

// TestOneTabletAtATime checks the rollout never has two tablet Pods down.
func TestOneTabletAtATime(t *testing.T) {
	w, vc := world(t, nil)
	if err := w.Converge(60, nil, clusterReady(w)); err != nil {
		t.Fatal(err)
	}
	ks := vc["spec"].(map[string]any)["keyspaces"].([]any)[0].(map[string]any)
	ks["tablets"].(map[string]any)["defaults"].(map[string]any)["image"] = "vitess/lite:v24.0.3"
	w.Apply(vc)
	for round := 0; round < 200; round++ {
		if _, err := w.Sync(); err != nil {
			t.Fatal(err)
		}
		down := 6 - count(w, "Pod") // a replaced Pod is gone for a round
		for _, p := range w.List("Pod") {
			if Condition(p, "Ready") != "True" {
				down++
			}
		}
		if down > 1 {
			t.Fatalf("round %d: %d tablet Pods not ready at once", round, down)
		}
		w.Controllers(nil)
		if clusterReady(w)() {
			return
		}
	}
	t.Fatal("did not converge")
}

// TestScaleDownAndUpKeepsTheVolume is scenario 3.
func TestScaleDownAndUpKeepsTheVolume(t *testing.T) {
	w, vc := world(t, nil)
	if err := w.Converge(60, nil, clusterReady(w)); err != nil {
		t.Fatal(err)
	}
	gone := "vitess-vttablet-zone1-1700000001"
	claimUID := w.Get("PersistentVolumeClaim", "default", gone).UID
	pool := vc["spec"].(map[string]any)["keyspaces"].([]any)[0].(map[string]any)["tablets"].(map[string]any)["masterEligible"].(map[string]any)
	pool["replicas"] = 1
	w.Apply(vc)
	if err := w.Converge(200, nil, clusterReady(w)); err != nil {
		t.Fatal(err)
	}
	if w.Get("Pod", "default", gone) != nil {
		t.Error("the retired tablet still has a Pod")
	}
	if c := w.Get("PersistentVolumeClaim", "default", gone); c == nil || c.UID != claimUID {
		t.Fatal("the retired tablet's claim is gone")
	}
	pool["replicas"] = 2
	w.Apply(vc)
	if err := w.Converge(200, nil, clusterReady(w)); err != nil {
		t.Fatal(err)
	}
	if w.Get("Pod", "default", gone) == nil || w.Get("PersistentVolumeClaim", "default", gone).UID != claimUID {
		t.Error("scaling up again must bring the tablet back on its claim")
	}
}

// TestInvalidEditsChangeNothing is scenario 4 for what admission does not
// catch here (the simulation has no CRD validation): the layers hold.
func TestInvalidEditsChangeNothing(t *testing.T) {
	w, vc := world(t, nil)
	if err := w.Converge(60, nil, clusterReady(w)); err != nil {
		t.Fatal(err)
	}
	spec := vc["spec"].(map[string]any)
	ks := spec["keyspaces"].([]any)[0].(map[string]any)
	ks["shards"] = []any{map[string]any{"keyRange": map[string]any{"start": "", "end": "80"}}, map[string]any{"keyRange": map[string]any{"start": "40", "end": ""}}}
	ks["tablets"].(map[string]any)["defaults"].(map[string]any)["image"] = "vitess/lite:v99"
	mark := len(w.Events)
	w.Apply(vc)
	for i := 0; i < 10; i++ {
		if _, err := w.Sync(); err != nil {
			t.Fatal(err)
		}
		w.Controllers(nil)
	}
	if changes := w.Events[mark+1:]; len(changes) != 0 {
		t.Errorf("an invalid spec changed %v", changes)
	}
	c := w.Get("VitessCluster", "default", "vitess")
	if Condition(c, "Ready") != "False" || !strings.Contains(toJSON(c.Status), "InvalidSpec") {
		t.Errorf("cluster status %s", toJSON(c.Status))
	}
}

// TestHookOutageResumes is scenario 6: the shard service goes away in the
// middle of a rollout; nothing changes while it is down (Metacontroller
// gets no 200), and the rollout resumes and completes when it is back.
func TestHookOutageResumes(t *testing.T) {
	var down atomic.Bool
	w, vc := world(t, func(layer string, h http.Handler) http.Handler {
		if layer != "shard" {
			return h
		}
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if down.Load() {
				http.Error(rw, "connection refused", http.StatusServiceUnavailable)
				return
			}
			h.ServeHTTP(rw, r)
		})
	})
	if err := w.Converge(60, nil, clusterReady(w)); err != nil {
		t.Fatal(err)
	}
	ks := vc["spec"].(map[string]any)["keyspaces"].([]any)[0].(map[string]any)
	ks["tablets"].(map[string]any)["defaults"].(map[string]any)["image"] = "vitess/lite:v24.0.3"
	w.Apply(vc)
	for i := 0; i < 8; i++ { // part of the rollout
		if _, err := w.Sync(); err != nil {
			t.Fatal(err)
		}
		w.Controllers(nil)
	}
	down.Store(true)
	pods := count(w, "Pod")
	for i := 0; i < 5; i++ {
		if _, err := w.Sync(); err != nil {
			t.Fatal(err)
		}
		w.Controllers(nil)
	}
	if count(w, "Pod") != pods || count(w, "PersistentVolumeClaim") != 6 {
		t.Error("objects were lost while the shard service was down")
	}
	down.Store(false)
	if err := w.Converge(200, nil, clusterReady(w)); err != nil {
		t.Fatal(err)
	}
	for _, p := range w.List("Pod") {
		if !strings.Contains(toJSON(p.Body), "vitess/lite:v24.0.3") {
			t.Errorf("%s did not get the new image", p.Name)
		}
	}
}

func tail(s []string, n int) []string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func toJSON(v any) string {
	b, _ := yaml.Marshal(v)
	return string(b)
}

// TestWritesOnThePath is the steady-state check extended to the path: on
// Metacontroller's stock client, creating the original example writes
// every child once and rewrites none, each parent's status changes only a
// few times, and the whole costs a bounded number of API requests — time,
// at 5 QPS. An image rollout rewrites each child it moves once (a Pod:
// deleted and created), touches no claim, and is bounded the same way.
// The bounds are the measured figures with a little room: a change that
// makes a convergence write more fails here first.
func TestWritesOnThePath(t *testing.T) {
	w, vc := world(t, nil)
	phase := func(name string, maxRequests int, maxTime time.Duration, maxStatus map[string]int, moved map[string]int, run func()) {
		t.Helper()
		before, _ := w.Requests()
		start, mark := w.Clock.Now(), len(w.Events)
		clear(w.StatusWrites)
		run()
		after, syncs := w.Requests()
		total := 0
		for k, n := range after {
			total += n - before[k]
		}
		took := w.Clock.Since(start)
		t.Logf("%s: %d requests, %v at %s (%d syncs so far)", name, total, took, standin.Stock, syncs)
		if total > maxRequests || took > maxTime {
			t.Errorf("%s: %d requests in %v, want at most %d in %v", name, total, took, maxRequests, maxTime)
		}
		writes := map[string]int{}
		for _, e := range w.Events[mark:] {
			writes[e]++
		}
		for e, n := range writes {
			verb, key, _ := strings.Cut(e, " ")
			kind, _, _ := strings.Cut(key, "/")
			if verb == "update" && w.Get(kind, "default", strings.Split(key, "/")[2]) != nil && moved[kind] == 0 {
				t.Errorf("%s: %s updated %d times, none expected", name, key, n)
			}
			if n > 1 && !(kind == "Pod" && moved["Pod"] > 0) {
				t.Errorf("%s: %q %d times", name, e, n)
			}
		}
		for kind, want := range moved {
			n := 0
			for e := range writes {
				if strings.HasPrefix(e, "update "+kind+"/") || (kind == "Pod" && strings.HasPrefix(e, "delete Pod/")) {
					n++
				}
			}
			if n != want {
				t.Errorf("%s: %d %s moved, want %d", name, n, kind, want)
			}
		}
		for key, n := range w.StatusWrites {
			kind, _, _ := strings.Cut(key, "/")
			if n > maxStatus[kind] {
				t.Errorf("%s: status of %s written %d times, want at most %d", name, key, n, maxStatus[kind])
			}
		}
	}
	phase("create → Ready", 105, 19*time.Second,
		map[string]int{"VitessCluster": 3, "VitessCell": 3, "VitessKeyspace": 2, "VitessShard": 2, "VitessTablet": 2}, nil, func() {
			if err := w.Converge(60, nil, clusterReady(w)); err != nil {
				t.Fatal(err)
			}
		})
	spec := vc["spec"].(map[string]any)
	ks := spec["keyspaces"].([]any)[0].(map[string]any)
	ks["tablets"].(map[string]any)["defaults"].(map[string]any)["image"] = "vitess/lite:v24.0.3"
	spec["cells"].([]any)[1].(map[string]any)["vtgate"].(map[string]any)["image"] = "vitess/lite:v24.0.3"
	phase("image rollout", 110, 22*time.Second,
		// One status write per step of the rollout and one when it is
		// done: a shard moves 3 tablets, the keyspace 2 shards, a cell
		// its keyspace and its vtgate, the cluster one cell; a tablet is
		// written when its Pod goes and when the new one is Ready.
		map[string]int{"VitessCluster": 2, "VitessCell": 3, "VitessKeyspace": 3, "VitessShard": 4, "VitessTablet": 2},
		map[string]int{"VitessCluster": 1, "VitessCell": 1, "VitessKeyspace": 1, "VitessShard": 2, "VitessTablet": 6, "Pod": 6, "Deployment": 1}, func() {
			w.Apply(vc)
			if err := w.Converge(200, nil, clusterReady(w)); err != nil {
				t.Fatal(err)
			}
		})
}

// TestSteadyStateCost checks what an idle cluster costs Metacontroller:
// no sync while nothing changes, and at each resync one read per parent
// and no write.
func TestSteadyStateCost(t *testing.T) {
	w, _ := world(t, nil)
	if err := w.Converge(60, nil, clusterReady(w)); err != nil {
		t.Fatal(err)
	}
	parents := 0
	for _, k := range []string{"VitessCluster", "VitessCell", "VitessKeyspace", "VitessShard", "VitessTablet"} {
		parents += count(w, k)
	}
	before, syncs := w.Requests()
	if _, err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	if _, n := w.Requests(); n != syncs {
		t.Errorf("%d syncs while nothing changed", n-syncs)
	}
	w.Clock.Sleep(5 * time.Minute) // the CompositeControllers' resync period
	if changed, err := w.Sync(); err != nil || changed != 0 {
		t.Fatalf("a resync changed %d objects (%v)", changed, err)
	}
	after, n := w.Requests()
	if n-syncs != parents {
		t.Errorf("a resync synced %d parents, want all %d", n-syncs, parents)
	}
	for k, v := range after {
		if d := v - before[k]; d > 0 && !strings.HasPrefix(k, "GET ") {
			t.Errorf("a resync sent %d %s", d, k)
		}
	}
}
