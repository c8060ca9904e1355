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
	"math"
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
	pm := m.ProtoReflect()
	if err := d.message(pm, infoOf(pm.Descriptor()), false); err != nil {
		return err
	}
	if _, err := d.dec.ReadToken(); err == nil {
		return &Error{Err: errors.New("unexpected data after the top-level object")}
	}
	return nil
}

type decoder struct {
	dec *jsontext.Decoder
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

// message decodes a JSON object into m.
func (d *decoder) message(m protoreflect.Message, info *messageInfo, lenient bool) error {
	if info.inline != nil {
		v, err := d.dec.ReadValue()
		if err != nil {
			return &Error{Err: fmt.Errorf("invalid JSON: %w", err)}
		}
		if v.Kind() == 'n' {
			return nil
		}
		m.Set(info.inline, protoreflect.ValueOfBytes(bytes.Clone(v)))
		return nil
	}
	if info.flatten != nil {
		if d.dec.PeekKind() == 'n' {
			return d.skip()
		}
		return d.mapField(m, info.byField[info.flatten.Number()], lenient)
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
		if err := d.field(m, f, lenient || f.status); err != nil {
			return prefix(f.fd.JSONName(), err)
		}
	}
	_, err := d.readToken()
	return err
}

// field decodes the value of one declared field.
func (d *decoder) field(m protoreflect.Message, f *fieldInfo, lenient bool) error {
	fd := f.fd
	switch {
	case fd.IsMap():
		if d.dec.PeekKind() == 'n' {
			return d.skip()
		}
		return d.mapField(m, f, lenient)
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
		list := m.Mutable(fd).List()
		for i := 0; d.dec.PeekKind() != ']'; i++ {
			if fd.Kind() == protoreflect.MessageKind {
				el := list.NewElement()
				if err := d.message(el.Message(), f.sub, lenient); err != nil {
					return prefix("["+strconv.Itoa(i)+"]", err)
				}
				list.Append(el)
				continue
			}
			v, ok, err := d.scalar(fd, f.intOrString, lenient)
			if err != nil {
				return prefix("["+strconv.Itoa(i)+"]", err)
			}
			if ok {
				list.Append(v)
			}
		}
		_, err := d.readToken()
		return err
	case fd.Kind() == protoreflect.MessageKind:
		if d.dec.PeekKind() == 'n' {
			return d.skip()
		}
		return d.message(m.Mutable(fd).Message(), f.sub, lenient)
	default:
		v, ok, err := d.scalar(fd, f.intOrString, lenient)
		if err != nil || !ok {
			return err
		}
		m.Set(fd, v)
		return nil
	}
}

// mapField decodes a JSON object into the map field fd of m.
func (d *decoder) mapField(m protoreflect.Message, f *fieldInfo, lenient bool) error {
	fd := f.fd
	if d.dec.PeekKind() != '{' {
		return d.mismatch("an object", lenient)
	}
	if _, err := d.readToken(); err != nil {
		return err
	}
	mp := m.Mutable(fd).Map()
	vd := fd.MapValue()
	intOrString := f.intOrString
	for d.dec.PeekKind() != '}' {
		kb, err := d.key()
		if err != nil {
			return err
		}
		k := string(kb)
		mk := protoreflect.ValueOfString(k).MapKey()
		if vd.Kind() == protoreflect.MessageKind {
			if d.dec.PeekKind() == 'n' {
				if err := d.skip(); err != nil {
					return prefix(k, err)
				}
				continue
			}
			v := mp.NewValue()
			if err := d.message(v.Message(), f.sub, lenient); err != nil {
				return prefix(k, err)
			}
			mp.Set(mk, v)
			continue
		}
		v, ok, err := d.scalar(vd, intOrString, lenient)
		if err != nil {
			return prefix(k, err)
		}
		if ok {
			mp.Set(mk, v)
		}
	}
	_, err := d.readToken()
	return err
}

// scalar decodes a scalar value; ok is false for null or a skipped value.
func (d *decoder) scalar(fd protoreflect.FieldDescriptor, intOrString, lenient bool) (protoreflect.Value, bool, error) {
	kind := d.dec.PeekKind()
	if kind == 'n' {
		return protoreflect.Value{}, false, d.skip()
	}
	switch fd.Kind() {
	case protoreflect.StringKind:
		if kind == '"' || (intOrString && kind == '0') {
			v, err := d.dec.ReadValue()
			if err != nil {
				return protoreflect.Value{}, false, &Error{Err: fmt.Errorf("invalid JSON: %w", err)}
			}
			if kind == '0' {
				return protoreflect.ValueOfString(string(v)), true, nil
			}
			if bytes.IndexByte(v, '\\') < 0 {
				return protoreflect.ValueOfString(string(v[1 : len(v)-1])), true, nil
			}
			s, err := unquote(v)
			if err != nil {
				return protoreflect.Value{}, false, &Error{Err: err}
			}
			return protoreflect.ValueOfString(s), true, nil
		}
		want := "a string"
		if intOrString {
			want = "a string or a number"
		}
		return protoreflect.Value{}, false, d.mismatch(want, lenient)
	case protoreflect.BoolKind:
		if kind != 't' && kind != 'f' {
			return protoreflect.Value{}, false, d.mismatch("a boolean", lenient)
		}
		tok, err := d.readToken()
		if err != nil {
			return protoreflect.Value{}, false, err
		}
		return protoreflect.ValueOfBool(tok.Bool()), true, nil
	case protoreflect.BytesKind:
		if kind != '"' {
			return protoreflect.Value{}, false, d.mismatch("a base64 string", lenient)
		}
		tok, err := d.readToken()
		if err != nil {
			return protoreflect.Value{}, false, err
		}
		b, err := base64.StdEncoding.DecodeString(tok.String())
		if err != nil {
			return protoreflect.Value{}, false, &Error{Err: fmt.Errorf("invalid base64: %w", err)}
		}
		return protoreflect.ValueOfBytes(b), true, nil
	case protoreflect.EnumKind:
		if kind != '"' {
			return protoreflect.Value{}, false, d.mismatch("a string", lenient)
		}
		tok, err := d.readToken()
		if err != nil {
			return protoreflect.Value{}, false, err
		}
		ev := fd.Enum().Values().ByName(protoreflect.Name(tok.String()))
		if ev == nil {
			if lenient {
				return protoreflect.Value{}, false, nil
			}
			return protoreflect.Value{}, false, &Error{Err: fmt.Errorf("unknown value %q", tok.String())}
		}
		return protoreflect.ValueOfEnum(ev.Number()), true, nil
	}
	// Numbers.
	if kind != '0' {
		return protoreflect.Value{}, false, d.mismatch("a number", lenient)
	}
	raw, err := d.dec.ReadValue()
	if err != nil {
		return protoreflect.Value{}, false, &Error{Err: fmt.Errorf("invalid JSON: %w", err)}
	}
	v, err := number(fd.Kind(), string(raw))
	if err != nil {
		if lenient {
			return protoreflect.Value{}, false, nil
		}
		return protoreflect.Value{}, false, &Error{Err: err}
	}
	return v, true, nil
}

// number parses a JSON number for a numeric proto kind.
func number(k protoreflect.Kind, s string) (protoreflect.Value, error) {
	switch k {
	case protoreflect.DoubleKind, protoreflect.FloatKind:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return protoreflect.Value{}, fmt.Errorf("invalid number %s", s)
		}
		if k == protoreflect.FloatKind {
			return protoreflect.ValueOfFloat32(float32(f)), nil
		}
		return protoreflect.ValueOfFloat64(f), nil
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
		return protoreflect.Value{}, fmt.Errorf("unsupported field kind %v", k)
	}
	if signed {
		i, err := strconv.ParseInt(s, 10, bits)
		if err != nil {
			f, ferr := strconv.ParseFloat(s, 64)
			if ferr != nil || f != math.Trunc(f) || f < -math.Exp2(float64(bits-1)) || f >= math.Exp2(float64(bits-1)) {
				return protoreflect.Value{}, fmt.Errorf("want an integer that fits %d bits, got %s", bits, s)
			}
			i = int64(f)
		}
		if bits == 32 {
			return protoreflect.ValueOfInt32(int32(i)), nil
		}
		return protoreflect.ValueOfInt64(i), nil
	}
	u, err := strconv.ParseUint(s, 10, bits)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != math.Trunc(f) || f < 0 || f >= math.Exp2(float64(bits)) {
			return protoreflect.Value{}, fmt.Errorf("want a non-negative integer that fits %d bits, got %s", bits, s)
		}
		u = uint64(f)
	}
	if bits == 32 {
		return protoreflect.ValueOfUint32(uint32(u)), nil
	}
	return protoreflect.ValueOfUint64(u), nil
}
