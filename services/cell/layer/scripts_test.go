package layer

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vtmeta/vtmeta/internal/golden"
	"github.com/vtmeta/vtmeta/internal/rollout"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// vtctld answers as a topology that has no cell and no keyspace yet.
var vtctld = [][2]string{{"*GetCellInfo*|*GetKeyspace*", "exit 1"}, {"*", "exit 0"}}

// raws are the children's encodings.
func raws(children []rollout.Child) []*v1.Raw {
	out := make([]*v1.Raw, len(children))
	for i, c := range children {
		out[i] = &v1.Raw{Json: c.JSON}
	}
	return out
}

// TestJobScriptsCallVtctld runs the cell's Jobs against a stand-in
// vtctldclient: each makes the calls that set the topology up, with the
// cell's values as whole arguments.
func TestJobScriptsCallVtctld(t *testing.T) {
	req := load(t, "every-option-zone")
	rename(req.Parent, "us-east-1b")
	req.Parent.Spec.RemoteKeyspaces = []*v1.RemoteKeyspace{{Name: "lookup", Shards: []string{"0"}}, {Name: "orders", Shards: []string{"-80", "80-"}}}
	req.Parent.Spec.KeyspaceSetup = []*v1.KeyspaceSetup{{Name: "orders", DurabilityPolicy: "semi_sync"}}
	plan, err := Children(req.GetParent(), nil)
	if err != nil {
		t.Fatal(err)
	}
	server := "--server=" + req.GetParent().GetSpec().GetClusterConfig().GetVtctldAddress()
	want := map[string][][]string{
		"register": {{server, "GetCellInfo", "us-east-1b"},
			{server, "AddCellInfo", "--root=" + req.GetParent().GetSpec().GetClusterConfig().GetTopology().GetCellRoot(),
				"--server-address=" + req.GetParent().GetSpec().GetClusterConfig().GetTopology().GetGlobalServerAddress(), "us-east-1b"}},
		"keyspace": {{server, "GetKeyspace", "orders"}, {server, "CreateKeyspace", "--durability-policy=semi_sync", "orders"}},
		"rebuild":  {{server, "RebuildKeyspaceGraph", "--cells=us-east-1b", "lookup", "orders"}, {server, "RebuildVSchemaGraph", "--cells=us-east-1b"}},
	}
	stubs := golden.NewStubs(t, vtctld)
	ran := 0
	for _, s := range golden.Scripts(t, raws(plan.Children)) {
		kind := s.Argv[3]
		if kind == "wait-for-topology" {
			continue // TestWaitForTopology runs it against an etcd
		}
		calls, out, code := stubs.Run(t, s.Argv, nil)
		if code != 0 {
			t.Errorf("%s: exit %d: %s", s.Where, code, out)
		}
		if !slices.EqualFunc(calls, want[kind], slices.Equal) {
			t.Errorf("%s called\n%q\nwant\n%q", s.Where, calls, want[kind])
		}
		ran++
	}
	if ran != len(want) {
		t.Errorf("ran %d scripts, want %d", ran, len(want))
	}
}

// TestScriptsNeverRunASpecValue builds a cell whose every value that
// reaches a script is a command in disguise, bypassing the checks that
// would refuse them, and runs every script it renders against a stand-in
// vtctldclient: nothing runs but vtctldclient, which gets each value whole.
func TestScriptsNeverRunASpecValue(t *testing.T) {
	mark := filepath.Join(t.TempDir(), "ran")
	for i, p := range golden.Payloads(mark) {
		t.Run(fmt.Sprint("payload ", i), func(t *testing.T) {
			req := load(t, "every-option-global")
			s := req.Parent.Spec
			s.Name = "c" + p
			s.Keyspaces = []*v1.KeyspaceSpec{{Name: "k" + p}}
			s.KeyspaceSetup = []*v1.KeyspaceSetup{{Name: "k" + p, DurabilityPolicy: "none" + p, Vschema: `{"sharded":false}`}}
			s.RemoteKeyspaces = []*v1.RemoteKeyspace{{Name: "r" + p, Shards: []string{"-80" + p}}}
			s.ClusterConfig.VtctldAddress = "v" + p
			s.ClusterConfig.Topology.GlobalServerAddress = "g" + p
			s.ClusterConfig.Topology.CellRoot = "/root" + p
			plan, err := Children(req.GetParent(), nil)
			if err != nil {
				t.Fatal(err)
			}
			scripts := golden.Scripts(t, raws(plan.Children))
			if len(scripts) < 4 {
				t.Fatalf("%d scripts rendered, want the register, keyspace and rebuild Jobs and the VSchema's Pod", len(scripts))
			}
			// A topology with the keyspace (the VSchema's Pod waits for it),
			// and without the cell.
			stubs := golden.NewStubs(t, [][2]string{{"*GetCellInfo*", "exit 1"}, {"*", "exit 0"}})
			var args []string
			for _, sc := range scripts {
				if strings.Contains(sc.Argv[2], p) {
					t.Errorf("%s: the value is part of the script's text:\n%s", sc.Where, sc.Argv[2])
				}
				if sc.Argv[3] == "wait-for-topology" {
					// One try, no pause: the etcd address is a payload.
					sc.Argv = slices.Clone(sc.Argv)
					sc.Argv[5], sc.Argv[6] = "1", "0"
				}
				calls, _, _ := stubs.Run(t, sc.Argv, map[string]string{"/dev/termination-log": filepath.Join(t.TempDir(), "termination-log")})
				for _, c := range calls {
					args = append(args, c...)
				}
			}
			if _, err := os.Stat(mark); err == nil {
				t.Fatalf("payload %d ran a command", i)
			}
			for _, v := range []string{"--server=v" + p, "c" + p, "k" + p, "--durability-policy=none" + p, "r" + p, "--server-address=g" + p, "--root=/root" + p, "--vschema-file=/vt/vschema/vschema.json"} {
				if !slices.Contains(args, v) {
					t.Errorf("vtctldclient never got %q whole; it got %q", v, args)
				}
			}
		})
	}
}
