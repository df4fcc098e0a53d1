package wire

import (
	"fmt"

	"google.golang.org/protobuf/proto"
)

// Codec is the pass-through protobuf codec: Connect's "proto" codec with
// one addition, that a response which is Raw is handed its encoding instead
// of being decoded. A client that keeps a pull page's records as the bytes
// the server sent (the SDK, the benchmarks' tablets) reads the envelope
// itself, with Each, and decodes nothing else. Codec has the methods of
// connect.Codec without importing Connect; a client passes it as
// connect.WithCodec(wire.Codec{}).
type Codec struct{}

// Raw is a message that Codec does not decode: UnmarshalRaw reads the
// message from b, its encoding. b is the transport's (Connect's buffers are
// pooled): what UnmarshalRaw keeps of it past the call it must copy.
type Raw interface {
	UnmarshalRaw(b []byte) error
}

// Name is the codec's name on the wire, that of Connect's protobuf codec.
func (Codec) Name() string { return "proto" }

// Marshal encodes a proto.Message.
func (Codec) Marshal(m any) ([]byte, error) {
	pm, ok := m.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("wire: cannot encode %T", m)
	}
	return proto.Marshal(pm)
}

// Unmarshal hands b to a Raw m and decodes it into any other proto.Message.
func (Codec) Unmarshal(b []byte, m any) error {
	switch m := m.(type) {
	case Raw:
		return m.UnmarshalRaw(b)
	case proto.Message:
		return proto.Unmarshal(b, m)
	}
	return fmt.Errorf("wire: cannot decode into %T", m)
}
