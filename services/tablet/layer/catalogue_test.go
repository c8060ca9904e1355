package layer

import (
	"encoding/json"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/vtmeta/vtmeta/internal/golden"
)

// rules are what the tablet layer's answers must respect: an observed child
// may only go when the layer's rules say it does.
var rules = golden.Rules{
	Types:      Service.ChildTypes,
	MayGo:      func(_ map[string]any, typ, _ string) bool { return typ == "Pod.v1" },
	MayRewrite: grown,
}

// grown says whether got is a claim's record with only its requested size
// changed, to a larger one: the expansion in place Claim makes.
func grown(typ string, record, got []byte) bool {
	if typ != "PersistentVolumeClaim.v1" {
		return false
	}
	var was, is map[string]any
	if json.Unmarshal(record, &was) != nil || json.Unmarshal(got, &is) != nil {
		return false
	}
	size := func(o map[string]any) (string, map[string]any) {
		spec, _ := o["spec"].(map[string]any)
		res, _ := spec["resources"].(map[string]any)
		req, _ := res["requests"].(map[string]any)
		s, _ := req["storage"].(string)
		return s, req
	}
	before, reqWas := size(was)
	after, reqIs := size(is)
	if reqWas == nil || reqIs == nil {
		return false
	}
	delete(reqWas, "storage")
	delete(reqIs, "storage")
	if !reflect.DeepEqual(was, is) {
		return false
	}
	a, err := resource.ParseQuantity(after)
	if err != nil {
		return false
	}
	if before == "" {
		return true // a record without a size: the spec's is sent
	}
	b, err := resource.ParseQuantity(before)
	return err == nil && a.Cmp(b) > 0
}

// TestGrown: the fuzz rule allows a claim's size to grow and nothing else.
func TestGrown(t *testing.T) {
	claim := func(size, class string) []byte {
		return []byte(`{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"c"},"spec":{"storageClassName":"` + class +
			`","resources":{"requests":{` + size + `}}}}`)
	}
	for _, tt := range []struct {
		name        string
		typ         string
		record, got []byte
		want        bool
	}{
		{"grown", "PersistentVolumeClaim.v1", claim(`"storage":"4Gi"`, "a"), claim(`"storage":"8Gi"`, "a"), true},
		{"record without a size", "PersistentVolumeClaim.v1", claim(`"other":"1"`, "a"), claim(`"other":"1","storage":"8Gi"`, "a"), true},
		{"same size re-encoded", "PersistentVolumeClaim.v1", claim(`"storage":"4Gi"`, "a"), claim(`"storage":"4096Mi"`, "a"), false},
		{"shrunk", "PersistentVolumeClaim.v1", claim(`"storage":"8Gi"`, "a"), claim(`"storage":"4Gi"`, "a"), false},
		{"grown and another field changed", "PersistentVolumeClaim.v1", claim(`"storage":"4Gi"`, "a"), claim(`"storage":"8Gi"`, "b"), false},
		{"grown, another request dropped", "PersistentVolumeClaim.v1", claim(`"other":"1","storage":"4Gi"`, "a"), claim(`"storage":"8Gi"`, "a"), false},
		{"not a claim", "Pod.v1", claim(`"storage":"4Gi"`, "a"), claim(`"storage":"8Gi"`, "a"), false},
	} {
		if got := grown(tt.typ, tt.record, tt.got); got != tt.want {
			t.Errorf("%s: grown = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestBadRequests sends the catalogue of bad and hostile requests.
func TestBadRequests(t *testing.T) {
	golden.LayerCatalogue(t, Service, "testdata/create-rdonly.request.json", rules)
}

// FuzzHTTP throws arbitrary bodies at the whole HTTP handler.
func FuzzHTTP(f *testing.F) {
	golden.LayerFuzz(f, Service, "testdata/create-rdonly.request.json", rules)
}
