package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"
	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/wire"
)

// Reads for review and reporting: whole buckets at a time, in one read
// transaction each call.

// ScanRecords implements Store.ScanRecords. Its cost is one seek per bucket
// plus the records read; nothing is copied or decoded.
func (s *DB) ScanRecords(ctx context.Context, buckets []string, fn func(bucket string, state []byte) error) error {
	err := s.db.View(func(txn *badger.Txn) error {
		for _, id := range buckets {
			if err := ctx.Err(); err != nil {
				return err
			}
			bucket, err := id16(id)
			if err != nil {
				return err
			}
			if err := scanValues(txn, bucketKey(tState, bucket), func(v []byte) error { return fn(id, v) }); err != nil {
				return err
			}
		}
		return nil
	})
	return mapErr(err)
}

// scanValues calls fn with the value of every key under prefix, in key
// order. Values are read in place, not prefetched: states live in the LSM
// tree (they are far below the value threshold), so reading one is a
// look at the block already in hand, and prefetching would only copy it.
func scanValues(txn *badger.Txn, prefix []byte, fn func(v []byte) error) error {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = prefix
	opts.PrefetchValues = false
	it := txn.NewIterator(opts)
	defer it.Close()
	for it.Rewind(); it.ValidForPrefix(prefix); it.Next() {
		if err := it.Item().Value(fn); err != nil {
			return err
		}
	}
	return nil
}

// LateRecords implements Store.LateRecords.
func (s *DB) LateRecords(ctx context.Context, bucketID string) ([]string, error) {
	bucket, err := id16(bucketID)
	if err != nil {
		return nil, err
	}
	var out []string
	err = s.db.View(func(txn *badger.Txn) error {
		prefix := bucketKey(tLate, bucket)
		opts := badger.DefaultIteratorOptions
		opts.Prefix = prefix
		opts.PrefetchValues = false
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.ValidForPrefix(prefix); it.Next() {
			k := it.Item().Key()[len(prefix):]
			u, err := uuid.FromBytes(k)
			if err != nil {
				return fmt.Errorf("store: corrupt late index key %x", it.Item().Key())
			}
			out = append(out, u.String())
		}
		return nil
	})
	return out, mapErr(err)
}

// Log implements Store.Log.
func (s *DB) Log(ctx context.Context, bucketID string) ([]*v1.HistoryEntry, error) {
	bucket, err := id16(bucketID)
	if err != nil {
		return nil, err
	}
	var out []*v1.HistoryEntry
	err = s.db.View(func(txn *badger.Txn) error {
		prefix := bucketKey(tLog, bucket)
		opts := badger.DefaultIteratorOptions
		opts.Prefix = prefix
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.ValidForPrefix(prefix); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			e := &v1.HistoryEntry{}
			if err := it.Item().Value(func(v []byte) error { return proto.Unmarshal(v, e) }); err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	return out, mapErr(err)
}

// LogEntries implements Store.LogEntries.
func (s *DB) LogEntries(ctx context.Context, bucketID string, positions []uint64) (map[uint64]*v1.HistoryEntry, error) {
	bucket, err := id16(bucketID)
	if err != nil {
		return nil, err
	}
	out := make(map[uint64]*v1.HistoryEntry, len(positions))
	err = s.db.View(func(txn *badger.Txn) error {
		for _, pos := range positions {
			if _, done := out[pos]; done || pos == 0 {
				continue
			}
			e := &v1.HistoryEntry{}
			found, err := getProto(txn, logKey(bucket, pos), e)
			if err != nil {
				return err
			}
			if found {
				out[pos] = e
			}
		}
		return nil
	})
	return out, mapErr(err)
}

// buildLateIndex indexes the late changes of a store written before the
// late index existed, once: it reads the whole log (late entries are rare,
// so the keys fit in memory) and marks the store done.
func (s *DB) buildLateIndex() error {
	var done bool
	var keys [][]byte
	err := s.db.View(func(txn *badger.Txn) error {
		n, err := getUint(txn, keyLateIndex)
		if err != nil || n != 0 {
			done = true
			return err
		}
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte{tLog}
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.ValidForPrefix(opts.Prefix); it.Next() {
			key := it.Item().Key()
			if len(key) != 1+16+8 {
				continue
			}
			err := it.Item().Value(func(v []byte) error {
				late, record, err := lateOf(v)
				if err != nil || !late {
					return err
				}
				rec, err := id16(record)
				if err != nil {
					return err
				}
				keys = append(keys, lateKey([16]byte(key[1:17]), rec))
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || done {
		return err
	}
	slices.SortFunc(keys, func(a, b []byte) int { return slices.Compare(a, b) })
	keys = slices.CompactFunc(keys, func(a, b []byte) bool { return string(a) == string(b) })
	for len(keys) > 0 {
		n := min(len(keys), 10_000)
		if err := s.update(func(txn *badger.Txn) error {
			for _, k := range keys[:n] {
				if err := txn.Set(k, nil); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return fmt.Errorf("store: building the late index: %w", err)
		}
		keys = keys[n:]
	}
	return s.update(func(txn *badger.Txn) error { return txn.Set(keyLateIndex, be64(1)) })
}

// lateOf reads a stored HistoryEntry's late flag and record id.
func lateOf(b []byte) (late bool, record string, err error) {
	var flag uint64
	var id []byte
	err = wire.Each(b, func(num wire.Number, typ wire.Type, b []byte) int {
		switch num {
		case wire.HistoryEntry.Late:
			return wire.Varint(typ, b, &flag)
		case wire.HistoryEntry.RecordID:
			return wire.Bytes(typ, b, &id)
		}
		return 0
	})
	if err != nil {
		return false, "", err
	}
	return flag != 0, string(id), nil
}
