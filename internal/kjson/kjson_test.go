package kjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// fixtureDir holds real Metacontroller requests, beside the repository.
const fixtureDir = "../../test/fixtures/metacontroller-v4.17.2"

func TestFixturesDecode(t *testing.T) {
	tests := []struct {
		file     string
		msg      proto.Message
		children string
		want     int
	}{
		{"original-example-sync-cluster.request.json", &v1.ClusterSyncRequest{}, "VitessCell.vitess.io/v1alpha1", 2},
		{"original-example-v2-sync-cluster.request.json", &v1.ClusterSyncRequest{}, "VitessCell.vitess.io/v1alpha1", 2},
		{"original-example-v2-finalize-sync-cluster.request.json", &v1.ClusterSyncRequest{}, "VitessCell.vitess.io/v1alpha1", -1},
		{"original-example-sync-cell.request.json", &v1.CellSyncRequest{}, "Deployment.apps/v1", 1},
		{"original-example-v2-sync-cell.request.json", &v1.CellSyncRequest{}, "Deployment.apps/v1", 1},
		{"original-example-sync-keyspace.request.json", &v1.KeyspaceSyncRequest{}, "VitessShard.vitess.io/v1alpha1", 2},
		{"original-example-v2-sync-keyspace.request.json", &v1.KeyspaceSyncRequest{}, "VitessShard.vitess.io/v1alpha1", 2},
		{"original-example-sync-shard.request.json", &v1.ShardSyncRequest{}, "Pod.v1", 3},
		{"original-example-v2-sync-shard.request.json", &v1.ShardSyncRequest{}, "Pod.v1", 3},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(fixtureDir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if err := Unmarshal(data, tt.msg); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			r := tt.msg.(interface {
				GetChildren() map[string]*v1.ObjectMap
			})
			got := len(r.GetChildren()[tt.children].GetObjects())
			if tt.want >= 0 && got != tt.want {
				t.Errorf("children %s: got %d, want %d", tt.children, got, tt.want)
			}
			for _, om := range r.GetChildren() {
				for key, o := range om.GetObjects() {
					if o.GetMetadata().GetName() == "" || !strings.HasSuffix(key, o.GetMetadata().GetName()) {
						t.Errorf("child %q decoded without its name (%q)", key, o.GetMetadata().GetName())
					}
				}
			}
		})
	}
}

func TestFixtureParentFields(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(fixtureDir, "original-example-sync-cluster.request.json"))
	if err != nil {
		t.Fatal(err)
	}
	var req v1.ClusterSyncRequest
	if err := Unmarshal(data, &req); err != nil {
		t.Fatal(err)
	}
	p := req.GetParent()
	if got := p.GetMetadata().GetGeneration(); got != 2 {
		t.Errorf("generation = %d, want 2", got)
	}
	spec := p.GetSpec()
	if len(spec.GetCells()) != 2 || spec.GetCells()[0].GetEtcd().GetSize() != 3 {
		t.Errorf("cells decoded wrong: %v", spec.GetCells())
	}
	if got := spec.GetCells()[0].GetOrchestrator().GetResources().GetLimits()["cpu"]; got != "100m" {
		t.Errorf("orchestrator cpu limit = %q", got)
	}
	ks := spec.GetKeyspaces()[0]
	if ks.GetTablets().GetMasterEligible().GetReplicas() != 2 || ks.GetShards()[1].GetKeyRange().GetStart() != "80" {
		t.Errorf("keyspace decoded wrong: %v", ks)
	}
	// The original status had lists where vtmeta has counts: skipped, not fatal.
	if got := p.GetStatus().GetObservedGeneration(); got != 2 {
		t.Errorf("status.observedGeneration = %d, want 2", got)
	}
	if len(p.GetStatus().GetConditions()) != 2 {
		t.Errorf("status.conditions = %v", p.GetStatus().GetConditions())
	}
}

func TestUnmarshalErrors(t *testing.T) {
	tests := []struct {
		name, in, wantPath, wantMsg string
	}{
		{"empty", ``, "", "empty"},
		{"spaces", "  \n", "", "empty"},
		{"malformed", `{"parent": {`, "parent", "invalid JSON"},
		{"trailing", `{} {}`, "", "after the top-level object"},
		{"not an object", `[1]`, "", "want an object, got an array"},
		{"wrong type", `{"parent":{"spec":{"cells":3}}}`, "parent.spec.cells", "want an array, got a number"},
		{"wrong element", `{"parent":{"spec":{"cells":[{"name":1}]}}}`, "parent.spec.cells[0].name", "want a string"},
		{"fraction", `{"parent":{"spec":{"cells":[{"vtgate":{"replicas":1.5}}]}}}`, "parent.spec.cells[0].vtgate.replicas", "integer"},
		{"overflow", `{"parent":{"metadata":{"generation":1e30}}}`, "parent.metadata.generation", "integer"},
		{"map value", `{"parent":{"metadata":{"labels":{"a":true}}}}`, "parent.metadata.labels.a", "want a string"},
		{"bool", `{"finalizing":"yes"}`, "finalizing", "want a boolean"},
		{"trailing garbage", `{}xyz`, "", "after the top-level object"},
		{"trailing bracket", `{}]`, "", "after the top-level object"},
		{"duplicate field", `{"parent":{"metadata":{"name":"a","name":"b"}}}`, "parent.metadata.name", "duplicate key"},
		{"field under both names", `{"parent":{"apiVersion":"a","api_version":"b"}}`, "parent.apiVersion", "duplicate key"},
		{"duplicate map key", `{"children":{"Pod.v1":{"a":{},"a":{}}}}`, "children.Pod.v1.a", "duplicate key"},
		{"null child type", `{"children":{"Pod.v1":null}}`, "children.Pod.v1", "want an object, got null"},
		{"null child", `{"children":{"Pod.v1":{"a":null}}}`, "children.Pod.v1.a", "want an object, got null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Unmarshal([]byte(tt.in), &v1.ClusterSyncRequest{})
			if err == nil {
				t.Fatal("no error")
			}
			var ke *Error
			if !errors.As(err, &ke) && !errors.Is(err, ErrEmpty) {
				t.Fatalf("error %v is not a *kjson.Error", err)
			}
			if ke != nil && ke.Path != tt.wantPath {
				t.Errorf("path = %q, want %q (%v)", ke.Path, tt.wantPath, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantMsg)
			}
		})
	}
}

func TestLenientStatus(t *testing.T) {
	in := `{"parent":{"status":{"cells":["a","b"],"readyCells":["a"],"observedGeneration":4,"conditions":[{"type":"Ready","status":"True","lastTransitionTime":null}]}}}`
	var req v1.ClusterSyncRequest
	if err := Unmarshal([]byte(in), &req); err != nil {
		t.Fatal(err)
	}
	st := req.GetParent().GetStatus()
	if st.GetCells() != 0 || st.GetObservedGeneration() != 4 || len(st.GetConditions()) != 1 {
		t.Errorf("lenient status decoded wrong: %v", st)
	}
}

func TestIntOrString(t *testing.T) {
	in := `{"parent":{"spec":{"cells":[{"name":"a","vtgate":{"resources":{"limits":{"cpu":2,"memory":"1Gi"},"requests":{"cpu":0.5}}}}]}}}`
	var req v1.ClusterSyncRequest
	if err := Unmarshal([]byte(in), &req); err != nil {
		t.Fatal(err)
	}
	r := req.GetParent().GetSpec().GetCells()[0].GetVtgate().GetResources()
	if r.GetLimits()["cpu"] != "2" || r.GetLimits()["memory"] != "1Gi" || r.GetRequests()["cpu"] != "0.5" {
		t.Errorf("quantities decoded wrong: %v", r)
	}
	// Not an int-or-string field: a number is refused.
	err := Unmarshal([]byte(`{"parent":{"spec":{"cells":[{"name":2}]}}}`), &req)
	if err == nil {
		t.Fatal("number accepted for a plain string")
	}
}

func TestMarshal(t *testing.T) {
	replicas := int32(0)
	resp := &v1.ClusterSyncResponse{
		Status: &v1.VitessClusterStatus{ObservedGeneration: 1 << 40, Cells: 2},
		Children: []*v1.Raw{
			{Json: []byte(`{"kind":"VitessCell"}`)},
		},
		ResyncAfterSeconds: 30,
	}
	got, err := Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"status":{"observedGeneration":1099511627776,"cells":2,"readyCells":0,"updatedCells":0},"children":[{"kind":"VitessCell"}],"resyncAfterSeconds":30}`
	if string(got) != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", got, want)
	}
	// Empty response: status object and children array are still written.
	got, err = Marshal(&v1.ClusterSyncResponse{})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != `{"status":{"observedGeneration":0,"cells":0,"readyCells":0,"updatedCells":0},"children":[]}` {
		t.Errorf("empty response = %s", got)
	}
	// Explicit zero of an optional field is written; maps are sorted.
	spec := &v1.ComponentSpec{Replicas: &replicas, ExtraFlags: map[string]string{"b": "2", "a": "1"}}
	got, err = Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != `{"replicas":0,"extraFlags":{"a":"1","b":"2"}}` {
		t.Errorf("spec = %s", got)
	}
}

func TestRoundTripFixtureSpec(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(fixtureDir, "original-example-sync-cluster.request.json"))
	if err != nil {
		t.Fatal(err)
	}
	var req v1.ClusterSyncRequest
	if err := Unmarshal(data, &req); err != nil {
		t.Fatal(err)
	}
	out, err := Marshal(req.GetParent().GetSpec())
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Parent struct {
			Spec json.RawMessage `json:"spec"`
		} `json:"parent"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	var a, b any
	if err := json.Unmarshal(out, &a); err != nil {
		t.Fatalf("Marshal wrote invalid JSON: %v\n%s", err, out)
	}
	if err := json.Unmarshal(raw.Parent.Spec, &b); err != nil {
		t.Fatal(err)
	}
	// The fixture was stored without vtmeta's CRD; Marshal writes every
	// defaulted field as that CRD's apiserver would store it.
	spec := b.(map[string]any)
	spec["reclaimPolicy"] = "Retain"
	for _, k := range spec["keyspaces"].([]any) {
		k := k.(map[string]any)
		for _, sh := range k["shards"].([]any) {
			kr := sh.(map[string]any)["keyRange"].(map[string]any)
			for _, end := range []string{"start", "end"} {
				if kr[end] == nil {
					kr[end] = ""
				}
			}
		}
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Errorf("spec does not round-trip:\n got %s\nwant %s", ja, jb)
	}
}

func TestStatusZerosWritten(t *testing.T) {
	got, err := Marshal(&v1.VitessClusterStatus{Cells: 2})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != `{"observedGeneration":0,"cells":2,"readyCells":0,"updatedCells":0}` {
		t.Errorf("status = %s", got)
	}
}

func TestMarshalFieldOrder(t *testing.T) {
	two := int32(2)
	got, err := Marshal(&v1.ComponentSpec{
		Service:    &v1.ServiceSpec{Type: "LoadBalancer"},
		ExtraFlags: map[string]string{"a": "1"},
		Image:      "img",
		Replicas:   &two,
		Labels:     map[string]string{"l": "v"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"image":"img","replicas":2,"extraFlags":{"a":"1"},"labels":{"l":"v"},"service":{"type":"LoadBalancer"}}`
	if string(got) != want {
		t.Errorf("Marshal = %s, want declaration order %s", got, want)
	}
}

func TestUnquote(t *testing.T) {
	tests := []string{
		`"plain"`, `"a\"b\\c\/d"`, `"\b\f\n\r\t"`, `"\u00e9\u4e16"`, `"\ud83d\ude00 smile"`,
		`"{\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"x\"}}"`, `"\ud800 lone"`,
	}
	for _, in := range tests {
		var want string
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatal(err)
		}
		got, err := unquote([]byte(in))
		if err != nil || got != want {
			t.Errorf("unquote(%s) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{`"\x"`, `"\u12"`, `"ab\"`} {
		if _, err := unquote([]byte(bad)); err == nil {
			t.Errorf("unquote(%s) accepted", bad)
		}
	}
}

// TestMarshalWritesDefaults checks that a field with a schema default is
// written as the apiserver would store it, and a set value is kept.
func TestMarshalWritesDefaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   proto.Message
		want string
	}{
		{"empty key range", &v1.KeyRange{}, `{"start":"","end":""}`},
		{"half key range", &v1.KeyRange{Start: "80"}, `{"start":"80","end":""}`},
		{"keyspace without a policy (no default: it depends on the pool)", &v1.KeyspaceSpec{Name: "main"}, `{"name":"main"}`},
		{"keyspace with a policy", &v1.KeyspaceSpec{Name: "main", DurabilityPolicy: "none"}, `{"name":"main","durabilityPolicy":"none"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Marshal(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("Marshal = %s, want %s", got, tc.want)
			}
		})
	}
}
