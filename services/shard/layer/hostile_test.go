package layer

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vtmeta/vtmeta/internal/golden"
	"github.com/vtmeta/vtmeta/internal/observed"
)

// TestForgedRecordsAre500s: one held tablet's last-applied record is
// forged. Before vtmeta checked records, the first one here produced a 200
// whose JSON had two "children" keys: Go's encoding/json keeps the last,
// an empty list, and Metacontroller would have deleted every tablet.
func TestForgedRecordsAre500s(t *testing.T) {
	records := map[string]string{
		"splices members": `{"a":1}],"children":[],"z":[{"b":1}`,
		"not JSON":        `{"kind":"VitessTablet",BROKEN}`,
		"another tablet":  `{"apiVersion":"vitess.io/v1alpha1","kind":"VitessTablet","metadata":{"name":"vitess-vttablet-zone1-0000000001"}}`,
		"an array":        `[]`,
	}
	edits := map[string]func(spec map[string]any){
		"a rollout holds it": func(spec map[string]any) {
			spec["tablets"].(map[string]any)["defaults"].(map[string]any)["image"] = "vitess/lite:v24.0.4"
		},
		"an invalid spec holds it": func(spec map[string]any) { spec["keyspace"] = "" },
		"a retired tablet keeps it": func(spec map[string]any) {
			spec["tablets"].(map[string]any)["rdonly"].(map[string]any)["replicas"] = 1
		},
	}
	for what, record := range records {
		for how, change := range edits {
			t.Run(how+", the record "+what, func(t *testing.T) {
				var req map[string]any
				if err := json.Unmarshal(benchFixture(t, 6), &req); err != nil {
					t.Fatal(err)
				}
				change(req["parent"].(map[string]any)["spec"].(map[string]any))
				tablets := req["children"].(map[string]any)["VitessTablet.vitess.io/v1alpha1"].(map[string]any)
				// The last rdonly tablet (names sort by uid; rdonly uids are
				// the larger here): held in a rollout, retired when the
				// rdonly pool shrinks.
				forged := ""
				for n := range tablets {
					forged = max(forged, n)
				}
				md := tablets[forged].(map[string]any)["metadata"].(map[string]any)
				md["annotations"].(map[string]any)[observed.LastAppliedAnnotation] = record
				body, _ := json.Marshal(req)
				w := httptest.NewRecorder()
				golden.Handler(t, Service).ServeHTTP(w, golden.Post("/sync", body))
				if w.Code != 500 || !strings.Contains(w.Body.String(), "cannot hold child") || !strings.Contains(w.Body.String(), forged) {
					t.Errorf("%d %.600s, want a 500 naming %s", w.Code, w.Body, forged)
				}
			})
		}
	}
}
