// Package golden runs a layer's hook over recorded requests and compares
// its responses with reviewed golden files, as JSON values rather than
// bytes. Run the tests with -update to rewrite the golden files, then review
// the diff.
package golden

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vtmeta/vtmeta/internal/hook"
	"github.com/vtmeta/vtmeta/internal/hookctx"
	"github.com/vtmeta/vtmeta/internal/kjson"
	"github.com/vtmeta/vtmeta/internal/observed"
	"github.com/vtmeta/vtmeta/internal/spec"
	"github.com/vtmeta/vtmeta/internal/vtflags"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite golden files from the current output")

// Now is the clock golden tests run at.
var Now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// Context returns the context golden tests call hooks with.
func Context() context.Context { return hookctx.WithNow(context.Background(), Now) }

// Run feeds every <case>.request.json in dir to sync and compares the
// response with <case>.response.json.
func Run[Req, Resp proto.Message](t *testing.T, dir string, sync func(context.Context, Req) (Resp, error)) {
	t.Helper()
	reqs, err := filepath.Glob(filepath.Join(dir, "*.request.json"))
	if err != nil || len(reqs) == 0 {
		t.Fatalf("no golden requests in %s (%v)", dir, err)
	}
	for _, path := range reqs {
		name := strings.TrimSuffix(filepath.Base(path), ".request.json")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var zero Req
			req := zero.ProtoReflect().New().Interface().(Req)
			if err := kjson.Unmarshal(data, req); err != nil {
				t.Fatalf("decode %s: %v", path, err)
			}
			resp, err := sync(Context(), req)
			if err != nil {
				t.Fatalf("sync: %v", err)
			}
			got, err := kjson.Marshal(resp)
			if err != nil {
				t.Fatal(err)
			}
			Compare(t, strings.TrimSuffix(path, ".request.json")+".response.json", got)
		})
	}
}

// Compare compares got with the golden file as JSON values, or rewrites the
// file under -update.
func Compare(t *testing.T, path string, got []byte) {
	t.Helper()
	pretty, err := Pretty(got)
	if err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, got)
	}
	if *update {
		if err := os.WriteFile(path, pretty, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("golden file %s: %v", path, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("response differs from %s (run with -update and review the diff):\n%s", path, pretty)
	}
}

// Pretty indents JSON for a golden file.
func Pretty(b []byte) ([]byte, error) {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// Fixture returns the path of a recorded Metacontroller request in
// test/fixtures/metacontroller-v4.17.2, wherever the test runs from.
func Fixture(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "test", "fixtures", "metacontroller-v4.17.2", name)
}

// Updating says whether the tests run with -update, to rewrite what they
// compare against.
func Updating() bool { return *update }

// VitessFlags checks every flag of every Vitess binary a response's
// children run — a container whose command is /vt/bin/<binary> (or sh -c
// with a script that runs it as "$0"), or mysqlctld or vtbackup from the
// shared volume, in a Pod, a workload's template or a CronJob's — against
// that binary's flag list at
// vtflags.VitessVersion, and returns the flags checked, as "binary --flag".
func VitessFlags(t *testing.T, response []byte) []string {
	t.Helper()
	var resp struct {
		Children []json.RawMessage `json:"children"`
	}
	if err := json.Unmarshal(response, &resp); err != nil {
		t.Fatal(err)
	}
	var checked []string
	for _, c := range resp.Children {
		var obj struct {
			Kind string `json:"kind"`
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
		if err := json.Unmarshal(c, &obj); err != nil {
			t.Fatal(err)
		}
		for _, ps := range []podSpec{obj.Spec.podSpec, obj.Spec.Template.Spec, obj.Spec.JobTemplate.Spec.Template.Spec} {
			for _, ct := range append(ps.InitContainers, ps.Containers...) {
				if len(ct.Command) == 0 {
					continue
				}
				command := ct.Command[0]
				if command == "sh" && len(ct.Command) == 4 && ct.Command[1] == "-c" {
					command = ct.Command[3] // a script that runs "$0" "$@"
				}
				binary := filepath.Base(command)
				if !strings.HasPrefix(command, "/vt/bin/") && binary != "mysqlctld" && binary != "vtbackup" {
					continue
				}
				for _, a := range ct.Args {
					name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
					if !strings.HasPrefix(a, "--") {
						t.Errorf("%s %s: argument %q is not a --flag", obj.Kind, binary, a)
						continue
					}
					if err := vtflags.Check(binary, name); err != nil {
						t.Errorf("%s renders %s: %v", obj.Kind, a, err)
					}
					checked = append(checked, binary+" --"+name)
				}
			}
		}
	}
	return checked
}

// podSpec is the part of a Pod spec VitessFlags reads.
type podSpec struct {
	InitContainers []container `json:"initContainers"`
	Containers     []container `json:"containers"`
}

type container struct {
	Command []string `json:"command"`
	Args    []string `json:"args"`
}

// EachRequest loads every <case>.request.json under dir and calls f with
// it.
func EachRequest[Req proto.Message](t *testing.T, dir string, f func(path string, req Req)) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.request.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no requests in %s (%v)", dir, err)
	}
	for _, path := range paths {
		f(path, Load[Req](t, path))
	}
}

// OwnHashOnly checks that no child carries another's desired-state hash: a
// child that did would be rewritten (a Deployment restarted) whenever that
// other child changes.
func OwnHashOnly(t *testing.T, what string, children []*v1.Raw) {
	t.Helper()
	for _, c := range children {
		if n := strings.Count(string(c.GetJson()), `"`+observed.HashAnnotation+`"`); n > 1 {
			t.Errorf("%s: a child carries %d hash annotations, want at most its own: %.300s", what, n, c.GetJson())
		}
	}
}

// VitessFlagsIn checks the Vitess flags of every golden response under dir
// (VitessFlags) and returns the flags checked.
func VitessFlagsIn(t *testing.T, dir string) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.response.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden responses in %s (%v)", dir, err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, flag := range VitessFlags(t, b) {
			seen[flag] = true
		}
	}
	return seen
}

// Affinity is an affinity block of about n bytes (node affinity terms of
// distinct labels), for tests of answers that repeat it.
func Affinity(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[`)
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"matchExpressions":[{"key":"example.com/zone-%d","operator":"In","values":["a","b"]}]}`, i)
	}
	b.WriteString(`]}}}`)
	return []byte(b.String())
}

// EstimateHolds checks a layer's estimate of an answer against the answer
// it built: at least its size (the runtime holds the estimate while the
// answer exists), and, but for the records of held children it counts in
// full (records), at most four times it (a pessimistic estimate refuses
// specs it could serve).
func EstimateHolds(t *testing.T, what string, est, records int64, answer []byte) {
	t.Helper()
	if est < int64(len(answer)) || est-records > 4*int64(len(answer)) {
		t.Errorf("%s: estimated %d bytes (%d of them held records), answered %d (want the estimate at least the answer, and at most four times it but for the records)",
			what, est, records, len(answer))
	}
}

// EstimatesHold checks a layer's estimate (EstimateHolds) for every golden
// request under dir that the layer answers with children it built (not
// held for an invalid spec, which no estimate is for), and for the
// requests more gives.
func EstimatesHold[Req hook.Request, Resp proto.Message](t *testing.T, dir string, sync func(context.Context, Req) (Resp, error), estimate func(Req) int64, more ...Req) {
	t.Helper()
	check := func(what string, req Req) {
		resp, err := sync(Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := kjson.Marshal(resp)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `"InvalidSpec"`) {
			EstimateHolds(t, what, estimate(req), spec.Records(req.GetChildren()), b)
		}
	}
	EachRequest(t, dir, func(path string, req Req) { check(path, req) })
	for i, req := range more {
		check(fmt.Sprint("request ", i), req)
	}
}
