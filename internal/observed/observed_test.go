package observed

import (
	"testing"

	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

func obj(name string) *v1.Object {
	return &v1.Object{Metadata: &v1.ObjectMeta{Name: name, Namespace: "ns"}}
}

func TestIndexBothHookVersions(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]*v1.ObjectMap
	}{
		{"v1 keyed by name", map[string]*v1.ObjectMap{"Pod.v1": {Objects: map[string]*v1.Object{"a": obj("a"), "b": obj("b")}}}},
		{"v2 keyed by namespace/name", map[string]*v1.ObjectMap{"Pod.v1": {Objects: map[string]*v1.Object{"ns/a": obj("a"), "ns/b": obj("b")}}}},
		{"v2 without metadata", map[string]*v1.ObjectMap{"Pod.v1": {Objects: map[string]*v1.Object{"ns/a": {}, "ns/b": {}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Index(tt.in)
			if c.Get("Pod", "v1", "a") == nil || c.Get("Pod", "v1", "b") == nil {
				t.Errorf("children not found by name: %v", c)
			}
			if c.Get("Pod", "v1", "c") != nil || c.Get("Service", "v1", "a") != nil {
				t.Error("found a child that is not there")
			}
			if got := c.Names("Pod", "v1"); len(got) != 2 || got[0] != "a" || got[1] != "b" {
				t.Errorf("Names = %v", got)
			}
		})
	}
}

func TestHash(t *testing.T) {
	o := &v1.Object{Metadata: &v1.ObjectMeta{Annotations: map[string]string{HashAnnotation: "abc"}}}
	if Hash(o) != "abc" {
		t.Errorf("Hash = %q", Hash(o))
	}
	if Hash(obj("x")) != "" {
		t.Error("Hash found on a bare object")
	}
}
