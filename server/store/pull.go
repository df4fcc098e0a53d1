package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
)

// Pull reads, for each bucket in id order, the records whose last change is
// after the bucket's From position, in log order. Its cost grows with the
// records returned plus one seek per bucket, never with the store's size.
func (s *DB) Pull(ctx context.Context, q PullQuery) (*PullPage, error) {
	limit := max(q.Limit, 1)
	page := &PullPage{}
	var arena recordArena
	err := s.db.View(func(txn *badger.Txn) error {
		total, size := 0, 0
		for _, bucketID := range slices.Sorted(maps.Keys(q.From)) {
			if err := ctx.Err(); err != nil {
				return err
			}
			bucket, err := id16(bucketID)
			if err != nil {
				return err
			}
			from := q.From[bucketID]
			head, err := getUint(txn, headKey(bucket))
			if err != nil {
				return err
			}
			if from > head {
				return &CursorAheadError{Bucket: bucketID, From: from, Head: head}
			}
			bp := BucketPage{Bucket: bucketID, Position: head}
			if from < head {
				bp.Records = make([][]byte, 0, min(head-from, uint64(limit-total)))
				stopped, err := scanStates(txn, bucket, from, func(pos uint64, v []byte) (bool, error) {
					// Stop before a record that would take the page past its
					// byte limit (a page always holds at least one record).
					if total >= limit || (q.MaxBytes > 0 && total > 0 && size+len(v) > q.MaxBytes) {
						return true, nil
					}
					bp.Records = append(bp.Records, arena.copy(v))
					bp.Position = pos
					total++
					size += len(v)
					return false, nil
				})
				if err != nil {
					return err
				}
				if stopped {
					if len(bp.Records) == 0 {
						bp.Position = from
					}
					page.Buckets = append(page.Buckets, bp)
					page.HasMore = true
					return nil
				}
				// Every record after from was read: the reader stands at the
				// head, past log entries that changed no state.
				bp.Position = head
			}
			page.Buckets = append(page.Buckets, bp)
		}
		return nil
	})
	if err != nil {
		return nil, mapErr(err)
	}
	return page, nil
}

// recordArena copies the records of a page into a few large buffers
// rather than one allocation each: a page's records live and die
// together.
type recordArena struct{ buf []byte }

// arenaChunk is the size of the arena's buffers; a record larger than a
// quarter of it gets a buffer of its own.
const arenaChunk = 256 << 10

// copy returns a copy of v that the arena owns.
func (a *recordArena) copy(v []byte) []byte {
	if len(v) > arenaChunk/4 {
		return slices.Clone(v)
	}
	if len(a.buf)+len(v) > cap(a.buf) {
		a.buf = make([]byte, 0, arenaChunk)
	}
	n := len(a.buf)
	a.buf = append(a.buf, v...)
	return a.buf[n:len(a.buf):len(a.buf)]
}

// scanStates calls fn for each record state of bucket positioned after from,
// in order, until fn asks to stop; it reports whether fn stopped it. v is
// valid only during the call. Values are not prefetched: the store keeps
// them in its tables (no value log read to overlap), where prefetching
// would only copy each one once more.
func scanStates(txn *badger.Txn, bucket [16]byte, from uint64, fn func(pos uint64, v []byte) (bool, error)) (bool, error) {
	prefix := bucketKey(tState, bucket)
	opts := badger.DefaultIteratorOptions
	opts.Prefix = prefix
	opts.PrefetchValues = false
	it := txn.NewIterator(opts)
	defer it.Close()
	for it.Seek(stateKey(bucket, from+1)); it.ValidForPrefix(prefix); it.Next() {
		item := it.Item()
		pos := binary.BigEndian.Uint64(item.Key()[len(prefix):])
		var stop bool
		err := item.Value(func(v []byte) error {
			var err error
			stop, err = fn(pos, v)
			return err
		})
		if err != nil || stop {
			return stop, err
		}
	}
	return false, nil
}

// Records returns the current expanded states of the given records.
func (s *DB) Records(ctx context.Context, bucketID string, recordIDs []string) (map[string]*v1.RecordState, error) {
	bucket, err := id16(bucketID)
	if err != nil {
		return nil, err
	}
	out := map[string]*v1.RecordState{}
	err = s.db.View(func(txn *badger.Txn) error {
		for _, id := range recordIDs {
			if err := readRecord(txn, bucket, id, out); err != nil {
				return err
			}
		}
		return nil
	})
	return out, mapErr(err)
}

// ClientRecords implements Store.ClientRecords: one read transaction for
// every client.
func (s *DB) ClientRecords(ctx context.Context, clientIDs []string) (map[string]*v1.RecordState, error) {
	out := make(map[string]*v1.RecordState, len(clientIDs))
	err := s.db.View(func(txn *badger.Txn) error {
		for _, id := range clientIDs {
			bucket, err := id16(id)
			if err != nil {
				return err
			}
			if err := readRecord(txn, bucket, id, out); err != nil {
				return err
			}
		}
		return nil
	})
	return out, mapErr(err)
}

// readRecord puts the expanded state of a bucket's record into out under
// its id, if it exists.
func readRecord(txn *badger.Txn, bucket [16]byte, id string, out map[string]*v1.RecordState) error {
	rec, err := id16(id)
	if err != nil {
		return err
	}
	pos, err := getUint(txn, pointerKey(bucket, rec))
	if err != nil || pos == 0 {
		return err
	}
	st := &v1.RecordState{}
	found, err := getProto(txn, stateKey(bucket, pos), st)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("store: record pointer to missing state at position %d", pos)
	}
	out[id] = merge.Expand(st)
	return nil
}

// History returns every accepted change to one record, oldest first. It
// scans the bucket's log.
func (s *DB) History(ctx context.Context, bucketID, recordID string) ([]*v1.HistoryEntry, error) {
	bucket, err := id16(bucketID)
	if err != nil {
		return nil, err
	}
	var out []*v1.HistoryEntry
	needle := []byte(recordID)
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
			err := it.Item().Value(func(v []byte) error {
				if !bytes.Contains(v, needle) { // cheap pre-filter before decoding
					return nil
				}
				e := &v1.HistoryEntry{}
				if err := proto.Unmarshal(v, e); err != nil {
					return err
				}
				if e.GetRecordId() == recordID {
					out = append(out, e)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return out, mapErr(err)
}

// Heads returns each bucket's head position.
func (s *DB) Heads(ctx context.Context, buckets []string) (map[string]uint64, error) {
	out := make(map[string]uint64, len(buckets))
	err := s.db.View(func(txn *badger.Txn) error {
		for _, id := range buckets {
			b, err := id16(id)
			if err != nil {
				return err
			}
			if out[id], err = getUint(txn, headKey(b)); err != nil {
				return err
			}
		}
		return nil
	})
	return out, mapErr(err)
}

// HighWater returns a device's high-water mark.
func (s *DB) HighWater(ctx context.Context, deviceID string) (uint64, error) {
	var n uint64
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		n, err = getUint(txn, deviceKey(deviceID))
		return err
	})
	return n, mapErr(err)
}
