package kjson

import (
	"encoding/base64"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Marshal encodes m as compact Kubernetes-style JSON. Fields are written in
// declaration order and map keys sorted, so equal messages give equal bytes.
// A scalar is written when it is set (proto3 optional) or not zero; lists,
// maps and messages when they are not empty; a field marked emit_empty
// always.
func Marshal(m proto.Message) ([]byte, error) {
	return AppendMarshal(make([]byte, 0, 512), m)
}

// AppendMarshal appends the encoding of m to b.
func AppendMarshal(b []byte, m proto.Message) ([]byte, error) {
	pm := m.ProtoReflect()
	return appendMessage(b, pm, infoOf(pm.Descriptor()))
}

func appendMessage(b []byte, m protoreflect.Message, info *messageInfo) ([]byte, error) {
	if info.inline != nil {
		raw := m.Get(info.inline).Bytes()
		if len(raw) == 0 {
			return append(b, "null"...), nil
		}
		return append(b, raw...), nil
	}
	if info.flatten != nil {
		return appendMap(b, m.Get(info.flatten).Map(), info.byField[info.flatten.Number()])
	}
	b = append(b, '{')
	first := true
	var err error
	for _, f := range info.fields {
		fd := f.fd
		if !m.Has(fd) && !f.emitEmpty {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, f.name...)
		v := m.Get(fd)
		switch {
		case fd.IsMap():
			b, err = appendMap(b, v.Map(), f)
		case fd.IsList():
			b, err = appendList(b, v.List(), f)
		case fd.Kind() == protoreflect.MessageKind:
			b, err = appendMessage(b, v.Message(), f.sub)
		default:
			b, err = appendScalar(b, fd, v)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fd.JSONName(), err)
		}
	}
	return append(b, '}'), nil
}

func appendList(b []byte, l protoreflect.List, f *fieldInfo) ([]byte, error) {
	fd := f.fd
	b = append(b, '[')
	var err error
	for i := range l.Len() {
		if i > 0 {
			b = append(b, ',')
		}
		if fd.Kind() == protoreflect.MessageKind {
			b, err = appendMessage(b, l.Get(i).Message(), f.sub)
		} else {
			b, err = appendScalar(b, fd, l.Get(i))
		}
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
	}
	return append(b, ']'), nil
}

func appendMap(b []byte, mp protoreflect.Map, f *fieldInfo) ([]byte, error) {
	fd := f.fd
	keys := make([]string, 0, mp.Len())
	mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
		keys = append(keys, k.String())
		return true
	})
	slices.Sort(keys)
	vd := fd.MapValue()
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
		v := mp.Get(protoreflect.ValueOfString(k).MapKey())
		if vd.Kind() == protoreflect.MessageKind {
			b, err = appendMessage(b, v.Message(), f.sub)
		} else {
			b, err = appendScalar(b, vd, v)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
	}
	return append(b, '}'), nil
}

func appendScalar(b []byte, fd protoreflect.FieldDescriptor, v protoreflect.Value) ([]byte, error) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return jsontext.AppendQuote(b, v.String())
	case protoreflect.BoolKind:
		return strconv.AppendBool(b, v.Bool()), nil
	case protoreflect.BytesKind:
		return jsontext.AppendQuote(b, base64.StdEncoding.EncodeToString(v.Bytes()))
	case protoreflect.EnumKind:
		ev := fd.Enum().Values().ByNumber(v.Enum())
		if ev == nil {
			return nil, fmt.Errorf("unknown enum number %d", v.Enum())
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
