package hook

import (
	"bytes"
	"fmt"
	"io"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/proto"

	"github.com/vtmeta/vtmeta/internal/kjson"
)

// codec is the gateway's JSON codec: kjson both ways, so requests are read
// once, straight into the layer's typed messages, and responses written
// with integers as integers and children inline.
type codec struct{}

var _ runtime.Marshaler = codec{}

// ContentType is application/json.
func (codec) ContentType(any) string { return "application/json" }

// Marshal encodes a proto message. A hook response is mostly its
// children's JSON, so the buffer is sized for them up front.
func (codec) Marshal(v any) ([]byte, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("cannot encode %T: not a proto message", v)
	}
	size := 1024
	if r, ok := v.(Response); ok {
		for _, c := range r.GetChildren() {
			size += len(c.GetJson()) + 1
		}
	}
	return kjson.AppendMarshal(make([]byte, 0, size), m)
}

// Unmarshal decodes into a proto message.
func (codec) Unmarshal(data []byte, v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("cannot decode into %T: not a proto message", v)
	}
	return kjson.Unmarshal(data, m)
}

// NewDecoder reads the whole body and decodes it; an empty body is an
// error, never the io.EOF the gateway would take for "no body". A body the
// hook middleware already read is decoded from its bytes, not copied.
func (c codec) NewDecoder(r io.Reader) runtime.Decoder {
	return runtime.DecoderFunc(func(v any) error {
		if b, ok := r.(*body); ok {
			return c.Unmarshal(b.data, v)
		}
		data, err := io.ReadAll(r)
		if err != nil {
			return fmt.Errorf("read request body: %w", err)
		}
		return c.Unmarshal(data, v)
	})
}

// body is a request body already read into memory.
type body struct {
	*bytes.Reader
	data []byte
}

// Close does nothing: the bytes are in memory.
func (*body) Close() error { return nil }

// NewEncoder encodes to w.
func (c codec) NewEncoder(w io.Writer) runtime.Encoder {
	return runtime.EncoderFunc(func(v any) error {
		b, err := c.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	})
}
