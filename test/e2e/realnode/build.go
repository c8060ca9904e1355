//go:build linux

package realnode

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/vtmeta/vtmeta/test/e2e/plane"
)

// Build builds (or finds, cached in test/e2e/.bin) the kubelet and
// kube-proxy, from the plane's k8s.io/kubernetes module, and CoreDNS with
// the plugins the node uses, from the module ./coredns (CoreDNS's pins,
// outside go.work), reporting progress through logf (nil: quietly).
func Build(logf plane.Logf) error {
	bin := plane.BinDir()
	stamp := filepath.Join(bin, "realnode-versions")
	// CoreDNS's pin and plugins are in its module: a change there rebuilds.
	mod, err := os.ReadFile(filepath.Join(here(), "coredns", "go.mod"))
	if err != nil {
		return err
	}
	main, err := os.ReadFile(filepath.Join(here(), "coredns", "main.go"))
	if err != nil {
		return err
	}
	want := fmt.Sprintf("%s kubelet kube-proxy coredns %x", plane.KubernetesVersion, sha256.Sum256(append(mod, main...)))
	if got, err := os.ReadFile(stamp); err == nil && string(got) == want {
		return nil
	}
	if err := plane.BuildKubernetes(logf, "./cmd/kubelet", "./cmd/kube-proxy"); err != nil {
		return err
	}
	coredns := plane.GoBuild{
		What: "coredns",
		Dir:  filepath.Join(here(), "coredns"),
		Env:  []string{"CGO_ENABLED=0", "GOFLAGS=-buildvcs=false"},
		Args: []string{"build", "-trimpath", "-o", filepath.Join(bin, "coredns"), "."},
		List: []string{"."},
	}
	if err := coredns.Run(logf); err != nil {
		return err
	}
	return os.WriteFile(stamp, []byte(want), 0o644)
}

// here is this package's directory.
func here() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}
