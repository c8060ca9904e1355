package kjson

import (
	"reflect"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// fieldInfo is what the codec needs to know about one field.
type fieldInfo struct {
	fd protoreflect.FieldDescriptor
	// intOrString accepts JSON numbers for string values (quantities).
	intOrString bool
	// status marks a field named status: its subtree is read leniently.
	status bool
	// emitEmpty writes the field even when it is empty.
	emitEmpty bool
	// def is the field's schema default, as JSON text, written in place of
	// an empty value: the apiserver stores a defaulted field that way, and
	// an object written without it would differ from what is stored (see
	// Marshal).
	def []byte
	// name is the field's JSON name, quoted, with the colon: "name":
	name []byte
	// sub is the codec facts of a message-typed field (or map value), set
	// when the message's info is built, so nested lookups skip the cache.
	sub *messageInfo
	// goIndex is the index of the field in the generated Go struct.
	goIndex int
	// index is the field's position in its messageInfo's fields.
	index int
}

// messageInfo is what the codec needs to know about one message.
type messageInfo struct {
	fields  []*fieldInfo
	byName  map[string]*fieldInfo
	byField map[protoreflect.FieldNumber]*fieldInfo
	// inline is the bytes field of an inline_json message.
	inline protoreflect.FieldDescriptor
	// flatten is the map field of a flatten_map message.
	flatten protoreflect.FieldDescriptor
	// goType is the generated Go struct type of the message.
	goType reflect.Type
}

var (
	infosMu sync.Mutex
	infos   sync.Map // protoreflect.FullName → *messageInfo
)

// infoOf returns the cached codec facts of md.
func infoOf(md protoreflect.MessageDescriptor) *messageInfo {
	if v, ok := infos.Load(md.FullName()); ok {
		return v.(*messageInfo)
	}
	infosMu.Lock()
	defer infosMu.Unlock()
	building := map[protoreflect.FullName]*messageInfo{}
	mi := build(md, building)
	// Publish only complete infos: nested ones point at each other.
	for name, info := range building {
		infos.Store(name, info)
	}
	return mi
}

// build computes the facts of md and of every message it contains, under
// infosMu; building marks messages in progress so recursive types end.
func build(md protoreflect.MessageDescriptor, building map[protoreflect.FullName]*messageInfo) *messageInfo {
	if v, ok := infos.Load(md.FullName()); ok {
		return v.(*messageInfo)
	}
	if mi, ok := building[md.FullName()]; ok {
		return mi
	}
	mi := &messageInfo{
		byName:  map[string]*fieldInfo{},
		byField: map[protoreflect.FieldNumber]*fieldInfo{},
	}
	emitDefaults := false
	if opts := md.Options(); opts != nil {
		if r, ok := proto.GetExtension(opts, v1.E_Message).(*v1.MessageRules); ok && r != nil {
			fields := md.Fields()
			if r.GetInlineJson() && fields.Len() == 1 && fields.Get(0).Kind() == protoreflect.BytesKind {
				mi.inline = fields.Get(0)
			}
			if r.GetFlattenMap() && fields.Len() == 1 && fields.Get(0).IsMap() {
				mi.flatten = fields.Get(0)
			}
			emitDefaults = r.GetEmitDefaults()
		}
	}
	building[md.FullName()] = mi
	goIndex := map[protoreflect.FieldNumber]int{}
	if mt, err := protoregistry.GlobalTypes.FindMessageByName(md.FullName()); err == nil {
		mi.goType = reflect.TypeOf(mt.Zero().Interface()).Elem()
		for i := range mi.goType.NumField() {
			tag := mi.goType.Field(i).Tag.Get("protobuf")
			parts := strings.Split(tag, ",")
			if len(parts) < 2 {
				continue
			}
			if n, err := strconv.Atoi(parts[1]); err == nil {
				goIndex[protoreflect.FieldNumber(n)] = i
			}
		}
	}
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		f := &fieldInfo{
			fd:     fd,
			status: fd.JSONName() == "status" && fd.Kind() == protoreflect.MessageKind,
			name:   []byte(`"` + fd.JSONName() + `":`),
			index:  i,
		}
		if i, ok := goIndex[fd.Number()]; ok {
			f.goIndex = i
		} else {
			f.goIndex = -1
		}
		if opts := fd.Options(); opts != nil {
			if r, ok := proto.GetExtension(opts, v1.E_Field).(*v1.FieldRules); ok && r != nil {
				f.intOrString = r.GetIntOrString()
				f.emitEmpty = r.GetEmitEmpty()
				if d := r.GetDefault(); d != "" {
					f.def = []byte(d)
				}
			}
		}
		if emitDefaults && !fd.IsList() && !fd.IsMap() && fd.Kind() != protoreflect.MessageKind {
			f.emitEmpty = true
		}
		mi.fields = append(mi.fields, f)
		if fd.IsMap() && fd.MapValue().Kind() == protoreflect.MessageKind {
			f.sub = build(fd.MapValue().Message(), building)
		} else if fd.Kind() == protoreflect.MessageKind && !fd.IsMap() {
			f.sub = build(fd.Message(), building)
		}
		mi.byName[fd.JSONName()] = f
		if string(fd.Name()) != fd.JSONName() {
			mi.byName[string(fd.Name())] = f
		}
		mi.byField[fd.Number()] = f
	}
	return mi
}
