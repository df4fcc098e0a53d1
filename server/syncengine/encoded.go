package syncengine

import (
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/wire"
)

// Pulled records are sent the way they are stored: as protobuf-encoded
// RecordStates. Decoding and re-encoding a large pull would cost most of its
// time, so a BucketUpdate carries them pre-encoded, as unknown-field bytes
// that are exactly the wire form of its repeated records field. A binary
// protobuf encoder writes them out unchanged, and any decoder reads them as
// ordinary records. Go code that wants to read the records, and the JSON
// encoding, must first call Materialize.

// withEncodedRecords attaches pre-encoded records to a bucket update.
func withEncodedRecords(b *v1.BucketUpdate, records [][]byte) *v1.BucketUpdate {
	n := 0
	for _, r := range records {
		n += protowire.SizeTag(wire.BucketUpdate.Records) + protowire.SizeBytes(len(r))
	}
	raw := make([]byte, 0, n)
	for _, r := range records {
		raw = protowire.AppendTag(raw, wire.BucketUpdate.Records, protowire.BytesType)
		raw = protowire.AppendBytes(raw, r)
	}
	b.ProtoReflect().SetUnknown(raw)
	return b
}

// Materialize decodes the pre-encoded records of a pull page into its
// BucketUpdates' Records fields, in place, and returns the page.
func Materialize(p *v1.PullResponse) (*v1.PullResponse, error) {
	for _, b := range p.GetBuckets() {
		raw := b.ProtoReflect().GetUnknown()
		if len(raw) == 0 {
			continue
		}
		b.ProtoReflect().SetUnknown(nil)
		if err := (proto.UnmarshalOptions{Merge: true}).Unmarshal(raw, b); err != nil {
			return nil, err
		}
	}
	return p, nil
}
