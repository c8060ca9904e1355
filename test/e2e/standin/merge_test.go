package standin

import (
	"encoding/json"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
)

func obj(t *testing.T, s string) map[string]any {
	t.Helper()
	if s == "" {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return m
}

// TestMerge checks the stand-in's apply against the behaviour
// Metacontroller documents for its own (api/apply.md).
func TestMerge(t *testing.T) {
	for _, tc := range []struct {
		name                           string
		observed, lastApplied, desired string
		want                           string
	}{
		{"desired overwrites, stored defaults stay",
			`{"a":1,"defaulted":"x"}`, `{"a":1}`, `{"a":2}`, `{"a":2,"defaulted":"x"}`},
		{"a field dropped since last applied goes",
			`{"a":1,"b":2}`, `{"a":1,"b":2}`, `{"a":1}`, `{"a":1}`},
		{"a field never applied stays",
			`{"a":1,"b":2}`, ``, `{"a":1}`, `{"a":1,"b":2}`},
		{"objects with names merge by name, keeping stored fields and items",
			`{"l":[{"name":"x","v":1,"d":"default"},{"name":"other","v":9}]}`, `{"l":[{"name":"x","v":1}]}`, `{"l":[{"name":"x","v":2},{"name":"y","v":3}]}`,
			`{"l":[{"name":"x","v":2,"d":"default"},{"name":"other","v":9},{"name":"y","v":3}]}`},
		{"an item dropped since last applied goes",
			`{"l":[{"name":"x"},{"name":"y"}]}`, `{"l":[{"name":"x"},{"name":"y"}]}`, `{"l":[{"name":"x"}]}`, `{"l":[{"name":"x"}]}`},
		{"containerPort is the key before name",
			`{"p":[{"containerPort":80,"name":"a","protocol":"TCP"}]}`, ``, `{"p":[{"containerPort":80,"name":"b"}]}`,
			`{"p":[{"containerPort":80,"name":"b","protocol":"TCP"}]}`},
		{"a list without a merge key is replaced whole, stored defaults and all",
			`{"shards":[{"keyRange":{"start":"","end":"80"}}]}`, `{"shards":[{"keyRange":{"end":"80"}}]}`, `{"shards":[{"keyRange":{"end":"80"}}]}`,
			`{"shards":[{"keyRange":{"end":"80"}}]}`},
		{"scalars lists are replaced",
			`{"args":["a","b"]}`, `{"args":["a","b"]}`, `{"args":["a"]}`, `{"args":["a"]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			observed := obj(t, tc.observed)
			before, _ := json.Marshal(observed)
			got := Merge(observed, obj(t, tc.lastApplied), obj(t, tc.desired))
			if !equality.Semantic.DeepEqual(got, obj(t, tc.want)) {
				b, _ := json.Marshal(got)
				t.Errorf("Merge = %s, want %s", b, tc.want)
			}
			if after, _ := json.Marshal(observed); string(after) != string(before) {
				t.Errorf("Merge changed observed: %s", after)
			}
		})
	}
}

// TestUpdate checks when the stand-in writes a child and what.
func TestUpdate(t *testing.T) {
	observed := obj(t, `{"metadata":{"name":"c","uid":"u1","resourceVersion":"7","annotations":{"`+LastApplied+`":"{}"}},
		"spec":{"replicas":1,"defaulted":true},"status":{"ready":1}}`)
	same := obj(t, `{"metadata":{"name":"c"},"spec":{"replicas":1}}`)
	if got := update(observed, same, same, `{"same":true}`); got != nil {
		t.Errorf("an answer that changes nothing writes %v", got)
	}
	got := update(observed, same, obj(t, `{"metadata":{"name":"c"},"spec":{"replicas":2}}`), `{"new":true}`)
	want := obj(t, `{"metadata":{"name":"c","uid":"u1","resourceVersion":"7","annotations":{"`+LastApplied+`":"{\"new\":true}"}},
		"spec":{"replicas":2,"defaulted":true},"status":{"ready":1}}`)
	if !equality.Semantic.DeepEqual(got, want) {
		a, _ := json.Marshal(got)
		t.Errorf("update = %s", a)
	}
	// The answer carries no status and cannot change system fields.
	if got := update(observed, same, obj(t, `{"metadata":{"name":"c","uid":"other"},"spec":{"replicas":1}}`), `{}`); got != nil {
		t.Errorf("a different uid in the answer writes %v", got)
	}
}
