package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Purging a client (retention): everything the store holds about them goes
// (the directory entry, its indexes, the assignments and the whole bucket:
// log, states, pointers, head and late index) and a PurgedClient tombstone
// stays, so the id is never reused and devices that held the bucket evict
// it (it is on nobody's caseload any more).
//
//	0x28 client → PurgedClient (JSON)
//
// The first transaction removes the directory entries, writes the
// tombstone and the purge's audit entry, and deletes as much of the bucket
// as fits; if the bucket is larger, further transactions delete the rest
// and the last marks the tombstone Done. From the first commit on the
// client is invisible everywhere (nothing reaches a bucket except through
// the directory) and no change can be appended to the bucket (Append
// refuses a purged bucket), so a purge interrupted by a crash leaves only
// unreachable keys, which FinishPurges deletes.
//
// Deleted keys are Badger tombstones: the old values stay in Badger's
// files until compaction rewrites them (and in backups taken before).

// dPurged is the tombstone table (after the directory's tables).
const dPurged = dInvitesOfArea + 1

// purgeBatch is the most keys one purge transaction deletes, well inside
// Badger's transaction limits at the smallest memtable (a variable for
// tests).
var purgeBatch = 5_000

// ErrPurged reports a change to the bucket of a purged client.
var ErrPurged = fmt.Errorf("store: the client was purged: %w", ErrUnavailable)

// ErrChanged reports that a client's bucket changed after the caller
// decided to purge it (PurgeClient's head); the purge did nothing.
var ErrChanged = errors.New("store: the client changed since it was checked")

// PurgedClient is what is left of a purged client: no personal data.
type PurgedClient struct {
	ID, AreaID string
	PurgedAt   time.Time
	// Done is set once every key of the bucket is deleted.
	Done bool `json:",omitempty"`
}

// PurgedClient returns the tombstone of a purged client (ErrNotFound if
// the client was never purged).
func (tx *badgerDirTx) PurgedClient(id string) (*PurgedClient, error) {
	var p PurgedClient
	return &p, tx.get(dkey(dPurged, id), &p)
}

// bucketTables are the tables whose keys start with a bucket id.
var bucketTables = []byte{tLog, tPointer, tState, tHead, tLate}

// PurgeClient purges a client of the directory, if its bucket's head is
// still head (else ErrChanged, and nothing is done): see the comment at the
// top of this file. audit is stored in the first transaction. A client
// not in the directory is ErrNotFound.
func (s *DB) PurgeClient(ctx context.Context, clientID string, head uint64, at time.Time, audit *Audit) error {
	done, err := s.purgeStart(ctx, clientID, head, at, audit)
	if err != nil || done {
		return err
	}
	return s.finishPurge(ctx, clientID)
}

// purgeStart is PurgeClient's first transaction; it reports whether it
// deleted the whole bucket.
func (s *DB) purgeStart(ctx context.Context, clientID string, head uint64, at time.Time, audit *Audit) (done bool, err error) {
	bucket, err := id16(clientID)
	if err != nil {
		return false, err
	}
	err = s.retry(ctx, func(txn *badger.Txn) error {
		tx := &badgerDirTx{txn: txn, now: s.now(), floor: &s.audit.floor}
		c, err := tx.Client(clientID)
		if err != nil {
			return err
		}
		if h, err := getUint(txn, headKey(bucket)); err != nil {
			return err
		} else if h != head {
			return ErrChanged
		}
		if err := tx.removeClient(c); err != nil {
			return err
		}
		if err := tx.AppendAudit(audit); err != nil {
			return err
		}
		if done, err = deleteBucketKeys(txn, bucket); err != nil {
			return err
		}
		return tx.put(dkey(dPurged, clientID), &PurgedClient{ID: clientID, AreaID: c.AreaID, PurgedAt: at.UTC(), Done: done}, time.Time{})
	})
	s.dirWritten() // the client and its assignments left the directory (dirversion.go)
	if err == nil {
		s.afterAudited(ctx, true)
	}
	return done, err
}

// removeClient deletes a client's directory entry, its indexes and its
// assignments.
func (tx *badgerDirTx) removeClient(c *Client) error {
	as, err := tx.AssignmentsOfClient(c.ID)
	if err != nil {
		return err
	}
	keys := [][]byte{dkey(dClient, c.ID), dkey(dClientsOfArea, c.AreaID, c.ID), dkey(dClientsOfTeam, c.TeamID, c.ID)}
	for _, a := range as {
		keys = append(keys, assignmentKey(dAssignment, a.UserID, a.ClientID, a.From), assignmentKey(dAssignmentsOfClient, a.ClientID, a.UserID, a.From))
	}
	for _, k := range keys {
		if err := tx.delete(k); err != nil {
			return err
		}
	}
	return nil
}

// deleteBucketKeys deletes up to purgeBatch keys of a bucket and reports
// whether none is left.
func deleteBucketKeys(txn *badger.Txn, bucket [16]byte) (bool, error) {
	n := 0
	for _, table := range bucketTables {
		prefix := bucketKey(table, bucket)
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Prefix = prefix
		it := txn.NewIterator(opts)
		var keys [][]byte
		for it.Rewind(); it.ValidForPrefix(prefix) && n+len(keys) < purgeBatch; it.Next() {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
		more := it.ValidForPrefix(prefix)
		it.Close()
		for _, k := range keys {
			if err := txn.Delete(k); err != nil {
				return false, err
			}
		}
		n += len(keys)
		if more {
			return false, nil
		}
	}
	return true, nil
}

// finishPurge deletes what is left of a purged client's bucket, a batch per
// transaction, and marks its tombstone Done.
func (s *DB) finishPurge(ctx context.Context, clientID string) error {
	bucket, err := id16(clientID)
	if err != nil {
		return err
	}
	for done := false; !done; {
		err := s.retry(ctx, func(txn *badger.Txn) error {
			tx := &badgerDirTx{txn: txn, now: s.now(), floor: &s.audit.floor}
			p, err := tx.PurgedClient(clientID)
			if err != nil {
				return err
			}
			if p.Done {
				done = true
				return errNothingWritten
			}
			if done, err = deleteBucketKeys(txn, bucket); err != nil {
				return err
			}
			if done {
				p.Done = true
				return tx.put(dkey(dPurged, clientID), p, time.Time{})
			}
			return nil
		})
		s.dirWritten() // the tombstone (dirversion.go)
		if err != nil {
			return err
		}
	}
	return nil
}

// FinishPurges completes the purges a crash interrupted (tombstones not
// Done) and returns their client ids.
func (s *DB) FinishPurges(ctx context.Context) ([]string, error) {
	var open []string
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte{dPurged}
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.ValidForPrefix(opts.Prefix); it.Next() {
			var p PurgedClient
			if err := it.Item().Value(func(b []byte) error { return json.Unmarshal(b, &p) }); err != nil {
				return err
			}
			if !p.Done {
				open = append(open, p.ID)
			}
		}
		return nil
	})
	if err != nil {
		return nil, mapErr(err)
	}
	for _, id := range open {
		if err := s.finishPurge(ctx, id); err != nil {
			return nil, err
		}
	}
	return open, nil
}

// purgedBucket reports whether a bucket belongs to a purged client.
func purgedBucket(txn *badger.Txn, bucket string) (bool, error) {
	_, err := txn.Get(dkey(dPurged, bucket))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}
