package plane

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/vtmeta/vtmeta/test/e2e/manifests"
)

// buildPlugin builds the vtmeta CLI as the kubectl plugin kubectl-vtmeta
// into dir.
func buildPlugin(t *testing.T, dir string) {
	t.Helper()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "kubectl-vtmeta"), ".")
	build.Dir = filepath.Join(manifests.Repo(), "cmd", "vtmeta")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/vtmeta: %v\n%s", err, out)
	}
}

// kubectlVtmeta runs "kubectl vtmeta ARGS" with the plane's kubectl, which
// finds the plugin on PATH, as a user would.
func kubectlVtmeta(ctx context.Context, e *Env, pluginDir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(BinDir(), "kubectl"), append([]string{"vtmeta"}, args...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+e.Kubeconfig, "PATH="+pluginDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl vtmeta %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// stuckPod makes a tablet Pod unready on the real plane, as a failing
// readiness probe would (kwok leaves a Pod that has an IP alone), and
// checks that kubectl vtmeta tree shows that Pod as what holds the
// cluster up, with its condition and since when, and every level above it
// not ready; then makes it ready again and waits for the cluster.
func stuckPod(t *testing.T, ctx context.Context, e *Env, vcs dynamic.ResourceInterface) {
	dir := t.TempDir()
	buildPlugin(t, dir)
	out, err := kubectlVtmeta(ctx, e, dir, "tree", "vitess")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "VitessCluster/vitess") || strings.Contains(out, "Not ready") {
		t.Fatalf("a Ready cluster's tree:\n%s", out)
	}
	const pod = "vitess-vttablet-zone1-1700000200"
	setReady := func(status string) {
		t.Helper()
		patch := fmt.Sprintf(`{"status":{"conditions":[{"type":"Ready","status":%q,"reason":"E2EProbe","message":"set by the end-to-end suite","lastTransitionTime":%q}]}}`,
			status, time.Now().UTC().Format(time.RFC3339))
		if _, err := e.Client.Resource(podsGVR).Namespace("default").Patch(ctx, pod, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}, "status"); err != nil {
			t.Fatal(err)
		}
	}
	setReady("False")
	// The Pod is what holds the rest up; the layers carry its state up to
	// the cluster, and the tree shows every level not ready.
	want := "Not ready, holding up the rest:\n  Pod/" + pod + ": Ready=False: E2EProbe: set by the end-to-end suite (phase Running) (since "
	deadline := time.Now().Add(time.Minute)
	for {
		out, err = kubectlVtmeta(ctx, e, dir, "tree", "vitess")
		if err == nil && strings.Contains(out, want) && strings.Contains(out, "ago)") &&
			notReady(out, "VitessTablet/"+pod) && notReady(out, "VitessShard/vitess-zone1-main-80-x") && notReady(out, "VitessCluster/vitess") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("kubectl vtmeta tree does not show the stuck Pod %s and every level above it not ready (%v):\n%s", pod, err, out)
		}
		time.Sleep(time.Second)
	}
	t.Logf("kubectl vtmeta tree vitess, with %s unready:\n%s", pod, out)
	setReady("True")
	deadline = time.Now().Add(2 * time.Minute)
	for {
		got, err := vcs.Get(ctx, "vitess", metav1.GetOptions{})
		if err == nil {
			if st, _ := Condition(got, "Ready"); st == "True" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cluster did not become Ready again after %s did\n%s", pod, e.Failures())
		}
		time.Sleep(time.Second)
	}
}

// notReady says whether the tree's line of an object (Kind/name) shows it
// not ready.
func notReady(tree, object string) bool {
	for _, l := range strings.Split(tree, "\n") {
		if i := strings.Index(l, object+" "); i >= 0 {
			f := strings.Fields(l[i:])
			return len(f) > 1 && f[1] == "False"
		}
	}
	return false
}
