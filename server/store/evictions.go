package store

import (
	"context"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Evictions delivered: for each device and bucket, the end of the caller's
// access that the latest eviction sent to the device followed. The sync
// engine refuses late work from a device for access that ended no later
// than that: the device was told to drop the client.

// NoteEvictions implements Store.NoteEvictions.
func (s *DB) NoteEvictions(ctx context.Context, deviceID string, ended map[string]time.Time) error {
	if len(deviceID) == 0 || len(deviceID) > 255 {
		return fmt.Errorf("store: device id must be 1 to 255 bytes")
	}
	return s.retry(ctx, func(txn *badger.Txn) error {
		wrote := false
		for bucketID, end := range ended {
			bucket, err := id16(bucketID)
			if err != nil {
				return err
			}
			if end.UnixNano() <= 0 {
				return fmt.Errorf("store: an end of access before 1970")
			}
			key := evictedKey(deviceID, bucket)
			was, err := getUint(txn, key)
			if err != nil {
				return err
			}
			if n := uint64(end.UnixNano()); n > was {
				if err := txn.Set(key, be64(n)); err != nil {
					return err
				}
				wrote = true
			}
		}
		if !wrote {
			return errNothingWritten // nothing to commit or sync
		}
		return nil
	})
}

// Evictions implements Store.Evictions.
func (s *DB) Evictions(ctx context.Context, deviceID string, buckets []string) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	err := s.db.View(func(txn *badger.Txn) error {
		for _, id := range buckets {
			bucket, err := id16(id)
			if err != nil {
				return err
			}
			n, err := getUint(txn, evictedKey(deviceID, bucket))
			if err != nil {
				return err
			}
			if n != 0 {
				out[id] = time.Unix(0, int64(n)).UTC()
			}
		}
		return nil
	})
	return out, mapErr(err)
}
