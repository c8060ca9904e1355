package observed

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/go-json-experiment/json/jsontext"

	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// ErrCannotHold means a child had to be held as last applied but carries no
// record of it that can be trusted; the layer must answer non-200 so that
// Metacontroller changes nothing.
var ErrCannotHold = errors.New("cannot hold child")

// LastApplied returns the child as Metacontroller last applied it, from
// its last-applied annotation, after checking that the record can be sent
// back as the child: one complete JSON object (no duplicate member names,
// valid UTF-8, nothing after it) whose apiVersion, kind, metadata.name and,
// if the record has one, metadata.namespace are the observed child's.
//
// Anyone who may edit a child's annotations can write this record, and a
// layer copies it into its answer byte for byte: a record that is not one
// object could splice members into the answer (a second "children" key
// that empties the list, or bytes that are not JSON). An error wraps
// ErrCannotHold and names the child.
func LastApplied(o *v1.Object) ([]byte, error) {
	what := o.GetKind() + " " + o.GetMetadata().GetName()
	s, ok := o.GetMetadata().GetAnnotations()[LastAppliedAnnotation]
	if !ok || s == "" {
		return nil, fmt.Errorf("%s: %w: it has no %s annotation", what, ErrCannotHold, LastAppliedAnnotation)
	}
	b := []byte(s)
	if err := checkRecord(b, o); err != nil {
		return nil, fmt.Errorf("%s: %w: its %s annotation %v", what, ErrCannotHold, LastAppliedAnnotation, err)
	}
	return b, nil
}

// identity is what a record says it is.
type identity struct {
	apiVersion, kind, name, namespace string
	hasNamespace                      bool
}

// checkRecord checks that b is one JSON object that stands for o. It scans
// the bytes once, decoding only the four identity strings.
func checkRecord(b []byte, o *v1.Object) error {
	dec := jsontext.NewDecoder(bytes.NewReader(b))
	var id identity
	if err := readIdentity(dec, &id); err != nil {
		return err
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return errors.New("has data after the object")
	}
	md := o.GetMetadata()
	for _, f := range []struct{ field, got, want string }{
		{"apiVersion", id.apiVersion, o.GetApiVersion()},
		{"kind", id.kind, o.GetKind()},
		{"metadata.name", id.name, md.GetName()},
	} {
		if f.got != f.want {
			return fmt.Errorf("says %s %q, the child is %q", f.field, f.got, f.want)
		}
	}
	if id.hasNamespace && id.namespace != md.GetNamespace() {
		return fmt.Errorf("says metadata.namespace %q, the child is in %q", id.namespace, md.GetNamespace())
	}
	return nil
}

// readIdentity reads one JSON object from dec, keeping its identity.
func readIdentity(dec *jsontext.Decoder, id *identity) error {
	if err := open(dec); err != nil {
		return fmt.Errorf("is not a JSON object: %w", err)
	}
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return fmt.Errorf("is not valid JSON: %w", err)
		}
		key := tok.String()
		switch key {
		case "apiVersion":
			id.apiVersion, err = str(dec)
		case "kind":
			id.kind, err = str(dec)
		case "metadata":
			err = readMetadata(dec, id)
		default:
			err = dec.SkipValue()
		}
		if err != nil {
			return fmt.Errorf("is not valid at %s: %w", key, err)
		}
	}
	_, err := dec.ReadToken()
	return err
}

func readMetadata(dec *jsontext.Decoder, id *identity) error {
	if err := open(dec); err != nil {
		return err
	}
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		switch tok.String() {
		case "name":
			id.name, err = str(dec)
		case "namespace":
			id.namespace, err = str(dec)
			id.hasNamespace = true
		default:
			err = dec.SkipValue()
		}
		if err != nil {
			return err
		}
	}
	_, err := dec.ReadToken()
	return err
}

// open reads the '{' that opens an object.
func open(dec *jsontext.Decoder) error {
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	if tok.Kind() != '{' {
		return fmt.Errorf("found %v", tok.Kind())
	}
	return nil
}

func str(dec *jsontext.Decoder) (string, error) {
	tok, err := dec.ReadToken()
	if err != nil {
		return "", err
	}
	if tok.Kind() != '"' {
		return "", fmt.Errorf("want a string, found %v", tok.Kind())
	}
	return tok.String(), nil
}
