// Package kjson reads and writes proto messages as Kubernetes-style JSON:
// camelCase names, integers as JSON integers (int64 included), quantities
// that may be numbers or strings, embedded objects of any kind carried as raw
// JSON, and Metacontroller's name → object maps written as plain maps.
//
// It exists because protojson writes int64 as strings, cannot express
// int-or-string fields, and round-trips embedded objects through
// google.protobuf.Struct, which is slow. kjson skips what a message does not
// declare without building it, so a hook reads a request about as fast as
// the bytes can be scanned.
package kjson

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Error is a decoding error at a JSON path, for example
// "parent.spec.cells[0].name: want a string, got a number".
type Error struct {
	// Path is the JSON path of the offending value.
	Path string
	// Err is what is wrong with it.
	Err error
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Err.Error()
	}
	return e.Path + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// prefix returns err with seg prepended to its path.
func prefix(seg string, err error) error {
	var ke *Error
	if errors.As(err, &ke) {
		switch {
		case ke.Path == "":
			ke.Path = seg
		case strings.HasPrefix(ke.Path, "["):
			ke.Path = seg + ke.Path
		default:
			ke.Path = seg + "." + ke.Path
		}
		return ke
	}
	return &Error{Path: seg, Err: err}
}

// ErrEmpty is returned for an empty document.
var ErrEmpty = errors.New("empty JSON document")

// Unmarshal decodes data into m, which it resets first. Fields m does not
// declare are skipped. Inside any field named "status" values of an
// unexpected type are skipped too: status is written by controllers, and an
// older writer's shape must not make the whole request unreadable.
func Unmarshal(data []byte, m proto.Message) error {
	proto.Reset(m)
	if len(bytes.TrimSpace(data)) == 0 {
		return ErrEmpty
	}
	d := decoder{dec: jsontext.NewDecoder(bytes.NewBuffer(data), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))}
	info := infoOf(m.ProtoReflect().Descriptor())
	v := reflect.ValueOf(m)
	if info.goType == nil || v.Kind() != reflect.Pointer || v.IsNil() || v.Type().Elem() != info.goType {
		return fmt.Errorf("kjson: %T is not a non-nil generated message", m)
	}
	if err := d.message(v.Elem(), info, false); err != nil {
		return err
	}
	if _, err := d.dec.ReadToken(); err != io.EOF {
		return &Error{Err: errors.New("unexpected data after the top-level object")}
	}
	return nil
}

type decoder struct {
	dec *jsontext.Decoder
}

// fieldSet records which fields of a message a decoder has seen.
type fieldSet struct {
	bits uint64
	more map[int]bool
}

// add marks field i of a message of n fields as seen; it reports false if
// it was already.
func (s *fieldSet) add(i, n int) bool {
	if i < 64 {
		if s.bits&(1<<i) != 0 {
			return false
		}
		s.bits |= 1 << i
		return true
	}
	if s.more == nil {
		s.more = make(map[int]bool, n-64)
	}
	if s.more[i] {
		return false
	}
	s.more[i] = true
	return true
}

// kindName names a JSON token kind for error messages.
func kindName(k jsontext.Kind) string {
	switch k {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "invalid JSON"
}

// mismatch reports (or, when lenient, skips) a value of the wrong kind.
func (d *decoder) mismatch(want string, lenient bool) error {
	got := d.dec.PeekKind()
	if lenient {
		return d.skip()
	}
	return &Error{Err: fmt.Errorf("want %s, got %s", want, kindName(got))}
}

func (d *decoder) skip() error {
	if err := d.dec.SkipValue(); err != nil {
		return &Error{Err: fmt.Errorf("invalid JSON: %w", err)}
	}
	return nil
}

func (d *decoder) readToken() (jsontext.Token, error) {
	tok, err := d.dec.ReadToken()
	if err != nil {
		return tok, &Error{Err: fmt.Errorf("invalid JSON: %w", err)}
	}
	return tok, nil
}

// key reads an object member name. The bytes are valid until the next
// read; callers convert them to a string only when they keep it.
func (d *decoder) key() ([]byte, error) {
	v, err := d.dec.ReadValue()
	if err != nil {
		return nil, &Error{Err: fmt.Errorf("invalid JSON: %w", err)}
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return v[1 : len(v)-1], nil
	}
	s, err := jsontext.AppendUnquote(nil, v)
	if err != nil {
		return nil, &Error{Err: fmt.Errorf("invalid JSON string: %w", err)}
	}
	return s, nil
}

// message decodes a JSON object into v, the generated struct of the
// message info describes.
func (d *decoder) message(v reflect.Value, info *messageInfo, lenient bool) error {
	if info.inline != nil {
		raw, err := d.dec.ReadValue()
		if err != nil {
			return &Error{Err: fmt.Errorf("invalid JSON: %w", err)}
		}
		if raw.Kind() == 'n' {
			return nil
		}
		v.Field(info.byField[info.inline.Number()].goIndex).SetBytes(bytes.Clone(raw))
		return nil
	}
	if info.flatten != nil {
		if d.dec.PeekKind() == 'n' {
			return d.skip()
		}
		f := info.byField[info.flatten.Number()]
		return d.mapField(v.Field(f.goIndex), f, lenient)
	}
	switch d.dec.PeekKind() {
	case 'n':
		return d.skip()
	case '{':
	default:
		return d.mismatch("an object", lenient)
	}
	if _, err := d.readToken(); err != nil {
		return err
	}
	var seen fieldSet
	for d.dec.PeekKind() != '}' {
		name, err := d.key()
		if err != nil {
			return err
		}
		f, ok := info.byName[string(name)]
		if !ok {
			if err := d.skip(); err != nil {
				return prefix(string(name), err)
			}
			continue
		}
		if !seen.add(f.index, len(info.fields)) {
			// Decoders differ on which of two values they keep: a
			// duplicate could show the hook one object and the apiserver
			// another.
			return &Error{Path: f.fd.JSONName(), Err: errors.New("duplicate key")}
		}
		if err := d.field(v.Field(f.goIndex), f, lenient || f.status); err != nil {
			return prefix(f.fd.JSONName(), err)
		}
	}
	_, err := d.readToken()
	return err
}

// newMessage allocates a message of the type info describes.
func newMessage(info *messageInfo) reflect.Value { return reflect.New(info.goType) }

// field decodes the value of one declared field into fv.
func (d *decoder) field(fv reflect.Value, f *fieldInfo, lenient bool) error {
	fd := f.fd
	switch {
	case fd.IsMap():
		if d.dec.PeekKind() == 'n' {
			return d.skip()
		}
		return d.mapField(fv, f, lenient)
	case fd.IsList():
		switch d.dec.PeekKind() {
		case 'n':
			return d.skip()
		case '[':
		default:
			return d.mismatch("an array", lenient)
		}
		if _, err := d.readToken(); err != nil {
			return err
		}
		for i := 0; d.dec.PeekKind() != ']'; i++ {
			if fd.Kind() == protoreflect.MessageKind {
				el := newMessage(f.sub)
				if err := d.message(el.Elem(), f.sub, lenient); err != nil {
					return prefix("["+strconv.Itoa(i)+"]", err)
				}
				fv.Set(reflect.Append(fv, el))
				continue
			}
			el := reflect.New(fv.Type().Elem()).Elem()
			ok, err := d.scalar(el, fd, f.intOrString, lenient)
			if err != nil {
				return prefix("["+strconv.Itoa(i)+"]", err)
			}
			if ok {
				fv.Set(reflect.Append(fv, el))
			}
		}
		_, err := d.readToken()
		return err
	case fd.Kind() == protoreflect.MessageKind:
		if d.dec.PeekKind() == 'n' {
			return d.skip()
		}
		if fv.IsNil() {
			fv.Set(newMessage(f.sub))
		}
		return d.message(fv.Elem(), f.sub, lenient)
	default:
		if fv.Kind() == reflect.Pointer { // proto3 optional
			el := reflect.New(fv.Type().Elem())
			ok, err := d.scalar(el.Elem(), fd, f.intOrString, lenient)
			if ok {
				fv.Set(el)
			}
			return err
		}
		_, err := d.scalar(fv, fd, f.intOrString, lenient)
		return err
	}
}

// mapField decodes a JSON object into the map fv.
func (d *decoder) mapField(fv reflect.Value, f *fieldInfo, lenient bool) error {
	if d.dec.PeekKind() != '{' {
		return d.mismatch("an object", lenient)
	}
	if _, err := d.readToken(); err != nil {
		return err
	}
	if fv.IsNil() {
		fv.Set(reflect.MakeMap(fv.Type()))
	}
	vd := f.fd.MapValue()
	for d.dec.PeekKind() != '}' {
		kb, err := d.key()
		if err != nil {
			return err
		}
		k := string(kb)
		if fv.MapIndex(reflect.ValueOf(k)).IsValid() {
			return &Error{Path: k, Err: errors.New("duplicate key")}
		}
		if vd.Kind() == protoreflect.MessageKind {
			if d.dec.PeekKind() == 'n' {
				if lenient {
					if err := d.skip(); err != nil {
						return prefix(k, err)
					}
					continue
				}
				return &Error{Path: k, Err: errors.New("want an object, got null")}
			}
			el := newMessage(f.sub)
			if err := d.message(el.Elem(), f.sub, lenient); err != nil {
				return prefix(k, err)
			}
			fv.SetMapIndex(reflect.ValueOf(k), el)
			continue
		}
		el := reflect.New(fv.Type().Elem()).Elem()
		ok, err := d.scalar(el, vd, f.intOrString, lenient)
		if err != nil {
			return prefix(k, err)
		}
		if ok {
			fv.SetMapIndex(reflect.ValueOf(k), el)
		}
	}
	_, err := d.readToken()
	return err
}

// scalar decodes a scalar value into dst; ok is false for null or a
// skipped value.
func (d *decoder) scalar(dst reflect.Value, fd protoreflect.FieldDescriptor, intOrString, lenient bool) (bool, error) {
	kind := d.dec.PeekKind()
	if kind == 'n' {
		return false, d.skip()
	}
	switch fd.Kind() {
	case protoreflect.StringKind:
		if kind == '"' || (intOrString && kind == '0') {
			v, err := d.dec.ReadValue()
			if err != nil {
				return false, &Error{Err: fmt.Errorf("invalid JSON: %w", err)}
			}
			switch {
			case kind == '0':
				dst.SetString(string(v))
			case bytes.IndexByte(v, '\\') < 0:
				dst.SetString(string(v[1 : len(v)-1]))
			default:
				s, err := unquote(v)
				if err != nil {
					return false, &Error{Err: err}
				}
				dst.SetString(s)
			}
			return true, nil
		}
		want := "a string"
		if intOrString {
			want = "a string or a number"
		}
		return false, d.mismatch(want, lenient)
	case protoreflect.BoolKind:
		if kind != 't' && kind != 'f' {
			return false, d.mismatch("a boolean", lenient)
		}
		tok, err := d.readToken()
		if err != nil {
			return false, err
		}
		dst.SetBool(tok.Bool())
		return true, nil
	case protoreflect.BytesKind:
		if kind != '"' {
			return false, d.mismatch("a base64 string", lenient)
		}
		tok, err := d.readToken()
		if err != nil {
			return false, err
		}
		b, err := base64.StdEncoding.DecodeString(tok.String())
		if err != nil {
			return false, &Error{Err: fmt.Errorf("invalid base64: %w", err)}
		}
		dst.SetBytes(b)
		return true, nil
	case protoreflect.EnumKind:
		if kind != '"' {
			return false, d.mismatch("a string", lenient)
		}
		tok, err := d.readToken()
		if err != nil {
			return false, err
		}
		ev := fd.Enum().Values().ByName(protoreflect.Name(tok.String()))
		if ev == nil {
			if lenient {
				return false, nil
			}
			return false, &Error{Err: fmt.Errorf("unknown value %q", tok.String())}
		}
		dst.SetInt(int64(ev.Number()))
		return true, nil
	}
	// Numbers.
	if kind != '0' {
		return false, d.mismatch("a number", lenient)
	}
	raw, err := d.dec.ReadValue()
	if err != nil {
		return false, &Error{Err: fmt.Errorf("invalid JSON: %w", err)}
	}
	if err := number(dst, fd.Kind(), string(raw)); err != nil {
		if lenient {
			return false, nil
		}
		return false, &Error{Err: err}
	}
	return true, nil
}

// number parses a JSON number into dst for a numeric proto kind. Integers
// written with a fraction or exponent are accepted when they are whole.
func number(dst reflect.Value, k protoreflect.Kind, s string) error {
	switch k {
	case protoreflect.DoubleKind, protoreflect.FloatKind:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("invalid number %s", s)
		}
		dst.SetFloat(f)
		return nil
	}
	var bits int
	signed := true
	switch k {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		bits = 32
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		bits = 64
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		bits, signed = 32, false
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		bits, signed = 64, false
	default:
		return fmt.Errorf("unsupported field kind %v", k)
	}
	if signed {
		i, err := strconv.ParseInt(s, 10, bits)
		if err != nil {
			f, ferr := strconv.ParseFloat(s, 64)
			if ferr != nil || f != math.Trunc(f) || f < -math.Exp2(float64(bits-1)) || f >= math.Exp2(float64(bits-1)) {
				return fmt.Errorf("want an integer that fits %d bits, got %s", bits, s)
			}
			i = int64(f)
		}
		dst.SetInt(i)
		return nil
	}
	u, err := strconv.ParseUint(s, 10, bits)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != math.Trunc(f) || f < 0 || f >= math.Exp2(float64(bits)) {
			return fmt.Errorf("want a non-negative integer that fits %d bits, got %s", bits, s)
		}
		u = uint64(f)
	}
	dst.SetUint(u)
	return nil
}
