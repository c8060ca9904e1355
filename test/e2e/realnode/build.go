//go:build linux

package realnode

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/vtmeta/vtmeta/test/e2e/plane"
)

// CoreDNSVersion is the CoreDNS module the cluster DNS is built from.
const CoreDNSVersion = "v1.12.4"

// Build builds (or finds, cached in test/e2e/.bin) the kubelet and
// kube-proxy, from the plane's k8s.io/kubernetes module, and CoreDNS, with
// `go install` from its own module (its pins, outside go.work).
func Build() error {
	bin := plane.BinDir()
	stamp := filepath.Join(bin, "realnode-versions")
	want := plane.KubernetesVersion + " kubelet kube-proxy coredns@" + CoreDNSVersion
	if got, err := os.ReadFile(stamp); err == nil && string(got) == want {
		return nil
	}
	if err := plane.BuildKubernetes("./cmd/kubelet", "./cmd/kube-proxy"); err != nil {
		return err
	}
	args := []string{"install", "-trimpath", "github.com/coredns/coredns@" + CoreDNSVersion}
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-buildvcs=false", "GOBIN="+bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return os.WriteFile(stamp, []byte(want), 0o644)
}
