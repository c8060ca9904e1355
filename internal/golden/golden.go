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
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vtmeta/vtmeta/internal/hookctx"
	"github.com/vtmeta/vtmeta/internal/kjson"
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
