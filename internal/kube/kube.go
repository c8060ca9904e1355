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

	"github.com/go-json-experiment/json/jsontext"

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

// Marshal encodes a typed object compactly without its status, which a
// child must not carry and typed structs always write. Field order is the
// struct's and map keys are sorted, so the encoding is deterministic.
func Marshal(o any) ([]byte, error) {
	b, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", o, err)
	}
	return dropTopLevel(b, "status")
}

// dropTopLevel removes one member of a JSON object, copying the others.
func dropTopLevel(b []byte, name string) ([]byte, error) {
	dec := jsontext.NewDecoder(bytes.NewBuffer(b))
	out := make([]byte, 0, len(b))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return nil, fmt.Errorf("encode: not a JSON object")
	}
	out = append(out, '{')
	first := true
	for dec.PeekKind() != '}' {
		key, err := dec.ReadValue()
		if err != nil {
			return nil, fmt.Errorf("encode: %w", err)
		}
		k := string(key)
		val, err := dec.ReadValue()
		if err != nil {
			return nil, fmt.Errorf("encode: %w", err)
		}
		if k == `"`+name+`"` {
			continue
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		out = append(out, key...)
		out = append(out, ':')
		out = append(out, val...)
	}
	return append(out, '}'), nil
}
