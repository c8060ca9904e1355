// Package kube turns typed Kubernetes objects (the k8s.io/api types) into
// children a layer can send: encoded exactly once, in the form the
// apiserver stores (quantities canonical, integers as integers), without
// the empty creationTimestamp and status the typed structs always write,
// and stamped with the hash of their desired state.
package kube

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/vtmeta/vtmeta/internal/observed"
	"github.com/vtmeta/vtmeta/internal/rollout"
)

// Object is a typed Kubernetes object.
type Object interface {
	GetName() string
	GetAnnotations() map[string]string
	SetAnnotations(map[string]string)
}

// Child stamps and encodes a typed object as a child of the kind and
// apiVersion.
func Child(kind, apiVersion string, o Object) (rollout.Child, error) {
	return rollout.Stamp(kind, apiVersion, o.GetName(),
		func() ([]byte, error) { return Marshal(o) },
		func(h string) {
			a := o.GetAnnotations()
			if a == nil {
				a = map[string]string{}
			}
			a[observed.HashAnnotation] = h
			o.SetAnnotations(a)
		})
}

// Marshal encodes a typed object compactly, leaving out what a child must
// not carry and typed structs always write: its status and a null
// metadata.creationTimestamp. Keys come out sorted, so the encoding is
// deterministic.
func Marshal(o any) ([]byte, error) {
	b, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", o, err)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // integers stay integers, whatever their size
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("encode %T: %w", o, err)
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok && md["creationTimestamp"] == nil {
		delete(md, "creationTimestamp")
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("encode %T: %w", o, err)
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n")), nil
}
