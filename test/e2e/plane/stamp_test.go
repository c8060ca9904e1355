package plane

import (
	"os"
	"os/exec"
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

// The Makefile builds the demo commands with the plane's flags, or the
// plane's first build compiles again what the demo's build compiled.
func TestDemoBuildFlags(t *testing.T) {
	mk, err := os.ReadFile(filepath.Join("..", "..", "..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	var got string
	for _, line := range strings.Split(string(mk), "\n") {
		if v, ok := strings.CutPrefix(line, "DEMO_BUILD :="); ok {
			got = strings.TrimSpace(v)
		}
	}
	if want := strings.Join(BuildFlags, " "); got != want {
		t.Errorf("the Makefile's DEMO_BUILD is %q; plane.BuildFlags is %q: change both together", got, want)
	}
	if !strings.Contains(string(mk), "go build -p $$(( $$(nproc) + 1 )) $(DEMO_BUILD) -o $(BIN)/vtmeta-demo ./test/e2e/cmd/demo") {
		t.Error("make demo does not build its command with $(DEMO_BUILD)")
	}
}

// Every package the demo command and the plane both compile comes from
// the same module version in both builds, so the plane's first build finds
// it in the build cache. Upgrading a module on one side asks for the same
// version on the other (go get in test/e2e/plane/binaries).
func TestDemoSharesThePlanesModules(t *testing.T) {
	if os.Getenv("VTMETA_E2E") == "" {
		t.Skip("set VTMETA_E2E=1: lists the plane's packages, downloading its modules")
	}
	const format = "{{.ImportPath}} {{with .Module}}{{.Path}}@{{with .Replace}}{{.Version}}{{else}}{{.Version}}{{end}}{{end}}"
	list := func(dir string, env []string, pkgs ...string) map[string]string {
		cmd := exec.Command("go", append([]string{"list", "-deps", "-f", format}, pkgs...)...)
		cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list in %s: %v", dir, err)
		}
		mods := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if f := strings.Fields(line); len(f) == 2 {
				mods[f[0]] = f[1]
			}
		}
		return mods
	}
	demo := list(filepath.Join("..", "cmd", "demo"), nil, ".")
	plane := list("binaries", []string{"GOWORK=off"}, "./cmd/kube-apiserver", "./cmd/kube-controller-manager", "./cmd/kube-scheduler", "./cmd/etcd", kwokCmd)
	shared := 0
	for pkg, mod := range demo {
		other, ok := plane[pkg]
		if !ok {
			continue
		}
		shared++
		if other != mod {
			t.Errorf("%s: the demo compiles it from %s, the plane from %s", pkg, mod, other)
		}
	}
	if shared < 100 {
		t.Errorf("the demo and the plane share %d packages; expected client-go and its dependencies (over 100)", shared)
	}
}
