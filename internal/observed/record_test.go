package observed

import (
	"errors"
	"strings"
	"testing"

	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// pod is an observed Pod whose last-applied annotation is record.
func pod(record string) *v1.Object {
	o := &v1.Object{ApiVersion: "v1", Kind: "Pod", Metadata: &v1.ObjectMeta{Name: "p", Namespace: "ns"}}
	if record != "" {
		o.Metadata.Annotations = map[string]string{LastAppliedAnnotation: record}
	}
	return o
}

func TestLastAppliedRefusesRecordsThatDoNotStandForTheChild(t *testing.T) {
	const good = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns","labels":{"a":"b"}},"spec":{"containers":[{"name":"c"}]}}`
	tests := []struct {
		name, record, want string
	}{
		{"the record as Metacontroller writes it", good, ""},
		{"without a namespace", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"}}`, ""},
		{"whitespace around it", " \n" + good + "\n ", ""},
		{"no annotation", "", "no metacontroller.k8s.io/last-applied-configuration annotation"},
		{"members spliced into the answer", `{"a":1}],"children":[],"z":[{"b":1}`, "after the object"},
		{"not JSON", `{"kind":"Pod",BROKEN}`, "not valid"},
		{"an array", `[{"kind":"Pod"}]`, "not a JSON object"},
		{"a string", `"{}"`, "not a JSON object"},
		{"two objects", good + good, "after the object"},
		{"cut short", good[:len(good)-1], "not valid"},
		{"a duplicate kind", `{"apiVersion":"v1","kind":"Pod","kind":"Secret","metadata":{"name":"p"}}`, "not valid"},
		{"a duplicate name", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","name":"q"}}`, "not valid"},
		{"invalid UTF-8", "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"},\"x\":\"\xff\"}", "not valid"},
		{"another name", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"q"}}`, `metadata.name "q"`},
		{"another kind", `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"p"}}`, `kind "Secret"`},
		{"another apiVersion", `{"apiVersion":"v2","kind":"Pod","metadata":{"name":"p"}}`, `apiVersion "v2"`},
		{"another namespace", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"kube-system"}}`, `namespace "kube-system"`},
		{"no identity", `{"spec":{}}`, `apiVersion ""`},
		{"a name that is not a string", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":7}}`, "want a string"},
		{"metadata that is not an object", `{"apiVersion":"v1","kind":"Pod","metadata":"p"}`, "not valid at metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := LastApplied(pod(tt.record))
			if tt.want == "" {
				if err != nil || string(b) != tt.record {
					t.Fatalf("LastApplied = %q, %v; want the record unchanged", b, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("LastApplied accepted %q", tt.record)
			}
			if !errors.Is(err, ErrCannotHold) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "Pod p") {
				t.Errorf("error %q: want ErrCannotHold naming Pod p and %q", err, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	child := func(kind, apiVersion, name, ns string) *v1.Object {
		return &v1.Object{Kind: kind, ApiVersion: apiVersion, Metadata: &v1.ObjectMeta{Name: name, Namespace: ns}}
	}
	types := []string{"Pod.v1", "PersistentVolumeClaim.v1"}
	ok := func() map[string]*v1.ObjectMap {
		return map[string]*v1.ObjectMap{
			"Pod.v1":                   {Objects: map[string]*v1.Object{"p": child("Pod", "v1", "p", "ns")}},
			"PersistentVolumeClaim.v1": {Objects: map[string]*v1.Object{"ns/p": child("PersistentVolumeClaim", "v1", "p", "ns")}},
		}
	}
	tests := []struct {
		name   string
		mutate func(map[string]*v1.ObjectMap)
		want   string
	}{
		{"as Metacontroller sends them", func(map[string]*v1.ObjectMap) {}, ""},
		{"an empty type", func(m map[string]*v1.ObjectMap) { m["Pod.v1"] = &v1.ObjectMap{} }, ""},
		{"a type missing", func(m map[string]*v1.ObjectMap) { delete(m, "Pod.v1") }, `children["Pod.v1"] is missing or null`},
		{"an unknown type", func(m map[string]*v1.ObjectMap) { m["Secret.v1"] = &v1.ObjectMap{} }, `children["Secret.v1"]: not a child type`},
		{"a Pod under the claims", func(m map[string]*v1.ObjectMap) {
			m["PersistentVolumeClaim.v1"].Objects["x"] = child("Pod", "v1", "x", "ns")
		}, "is a Pod.v1"},
		{"no kind", func(m map[string]*v1.ObjectMap) { m["Pod.v1"].Objects["x"] = child("", "", "x", "ns") }, `kind ""`},
		{"no name", func(m map[string]*v1.ObjectMap) { m["Pod.v1"].Objects["x"] = child("Pod", "v1", "", "ns") }, "metadata.name is missing"},
		{"a key that is not the name", func(m map[string]*v1.ObjectMap) { m["Pod.v1"].Objects["y"] = child("Pod", "v1", "x", "ns") }, "neither the child's name"},
		{"another namespace", func(m map[string]*v1.ObjectMap) {
			m["Pod.v1"].Objects["kube-system/x"] = child("Pod", "v1", "x", "kube-system")
		}, "not the parent's"},
		{"one child under both keys", func(m map[string]*v1.ObjectMap) {
			m["Pod.v1"].Objects["ns/p"] = child("Pod", "v1", "p", "ns")
		}, `Pod "p" is listed twice, under "ns/p" and "p"`},
		{"one child under both keys, without a namespace", func(m map[string]*v1.ObjectMap) {
			m["PersistentVolumeClaim.v1"].Objects["p"] = child("PersistentVolumeClaim", "v1", "p", "")
		}, "listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ok()
			tt.mutate(m)
			err := Check(m, types, "ns")
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Check = %v, want an error with %q", err, tt.want)
			}
		})
	}
}
