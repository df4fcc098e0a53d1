package caseload

// The local store's keys: one encrypted database per device directory
// (internal/local), laid out as
//
//	m<name>                          meta: session, cursor, device seq, clock, a reset under way
//	r<bucket 16><record 16>          the server's state of a record, as pulled
//	o<seq 8>                         outbox: a change not yet accepted
//	w<seq 8>                         a write (user action) in the outbox starts at seq: its last seq
//	a<seq 8>                         a change accepted, not yet seen in a pull
//	i<bucket 16><record 16><seq 8>   index of o and a by record
//	j<seq 8>                         a change the server refused
//	k<seq 8>                         its verdict (a v1.ChangeResult)
//	e<bucket 16>                     the client was evicted (taken off the caseload)
//	p<bucket 16>                     its purge has begun, not finished (chunked.go)
//	g b f x s                        the agenda index, derived from the records (see agenda.go)
//
// Ids are UUIDs, kept as their 16 bytes; numbers are big-endian so keys
// sort by them. A write's changes have consecutive seqs; outboxes written
// before w keys existed have none (see outbox.go).

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/throughcare/throughcare/client-sdk/caseload/internal/local"
)

const (
	pMeta     = 'm'
	pRecord   = 'r'
	pOutbox   = 'o'
	pAcked    = 'a'
	pIndex    = 'i'
	pRejected = 'j'
	pVerdict  = 'k'
	pEvicted  = 'e'
	pWrite    = 'w'
)

// Meta keys.
var (
	metaSession = metaKey("session")
	metaCursor  = metaKey("cursor")
	metaSeq     = metaKey("seq")
	metaClock   = metaKey("clock")
	metaOffset  = metaKey("offset")
	metaSynced  = metaKey("synced")
	metaUser    = metaKey("user")
	metaDevice  = metaKey("device")
	// metaAhead is the seq a store that took over a device numbered its
	// changes after, aheadGap past the mark it knew, until the server's
	// answer to its first push tells it the real one (see beginLocked).
	metaAhead = metaKey("ahead")
)

func metaKey(name string) []byte { return append([]byte{pMeta}, name...) }

func be64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

func uid(s string) ([16]byte, error) {
	u, err := uuid.Parse(s)
	if err != nil {
		return [16]byte{}, fmt.Errorf("caseload: %w: not a UUID", ErrInvalid)
	}
	return u, nil
}

func recordKey(bucket, record [16]byte) []byte {
	k := make([]byte, 0, 33)
	k = append(k, pRecord)
	k = append(k, bucket[:]...)
	return append(k, record[:]...)
}

func bucketPrefix(p byte, bucket [16]byte) []byte {
	return append([]byte{p}, bucket[:]...)
}

func seqKey(p byte, seq uint64) []byte { return append([]byte{p}, be64(seq)...) }

func indexKey(bucket, record [16]byte, seq uint64) []byte {
	k := make([]byte, 0, 41)
	k = append(k, pIndex)
	k = append(k, bucket[:]...)
	k = append(k, record[:]...)
	return append(k, be64(seq)...)
}

// openStore opens the device's store.
func openStore(dir string, key []byte, inMemory bool) (*local.DB, error) {
	switch len(key) {
	case 16, 24, 32:
	default:
		return nil, fmt.Errorf("caseload: the encryption key must be 16, 24 or 32 bytes (AES), not %d", len(key))
	}
	db, err := local.Open(dir, key, inMemory)
	if errors.Is(err, local.ErrWrongKey) {
		return nil, ErrWrongKey
	}
	if err != nil {
		return nil, fmt.Errorf("caseload: opening the local store: %w", err)
	}
	return db, nil
}

// durable commits fn's writes and syncs them to disk before returning.
func durable(db *local.DB, fn func(txn *local.Txn) error) error {
	if err := db.Update(fn); err != nil {
		return err
	}
	return db.Sync()
}

// get copies a value out of a transaction; ok is false if the key is absent.
func get(txn *local.Txn, key []byte) (val []byte, ok bool, err error) { return txn.Get(key) }

func getUint(txn *local.Txn, key []byte) (uint64, error) {
	v, ok, err := get(txn, key)
	if err != nil || !ok {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("caseload: corrupt number under %q", key)
	}
	return binary.BigEndian.Uint64(v), nil
}
