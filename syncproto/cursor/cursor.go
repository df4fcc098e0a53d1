// Package cursor encodes the opaque sync cursor: for every bucket a device
// holds, the position it has read up to in that bucket's log, plus the schema
// version the cursor was issued under.
//
// Cursors are authenticated: the server seals each with an HMAC under a key
// only it holds, bound to the user the cursor was issued to. A cursor that was
// altered, truncated, issued by another server or to another user fails to
// decode with [ErrInvalid], and the device is told to reset. Devices never look
// inside a cursor; they store it and send it back.
//
// Layout: version byte 1, uvarint schema version, uvarint bucket count, then
// per bucket (sorted by id) its 16-byte UUID and uvarint position, then a
// 16-byte truncated HMAC-SHA256.
package cursor

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"maps"
	"slices"

	"github.com/google/uuid"
)

const (
	formatVersion = 1
	macLen        = 16
	// MaxBuckets bounds how many buckets one cursor may hold.
	MaxBuckets = 200_000
	// MinKeyLen is the shortest key a codec accepts.
	MinKeyLen = 32
)

// ErrInvalid reports a cursor that is malformed or was not issued by this
// server to this user.
var ErrInvalid = errors.New("cursor: invalid or not issued by this server")

// Cursor is a decoded cursor.
type Cursor struct {
	// Schema is the schema version the cursor was issued under.
	Schema uint32
	// Positions maps bucket (client) ids, as lower-case UUIDs, to the log
	// position read up to.
	Positions map[string]uint64
}

// Codec seals and opens cursors with one server key.
type Codec struct{ key []byte }

// NewCodec returns a codec for key, which must be at least MinKeyLen random
// bytes kept secret by the server.
func NewCodec(key []byte) (*Codec, error) {
	if len(key) < MinKeyLen {
		return nil, errors.New("cursor: key too short")
	}
	return &Codec{key: slices.Clone(key)}, nil
}

// Encode seals c for subject (the user the cursor is issued to). Bucket ids
// that are not UUIDs are skipped: every bucket id in Throughcare is one.
func (k *Codec) Encode(subject string, c Cursor) []byte {
	ids := slices.Sorted(maps.Keys(c.Positions))
	b := make([]byte, 0, 1+5+5+len(ids)*20+macLen)
	b = append(b, formatVersion)
	b = binary.AppendUvarint(b, uint64(c.Schema))
	n := 0
	var body []byte
	for _, id := range ids {
		u, err := uuid.Parse(id)
		if err != nil || u.String() != id {
			continue
		}
		body = append(body, u[:]...)
		body = binary.AppendUvarint(body, c.Positions[id])
		n++
	}
	b = binary.AppendUvarint(b, uint64(n))
	b = append(b, body...)
	return append(b, k.mac(subject, b)...)
}

// Decode opens a cursor sealed for subject. An empty cursor decodes to an
// empty Cursor (a first sync).
func (k *Codec) Decode(subject string, b []byte) (Cursor, error) {
	if len(b) == 0 {
		return Cursor{Positions: map[string]uint64{}}, nil
	}
	if len(b) < 1+macLen {
		return Cursor{}, ErrInvalid
	}
	payload, sum := b[:len(b)-macLen], b[len(b)-macLen:]
	if !hmac.Equal(sum, k.mac(subject, payload)) {
		return Cursor{}, ErrInvalid
	}
	r := bytes.NewReader(payload)
	if v, _ := r.ReadByte(); v != formatVersion {
		return Cursor{}, ErrInvalid
	}
	schema, err := binary.ReadUvarint(r)
	if err != nil || schema > 1<<32-1 {
		return Cursor{}, ErrInvalid
	}
	n, err := binary.ReadUvarint(r)
	if err != nil || n > MaxBuckets || n > uint64(r.Len())/17 {
		return Cursor{}, ErrInvalid
	}
	c := Cursor{Schema: uint32(schema), Positions: make(map[string]uint64, n)}
	var prev []byte
	for range n {
		var u uuid.UUID
		if _, err := io.ReadFull(r, u[:]); err != nil {
			return Cursor{}, ErrInvalid
		}
		if prev != nil && bytes.Compare(prev, u[:]) >= 0 {
			return Cursor{}, ErrInvalid // not sorted or repeated: not ours
		}
		prev = slices.Clone(u[:])
		pos, err := binary.ReadUvarint(r)
		if err != nil {
			return Cursor{}, ErrInvalid
		}
		c.Positions[u.String()] = pos
	}
	if r.Len() != 0 {
		return Cursor{}, ErrInvalid
	}
	return c, nil
}

func (k *Codec) mac(subject string, payload []byte) []byte {
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte(subject))
	m.Write([]byte{0})
	m.Write(payload)
	return m.Sum(nil)[:macLen]
}
