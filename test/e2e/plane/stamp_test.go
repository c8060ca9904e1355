package plane

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A cache built before kubectl had a build of its own (one stamp for the
// plane and kubectl) is still used for both; anything else is rebuilt.
func TestStamps(t *testing.T) {
	old := planeStamp() + " kubectl"
	for _, tc := range []struct {
		name            string
		plane           string // the plane's stamp
		kubectl         string // kubectl's own stamp
		planeOK, kubeOK bool
	}{
		{"nothing built", "", "", false, false},
		{"an earlier release's stamp", old, "", true, true},
		{"the plane alone", planeStamp(), "", true, false},
		{"the plane, then kubectl", planeStamp(), KubernetesVersion, true, true},
		{"another Kubernetes", "v1.0.0 " + KwokVersion + " kubectl", "v1.0.0", false, false},
		{"another kwok", KubernetesVersion + " v0.0.1", KubernetesVersion, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := planeBuilt(tc.plane); got != tc.planeOK {
				t.Errorf("planeBuilt(%q) = %v, want %v", tc.plane, got, tc.planeOK)
			}
			if got := kubectlBuilt(tc.kubectl, tc.plane); got != tc.kubeOK {
				t.Errorf("kubectlBuilt(%q, %q) = %v, want %v", tc.kubectl, tc.plane, got, tc.kubeOK)
			}
		})
	}
}

// The stamp says which kwok the plane runs: binaries/go.mod must require
// that version and build kwok's command as a tool of the module.
func TestKwokVersionPinned(t *testing.T) {
	mod, err := os.ReadFile(filepath.Join("binaries", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	var version string
	tool := false
	for _, line := range strings.Split(string(mod), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && f[0] == "sigs.k8s.io/kwok":
			version = f[1]
		case len(f) >= 3 && f[0] == "require" && f[1] == "sigs.k8s.io/kwok":
			version = f[2]
		case len(f) == 2 && f[0] == "tool" && f[1] == kwokCmd,
			len(f) == 1 && f[0] == kwokCmd:
			tool = true
		}
	}
	if version != KwokVersion {
		t.Errorf("binaries/go.mod requires sigs.k8s.io/kwok %q; KwokVersion is %q: change both together", version, KwokVersion)
	}
	if !tool {
		t.Errorf("binaries/go.mod has no tool line for %s: BuildPlane builds it from that module", kwokCmd)
	}
}
