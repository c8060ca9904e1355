package layer

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vtmeta/vtmeta/internal/golden"
	"github.com/vtmeta/vtmeta/internal/kube"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// TestScriptsNeverRunASpecValue builds a tablet Pod whose every value that
// reaches a script is a command in disguise, bypassing the checks that
// would refuse them, and runs every script the Pod has (the init
// container's, both preStop hooks) against a stand-in vtctldclient that
// says the tablet is the primary: nothing runs but vtctldclient, which
// gets each value whole.
func TestScriptsNeverRunASpecValue(t *testing.T) {
	mark := filepath.Join(t.TempDir(), "ran")
	for i, p := range golden.Payloads(mark) {
		t.Run(fmt.Sprint("payload ", i), func(t *testing.T) {
			req := golden.Load[*v1.TabletSyncRequest](t, "testdata/create-replica.request.json")
			s := req.Parent.Spec
			s.Cell, s.Keyspace, s.Shard = "c"+p, "k"+p, "s"+p
			s.ClusterConfig.VtctldAddress = "v" + p
			s.ClusterConfig.Credentials = &v1.Credentials{SecretName: "creds"}
			pod, err := Pod(req.GetParent())
			if err != nil {
				t.Fatal(err)
			}
			b, err := kube.Marshal(pod)
			if err != nil {
				t.Fatal(err)
			}
			scripts := golden.Scripts(t, []*v1.Raw{{Json: b}})
			if len(scripts) != 4 {
				t.Fatalf("%d scripts, want the init container's, vttablet's start and two preStop hooks", len(scripts))
			}
			stubs := golden.NewStubs(t, [][2]string{
				{"*GetTablet*", `printf '{\n  "type": "PRIMARY"\n}\n'`}, {"*", "exit 0"},
			})
			dir := t.TempDir()
			paths := map[string]string{LifecycleDir: dir, "/proc/1/fd/1": filepath.Join(dir, "log")}
			// mysqld's preStop waits for vttablet's reparent: run that first.
			slices.SortStableFunc(scripts, func(a, b golden.Script) int {
				return strings.Compare(fmt.Sprint(strings.Contains(a.Where, " mysqld ")), fmt.Sprint(strings.Contains(b.Where, " mysqld ")))
			})
			var args []string
			for _, sc := range scripts {
				if strings.Contains(sc.Argv[2], p) {
					t.Errorf("%s: the value is part of the script's text:\n%s", sc.Where, sc.Argv[2])
				}
				if sc.Argv[3] == "/vt/bin/vttablet" {
					// vttablet's start waits for mysqlctld's socket, then
					// execs the binary with the container's args, which
					// carry the values: it is text of constants alone.
					if sc.Argv[2] != startScript(MysqlctlSocket, startWaitSeconds) {
						t.Errorf("%s: vttablet's start is not the constant wait:\n%s", sc.Where, sc.Argv[2])
					}
					continue
				}
				calls, _, _ := stubs.Run(t, sc.Argv, paths)
				for _, c := range calls {
					args = append(args, c...)
				}
			}
			if _, err := os.Stat(mark); err == nil {
				t.Fatalf("payload %d ran a command", i)
			}
			alias := fmt.Sprintf("c%s-%010d", p, s.GetUid())
			for _, v := range []string{"--server=v" + p, alias, "k" + p + "/s" + p, "--avoid-primary=" + alias} {
				if !slices.Contains(args, v) {
					t.Errorf("vtctldclient never got %q whole; it got %q", v, args)
				}
			}
		})
	}
}
