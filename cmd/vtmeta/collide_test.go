package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vtmeta/vtmeta/internal/names"
)

// bigCluster is a cluster of two cells with the keyspace (cell
// us-east-1a, keyspace customer, 1024 equal shards, whose shards 0ac0-0b00
// and 3080-30c0 hashed to one tablet uid) and a second keyspace in both
// cells.
func bigCluster() string {
	var b strings.Builder
	b.WriteString(`apiVersion: vitess.io/v1alpha1
kind: VitessCluster
metadata: {name: big}
spec:
  selector: {matchLabels: {app: big}}
  cells:
  - {name: us-east-1a, etcd: {size: 1}, vtgate: {replicas: 1}}
  - {name: us-east-1b, vtgate: {replicas: 1}}
  keyspaces:
  - name: customer
    cells: [us-east-1a]
    tablets:
      defaults: {volumeClaim: {resources: {requests: {storage: 1Gi}}}}
      replica: {replicas: 1}
    shards:
`)
	for i := range 1024 {
		start, end := fmt.Sprintf("%04x", i*64), fmt.Sprintf("%04x", (i+1)*64)
		if i == 0 {
			start = ""
		}
		if i == 1023 {
			end = ""
		}
		fmt.Fprintf(&b, "    - keyRange: {start: '%s', end: '%s'}\n", start, end)
	}
	b.WriteString(`  - name: orders
    tablets:
      defaults: {volumeClaim: {resources: {requests: {storage: 1Gi}}}}
      replica: {replicas: 2}
      rdonly: {replicas: 1}
    shards:
    - keyRange: {start: '', end: '80'}
    - keyRange: {start: '80', end: ''}
`)
	return b.String()
}

// TestRenderedTabletsNeverShareAnAlias renders the cluster: every
// tablet gets an alias of its own, the two shards included.
func TestRenderedTabletsNeverShareAnAlias(t *testing.T) {
	if testing.Short() {
		t.Skip("renders about 1,100 tablets")
	}
	start := time.Now()
	r := cli(t, nil, "render", "-f", write(t, "big.yaml", bigCluster()), "--layer", "shard", "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	t.Logf("rendered in %s", time.Since(start).Round(time.Millisecond))
	seen := map[string]bool{}
	n := 0
	for _, line := range strings.Split(r.stdout, "\n") {
		// Each VitessTablet's name carries its cell and uid.
		if i := strings.Index(line, `"name": "big-vttablet-`); i >= 0 {
			name := strings.Trim(strings.TrimSpace(line[i+len(`"name": `):]), `",`)
			if !seen[name] {
				seen[name] = true
				n++
			}
		}
	}
	if n != 1024+2*2*3 {
		t.Errorf("%d VitessTablets, want %d", n, 1024+2*2*3)
	}
}

// TestCollisionsAreNamed: two tablets of one alias, and a Service named
// with a digit first, are what render refuses before anything is applied.
func TestCollisionsAreNamed(t *testing.T) {
	o, err := newOffline(layerFlags{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.close()
	w := o.world()
	for _, obj := range []map[string]any{
		tabletObject("db-vttablet-zone1-1700000000", "zone1", 1700000000),
		tabletObject("db-vttablet-zone1-1700000000-again", "zone1", 1700000000),
		tabletObject("db-vttablet-zone2-1700000000", "zone2", 1700000000),
		{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "2024-db-zone1-vtgate"}},
	} {
		if _, err := w.Apply(obj); err != nil {
			t.Fatal(err)
		}
	}
	got := strings.Join(collisions(w), "\n")
	for _, want := range []string{"share the tablet alias " + names.Alias("zone1", 1700000000), `Service name "2024-db-zone1-vtgate"`} {
		if !strings.Contains(got, want) {
			t.Errorf("collisions lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "zone2") {
		t.Errorf("a tablet of another cell collides:\n%s", got)
	}
}

func tabletObject(name, cell string, uid int64) map[string]any {
	return map[string]any{"apiVersion": "vitess.io/v1alpha1", "kind": "VitessTablet",
		"metadata": map[string]any{"name": name}, "spec": map[string]any{"cell": cell, "uid": uid}}
}
