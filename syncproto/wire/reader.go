package wire

import "google.golang.org/protobuf/encoding/protowire"

// Type is a wire type.
type Type = protowire.Type

// Each calls fn for every field of the message encoded in b, in order. fn
// reads the field's value from the start of b and returns how much of b
// it took (from protowire's Consume functions, or Bytes and Varint; a
// negative size is an error), or 0 to skip the field. What fn keeps of b
// are sub-slices of the message, valid as long as its buffer:
//
//	err := wire.Each(b, func(num wire.Number, typ wire.Type, b []byte) int {
//		if num == wire.RecordState.RecordID {
//			return wire.Bytes(typ, b, &id)
//		}
//		return 0
//	})
func Each(b []byte, fn func(num Number, typ Type, b []byte) int) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		n = fn(num, typ, b)
		if n == 0 {
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
	}
	return nil
}

// Bytes reads a length-delimited value (string, bytes, embedded message)
// from the start of b into *dst, for Each: it returns the size it took,
// or 0 (and leaves *dst) for a field of another wire type.
func Bytes(typ Type, b []byte, dst *[]byte) int {
	if typ != protowire.BytesType {
		return 0
	}
	v, n := protowire.ConsumeBytes(b)
	if n >= 0 {
		*dst = v
	}
	return n
}

// Varint reads a varint value (integer, bool, enum) from the start of b
// into *dst, for Each: it returns the size it took, or 0 (and leaves
// *dst) for a field of another wire type.
func Varint(typ Type, b []byte, dst *uint64) int {
	if typ != protowire.VarintType {
		return 0
	}
	v, n := protowire.ConsumeVarint(b)
	if n >= 0 {
		*dst = v
	}
	return n
}

// ReadTimestamp reads an encoded google.protobuf.Timestamp.
func ReadTimestamp(b []byte) (seconds int64, nanos int32, err error) {
	var s, n uint64
	err = Each(b, func(num Number, typ Type, b []byte) int {
		switch num {
		case Timestamp.Seconds:
			return Varint(typ, b, &s)
		case Timestamp.Nanos:
			return Varint(typ, b, &n)
		}
		return 0
	})
	return int64(s), int32(n), err
}

// ReadDate reads an encoded throughcare.v1.Date.
func ReadDate(b []byte) (year, month, day int32, err error) {
	var y, m, d uint64
	err = Each(b, func(num Number, typ Type, b []byte) int {
		switch num {
		case Date.Year:
			return Varint(typ, b, &y)
		case Date.Month:
			return Varint(typ, b, &m)
		case Date.Day:
			return Varint(typ, b, &d)
		}
		return 0
	})
	return int32(y), int32(m), int32(d), err
}
