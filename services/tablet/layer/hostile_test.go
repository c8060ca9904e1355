package layer

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vtmeta/vtmeta/internal/golden"
	"github.com/vtmeta/vtmeta/internal/observed"
)

// edit decodes the steady request, lets f change it and encodes it again.
func edit(t *testing.T, f func(req map[string]any)) []byte {
	t.Helper()
	var req map[string]any
	if err := json.Unmarshal(steadyBody(t), &req); err != nil {
		t.Fatal(err)
	}
	f(req)
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func children(req map[string]any, typ string) map[string]any {
	return req["children"].(map[string]any)[typ].(map[string]any)
}

func annotations(o any) map[string]any {
	return o.(map[string]any)["metadata"].(map[string]any)["annotations"].(map[string]any)
}

// TestAClaimIsNeverLeftOut: a claim the tablet layer cannot explain by its
// name is held as last applied, not left out (Metacontroller would delete
// it and its volume, whatever the reclaim policy says).
func TestAClaimIsNeverLeftOut(t *testing.T) {
	const stray = "vitess-vttablet-zone1-0000000001"
	body := edit(t, func(req map[string]any) {
		claims := children(req, "PersistentVolumeClaim.v1")
		var own map[string]any
		for _, c := range claims {
			own = c.(map[string]any)
		}
		b, _ := json.Marshal(own)
		var other map[string]any
		_ = json.Unmarshal(b, &other)
		other["metadata"].(map[string]any)["name"] = stray
		rec := strings.Replace(annotations(own)[observed.LastAppliedAnnotation].(string), name, stray, 1)
		annotations(other)[observed.LastAppliedAnnotation] = rec
		claims[stray] = other
	})
	for _, retired := range []bool{false, true} {
		b := body
		if retired {
			var req map[string]any
			_ = json.Unmarshal(body, &req)
			req["parent"].(map[string]any)["spec"].(map[string]any)["retired"] = true
			b, _ = json.Marshal(req)
		}
		w := httptest.NewRecorder()
		golden.Handler(t, Service).ServeHTTP(w, golden.Post("/sync", b))
		if w.Code != 200 {
			t.Fatalf("retired=%v: %d %s", retired, w.Code, w.Body)
		}
		var resp struct{ Children []json.RawMessage }
		if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, c := range resp.Children {
			found = found || strings.Contains(string(c), `"name":"`+stray+`"`)
		}
		if !found {
			t.Errorf("retired=%v: claim %s left out of the answer: it would be deleted", retired, stray)
		}
	}
}

// TestForgedRecordsAre500s: a record that does not stand for its child,
// wherever the layer would hold it, makes the answer a 500 naming the
// child, and Metacontroller then changes nothing.
func TestForgedRecordsAre500s(t *testing.T) {
	for _, tt := range []struct {
		name, typ, record, lost string
	}{
		{"a claim's record splices members", "PersistentVolumeClaim.v1", `{"a":1}],"children":[],"z":[{"b":1}`, ""},
		{"a claim's record is not JSON", "PersistentVolumeClaim.v1", `{"kind":"PersistentVolumeClaim",BROKEN}`, ""},
		{"a Lost claim's Pod record is not JSON", "Pod.v1", `{"kind":"Pod",BROKEN}`, "Lost"},
		{"a Lost claim's Pod record names another Pod", "Pod.v1", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"other"}}`, "Lost"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := edit(t, func(req map[string]any) {
				for _, c := range children(req, tt.typ) {
					annotations(c)[observed.LastAppliedAnnotation] = tt.record
				}
				if tt.lost != "" {
					for _, c := range children(req, "PersistentVolumeClaim.v1") {
						c.(map[string]any)["status"] = map[string]any{"phase": tt.lost}
					}
				}
			})
			w := httptest.NewRecorder()
			golden.Handler(t, Service).ServeHTTP(w, golden.Post("/sync", body))
			if w.Code != 500 || !strings.Contains(w.Body.String(), "cannot hold child") || !strings.Contains(w.Body.String(), name) {
				t.Errorf("%d %.500s, want a 500 naming %s", w.Code, w.Body, name)
			}
		})
	}
}
