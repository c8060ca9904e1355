package golden

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// Script is one shell command a child runs: its argv (sh -c script name
// args...) and where it is.
type Script struct {
	// Where names the child and the container or hook.
	Where string
	// Argv is the command.
	Argv []string
}

// Scripts returns every shell command the children run: container and
// init container commands, and exec lifecycle hooks and probes, whose
// argv starts with a shell.
func Scripts(t *testing.T, children []*v1.Raw) []Script {
	t.Helper()
	type exec struct {
		Command []string `json:"command"`
	}
	type handler struct {
		Exec *exec `json:"exec"`
	}
	type container struct {
		Name      string   `json:"name"`
		Command   []string `json:"command"`
		Lifecycle *struct {
			PreStop   *handler `json:"preStop"`
			PostStart *handler `json:"postStart"`
		} `json:"lifecycle"`
		ReadinessProbe *handler `json:"readinessProbe"`
		LivenessProbe  *handler `json:"livenessProbe"`
		StartupProbe   *handler `json:"startupProbe"`
	}
	type podSpec struct {
		InitContainers []container `json:"initContainers"`
		Containers     []container `json:"containers"`
	}
	var out []Script
	for _, c := range children {
		var obj struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Spec struct {
				podSpec
				Template struct {
					Spec podSpec `json:"spec"`
				} `json:"template"`
				JobTemplate struct {
					Spec struct {
						Template struct {
							Spec podSpec `json:"spec"`
						} `json:"template"`
					} `json:"spec"`
				} `json:"jobTemplate"`
			} `json:"spec"`
		}
		if err := json.Unmarshal(c.GetJson(), &obj); err != nil {
			t.Fatal(err)
		}
		add := func(where string, argv []string) {
			if len(argv) > 0 && slices.Contains([]string{"sh", "/bin/sh", "bash", "/bin/bash"}, argv[0]) {
				out = append(out, Script{Where: obj.Kind + " " + obj.Metadata.Name + " " + where, Argv: argv})
			}
		}
		for _, ps := range []podSpec{obj.Spec.podSpec, obj.Spec.Template.Spec, obj.Spec.JobTemplate.Spec.Template.Spec} {
			for _, ct := range append(slices.Clone(ps.InitContainers), ps.Containers...) {
				add(ct.Name, ct.Command)
				hooks := map[string]*handler{"readinessProbe": ct.ReadinessProbe, "livenessProbe": ct.LivenessProbe, "startupProbe": ct.StartupProbe}
				if ct.Lifecycle != nil {
					hooks["preStop"], hooks["postStart"] = ct.Lifecycle.PreStop, ct.Lifecycle.PostStart
				}
				for name, h := range hooks {
					if h != nil && h.Exec != nil {
						add(ct.Name+" "+name, h.Exec.Command)
					}
				}
			}
		}
	}
	return out
}

// Stubs is a directory of stand-in programs for the Vitess clients
// scripts call (vtctldclient): each records its arguments and answers as
// told, so a script runs here as it would in its Pod.
type Stubs struct {
	dir string
}

// NewStubs writes a vtctldclient that records every call and runs, for the
// first pattern (a shell case pattern over its arguments) that matches,
// the shell snippet answers gives it (output and exit status).
func NewStubs(t *testing.T, answers [][2]string) *Stubs {
	t.Helper()
	dir := t.TempDir()
	var cases strings.Builder
	for _, a := range answers {
		fmt.Fprintf(&cases, "%s) %s ;;\n", a[0], a[1])
	}
	// One call is its arguments, each ended by a NUL, then an RS (\036):
	// an argument may hold a newline.
	// The file is found from $0: the directory's name is no part of it.
	script := "#!/bin/sh\ncalls=\"$(dirname \"$0\")/calls\"\nfor a in \"$@\"; do printf '%s\\0' \"$a\" >> \"$calls\"; done\nprintf '\\036' >> \"$calls\"\ncase \"$*\" in\n" +
		cases.String() + "esac\n"
	if err := os.WriteFile(filepath.Join(dir, "vtctldclient"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return &Stubs{dir: dir}
}

// Run runs argv with the stubs first on the PATH, in an empty directory,
// after replacing each key of paths in the script (argv[2]) by its value
// (so a script's fixed paths land in the test's directories). It returns
// the calls the stubs saw, each as its arguments, what the script printed
// and its exit status.
func (s *Stubs) Run(t *testing.T, argv []string, paths map[string]string) (calls [][]string, out []byte, code int) {
	t.Helper()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	argv = slices.Clone(argv)
	for k, v := range paths {
		argv[2] = strings.ReplaceAll(argv[2], k, v)
	}
	_ = os.Remove(filepath.Join(s.dir, "calls"))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"PATH=" + s.dir + ":/usr/bin:/bin", "HOME=" + cmd.Dir}
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	log, _ := os.ReadFile(filepath.Join(s.dir, "calls"))
	for _, line := range bytes.Split(bytes.TrimSuffix(log, []byte{036}), []byte{036}) {
		if len(line) == 0 {
			continue
		}
		var call []string
		for _, a := range bytes.Split(bytes.TrimSuffix(line, []byte{0}), []byte{0}) {
			call = append(call, string(a))
		}
		calls = append(calls, call)
	}
	return calls, out, code
}

// Payloads are values that run a command if a shell ever reads them as
// part of a script: each would create the file mark (an absolute path).
func Payloads(mark string) []string {
	return []string{
		"x$(touch " + mark + ")", "x`touch " + mark + "`", "x;touch " + mark, "x' ; touch " + mark + " ; '",
		"x\" ; touch " + mark + " ; \"", "x\ntouch " + mark, "x&&touch " + mark, "x|touch " + mark,
	}
}
