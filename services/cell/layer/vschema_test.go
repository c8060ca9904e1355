package layer

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vtmeta/vtmeta/internal/conditions"
	"github.com/vtmeta/vtmeta/internal/golden"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

const hashVSchema = `{"sharded":true,"vindexes":{"hash":{"type":"hash"}},"tables":{"t":{"column_vindexes":[{"column":"id","name":"hash"}]}}}`

// vschemaLoop is the global cell of the every-option example, applying a
// VSchema for its keyspace commerce alone, with every child applied and ready.
func vschemaLoop(t *testing.T) *golden.Loop[*v1.CellSyncRequest, *v1.CellSyncResponse] {
	t.Helper()
	req := load(t, "every-option-global")
	req.Parent.Spec.KeyspaceSetup[0].Vschema = hashVSchema
	for _, k := range req.Parent.Spec.KeyspaceSetup[1:] {
		k.Vschema = ""
	}
	l := golden.NewLoop(t, req, Sync)
	l.Apply()
	l.API.ReadyAll()
	return l
}

// finish makes the VSchema Pod end with a termination message.
func finish(l *golden.Loop[*v1.CellSyncRequest, *v1.CellSyncResponse], message string) {
	for _, o := range l.API.Children()["Pod.v1"].GetObjects() {
		o.Status = &v1.ObjectStatus{Phase: "Succeeded", ContainerStatuses: []*v1.ContainerStatus{{Name: "vschema",
			State: &v1.ContainerState{Terminated: &v1.ContainerTerminated{Message: message}}}}}
	}
}

// TestVSchemaIsAppliedByAPodTheCellReads: the VSchema's ConfigMap and Pod
// come last; the cell is not Ready until the Pod says applied; a refusal
// shows Vitess's message; a changed VSchema is a new Pod, the old one goes
// (whatever the reclaim policy), and the applied hash stays the old one's
// until the new one is applied.
func TestVSchemaIsAppliedByAPodTheCellReads(t *testing.T) {
	l := vschemaLoop(t)
	resp := l.Sync()
	got := kinds(t, resp)
	if n := len(got); n < 2 || !strings.HasPrefix(got[n-2], "ConfigMap full-global-vschema-commerce-") || !strings.HasPrefix(got[n-1], "Pod full-global-vschema-commerce-") {
		t.Fatalf("the VSchema's ConfigMap and Pod are not last: %v", got)
	}
	ready := conditions.Find(resp.GetStatus().GetConditions(), conditions.Ready)
	applied := conditions.Find(resp.GetStatus().GetConditions(), VSchemaApplied)
	if applied.GetReason() != "Applying" || ready.GetStatus() != conditions.False || ready.GetReason() != "VSchemaNotApplied" {
		t.Fatalf("before the Pod ran: %v, %v", applied, ready)
	}
	finish(l, "refused: rpc error: code = Unknown desc = BuildKeyspace(commerce): vindexType \"hashy\" not found")
	resp = l.Sync()
	applied = conditions.Find(resp.GetStatus().GetConditions(), VSchemaApplied)
	if applied.GetReason() != "Refused" || !strings.Contains(applied.GetMessage(), `keyspace commerce: Vitess refused its VSchema: rpc error: code = Unknown desc = BuildKeyspace(commerce): vindexType "hashy" not found`) {
		t.Errorf("refused: %v", applied)
	}
	finish(l, "applied")
	resp = l.Sync()
	first := resp.GetStatus().GetAppliedVschemas()["commerce"]
	if c := conditions.Find(resp.GetStatus().GetConditions(), VSchemaApplied); c.GetStatus() != conditions.True || first != vschemaHash(hashVSchema) {
		t.Fatalf("applied: %v, hashes %v", c, resp.GetStatus().GetAppliedVschemas())
	}
	if c := conditions.Find(resp.GetStatus().GetConditions(), conditions.Ready); c.GetStatus() != conditions.True {
		t.Errorf("Ready = %v once the VSchema is applied", c)
	}
	// A new VSchema: a new Pod; the old one goes although the policy is Retain.
	l.Req.Parent.Spec.ClusterConfig.ReclaimPolicy = "Retain"
	l.Req.Parent.Spec.KeyspaceSetup[0].Vschema = strings.Replace(hashVSchema, `"t":`, `"u":`, 1)
	l.Req.Parent.Status = resp.GetStatus()
	resp = l.Sync()
	pods := slices.DeleteFunc(kinds(t, resp), func(k string) bool { return !strings.HasPrefix(k, "Pod ") })
	if len(pods) != 1 || strings.HasSuffix(pods[0], first) {
		t.Errorf("Pods %v, want the new VSchema's alone", pods)
	}
	if h := resp.GetStatus().GetAppliedVschemas()["commerce"]; h != first {
		t.Errorf("applied hash %q while the new VSchema applies, want the old one's %q", h, first)
	}
}

// TestVSchemaScript runs the VSchema's Pod against a stand-in vtctldclient:
// applied; refused with Vitess's message; vtctld unreachable is a failure
// the kubelet retries.
func TestVSchemaScript(t *testing.T) {
	l := vschemaLoop(t)
	var argv []string
	for _, sc := range golden.Scripts(t, l.Sync().GetChildren()) {
		if sc.Argv[3] == "vschema" {
			argv = sc.Argv
		}
	}
	if argv == nil {
		t.Fatal("no VSchema Pod script")
	}
	for _, tt := range []struct {
		name    string
		answers [][2]string
		code    int
		log     string
	}{
		{"applied", [][2]string{{"*", "exit 0"}}, 0, "applied"},
		{"refused", [][2]string{{"*--dry-run*", `echo 'E1205 rpc error: code = Unknown desc = BuildKeyspace(commerce): missing primary col vindex for table: t' >&2; exit 1`}, {"*", "exit 0"}},
			0, "refused: E1205 rpc error: code = Unknown desc = BuildKeyspace(commerce): missing primary col vindex for table: t"},
		{"vtctld unreachable", [][2]string{{"*--dry-run*", `echo 'rpc error: code = Unavailable desc = connection refused' >&2; exit 1`}, {"*", "exit 0"}}, 1, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			log := filepath.Join(t.TempDir(), "termination-log")
			calls, out, code := golden.NewStubs(t, tt.answers).Run(t, argv, map[string]string{"/dev/termination-log": log})
			got, _ := os.ReadFile(log)
			if code != tt.code || string(got) != tt.log {
				t.Errorf("exit %d, termination message %q; want %d, %q (%s)", code, got, tt.code, tt.log, out)
			}
			if tt.name == "applied" && (len(calls) != 3 || !slices.Contains(calls[2], "ApplyVSchema") || slices.Contains(calls[2], "--dry-run")) {
				t.Errorf("calls %q: want GetKeyspace, a dry run, then ApplyVSchema", calls)
			}
		})
	}
}
