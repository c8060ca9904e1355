package kjson

import (
	"encoding/base64"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Marshal encodes m as compact Kubernetes-style JSON. Fields are written in
// declaration order and map keys sorted, so equal messages give equal bytes.
// A scalar is written when it is set (proto3 optional) or not zero; lists,
// maps and messages when they are not empty; a field marked emit_empty (or
// any scalar of a message marked emit_defaults) always. An empty field with
// a schema default is written as its default, as the apiserver stores it:
// Metacontroller merges a child's lists whole, so a list item the hook
// wrote without a defaulted field would differ from the stored one on
// every sync, and Metacontroller would update the child forever.
//
// Marshal reads the generated Go structs directly through reflect, with the
// field layout worked out once per message type; going through protoreflect
// costs several times more per field.
func Marshal(m proto.Message) ([]byte, error) {
	return AppendMarshal(make([]byte, 0, 512), m)
}

// AppendMarshal appends the encoding of m to b.
func AppendMarshal(b []byte, m proto.Message) ([]byte, error) {
	info := infoOf(m.ProtoReflect().Descriptor())
	v := reflect.ValueOf(m)
	if info.goType == nil || v.Kind() != reflect.Pointer || v.Type().Elem() != info.goType {
		return nil, fmt.Errorf("kjson: %T is not a generated message", m)
	}
	if v.IsNil() {
		v = reflect.New(info.goType)
	}
	return appendStruct(b, v.Elem(), info)
}

// appendStruct writes the generated struct v of the message described by info.
func appendStruct(b []byte, v reflect.Value, info *messageInfo) ([]byte, error) {
	if info.inline != nil {
		raw := v.Field(info.byField[info.inline.Number()].goIndex).Bytes()
		if len(raw) == 0 {
			return append(b, "null"...), nil
		}
		return append(b, raw...), nil
	}
	if info.flatten != nil {
		f := info.byField[info.flatten.Number()]
		return appendMap(b, v.Field(f.goIndex), f)
	}
	b = append(b, '{')
	first := true
	var err error
	for _, f := range info.fields {
		fv := v.Field(f.goIndex)
		fd := f.fd
		switch {
		case fd.IsMap():
			if fv.Len() == 0 && f.def != nil {
				b = append(field(b, &first, f), f.def...)
				continue
			}
			if fv.Len() == 0 && !f.emitEmpty {
				continue
			}
			b = field(b, &first, f)
			b, err = appendMap(b, fv, f)
		case fd.IsList():
			if fv.Len() == 0 && f.def != nil {
				b = append(field(b, &first, f), f.def...)
				continue
			}
			if fv.Len() == 0 && !f.emitEmpty {
				continue
			}
			b = field(b, &first, f)
			b, err = appendList(b, fv, f)
		case fd.Kind() == protoreflect.MessageKind:
			if fv.IsNil() {
				if f.def != nil {
					b = append(field(b, &first, f), f.def...)
					continue
				}
				if !f.emitEmpty {
					continue
				}
				fv = reflect.New(f.sub.goType)
			}
			b = field(b, &first, f)
			b, err = appendStruct(b, fv.Elem(), f.sub)
		default:
			if fv.Kind() == reflect.Pointer { // proto3 optional
				if fv.IsNil() {
					if f.def != nil {
						b = append(field(b, &first, f), f.def...)
					}
					continue
				}
				fv = fv.Elem()
			} else if fv.IsZero() && f.def != nil {
				b = append(field(b, &first, f), f.def...)
				continue
			} else if fv.IsZero() && !f.emitEmpty {
				continue
			}
			b = field(b, &first, f)
			b, err = appendScalar(b, fd, fv)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fd.JSONName(), err)
		}
	}
	return append(b, '}'), nil
}

// field writes the separator and the quoted name of a field.
func field(b []byte, first *bool, f *fieldInfo) []byte {
	if !*first {
		b = append(b, ',')
	}
	*first = false
	return append(b, f.name...)
}

func appendList(b []byte, l reflect.Value, f *fieldInfo) ([]byte, error) {
	b = append(b, '[')
	var err error
	for i := range l.Len() {
		if i > 0 {
			b = append(b, ',')
		}
		el := l.Index(i)
		if f.fd.Kind() == protoreflect.MessageKind {
			if el.IsNil() {
				el = reflect.New(f.sub.goType)
			}
			b, err = appendStruct(b, el.Elem(), f.sub)
		} else {
			b, err = appendScalar(b, f.fd, el)
		}
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
	}
	return append(b, ']'), nil
}

func appendMap(b []byte, mp reflect.Value, f *fieldInfo) ([]byte, error) {
	keys := make([]string, 0, mp.Len())
	iter := mp.MapRange()
	for iter.Next() {
		keys = append(keys, iter.Key().String())
	}
	slices.Sort(keys)
	vd := f.fd.MapValue()
	b = append(b, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = jsontext.AppendQuote(b, k); err != nil {
			return nil, err
		}
		b = append(b, ':')
		v := mp.MapIndex(reflect.ValueOf(k))
		if vd.Kind() == protoreflect.MessageKind {
			if v.IsNil() {
				v = reflect.New(f.sub.goType)
			}
			b, err = appendStruct(b, v.Elem(), f.sub)
		} else {
			b, err = appendScalar(b, vd, v)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
	}
	return append(b, '}'), nil
}

func appendScalar(b []byte, fd protoreflect.FieldDescriptor, v reflect.Value) ([]byte, error) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return jsontext.AppendQuote(b, v.String())
	case protoreflect.BoolKind:
		return strconv.AppendBool(b, v.Bool()), nil
	case protoreflect.BytesKind:
		return jsontext.AppendQuote(b, base64.StdEncoding.EncodeToString(v.Bytes()))
	case protoreflect.EnumKind:
		ev := fd.Enum().Values().ByNumber(protoreflect.EnumNumber(v.Int()))
		if ev == nil {
			return nil, fmt.Errorf("unknown enum number %d", v.Int())
		}
		return jsontext.AppendQuote(b, string(ev.Name()))
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return strconv.AppendInt(b, v.Int(), 10), nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return strconv.AppendUint(b, v.Uint(), 10), nil
	case protoreflect.DoubleKind, protoreflect.FloatKind:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%v cannot be written as JSON", f)
		}
		// 'f' with the shortest precision writes 30 as 30, never 3e+01.
		return strconv.AppendFloat(b, f, 'f', -1, 64), nil
	}
	return nil, fmt.Errorf("unsupported field kind %v", fd.Kind())
}
