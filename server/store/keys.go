package store

import (
	"encoding/binary"
	"errors"

	"github.com/google/uuid"
)

// id16 parses a canonical UUID into its 16 bytes.
func id16(id string) ([16]byte, error) {
	u, err := uuid.Parse(id)
	if err != nil || u.String() != id {
		return [16]byte{}, errors.New("store: an id is not a canonical lower-case UUID")
	}
	return u, nil
}

func bucketKey(table byte, bucket [16]byte) []byte {
	k := make([]byte, 0, 1+16+16)
	k = append(k, table)
	return append(k, bucket[:]...)
}

func logKey(bucket [16]byte, pos uint64) []byte {
	return binary.BigEndian.AppendUint64(bucketKey(tLog, bucket), pos)
}

func stateKey(bucket [16]byte, pos uint64) []byte {
	return binary.BigEndian.AppendUint64(bucketKey(tState, bucket), pos)
}

func pointerKey(bucket, record [16]byte) []byte {
	return append(bucketKey(tPointer, bucket), record[:]...)
}

func headKey(bucket [16]byte) []byte { return bucketKey(tHead, bucket) }

func deviceKey(device string) []byte { return append([]byte{tDevice}, device...) }

// rejectKey names the saved verdict of a rejected change. The device id is
// length-prefixed so that one id can never be a prefix of another's keys.
func rejectKey(device string, seq uint64) []byte {
	k := make([]byte, 0, 2+len(device)+8)
	k = append(k, tReject, byte(len(device)))
	k = append(k, device...)
	return binary.BigEndian.AppendUint64(k, seq)
}

func lateKey(bucket, record [16]byte) []byte {
	return append(bucketKey(tLate, bucket), record[:]...)
}

// evictedKey names the end of access whose eviction a device was last
// sent for a bucket. The device id is length-prefixed like rejectKey's.
func evictedKey(device string, bucket [16]byte) []byte {
	k := make([]byte, 0, 2+len(device)+16)
	k = append(k, tEvicted, byte(len(device)))
	k = append(k, device...)
	return append(k, bucket[:]...)
}
