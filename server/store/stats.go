package store

import (
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Sizes are the store's files on disk, as Badger counts them.
type Sizes struct {
	// LSM is the bytes of the LSM tree's tables (keys and small values:
	// all of this store's records).
	LSM int64
	// ValueLog is the bytes of the value-log files (the write-ahead log).
	ValueLog int64
}

// Sizes returns the sizes of the store's files. Badger refreshes them
// about once a minute, so they lag writes.
func (s *DB) Sizes() Sizes {
	lsm, vlog := s.db.Size()
	return Sizes{LSM: lsm, ValueLog: vlog}
}

// Sessions returns the sessions held: signed-in devices whose session has
// neither ended nor reached its absolute expiry (one that has gone unused
// past its idle expiry is counted until then). It reads keys only.
func (s *DB) Sessions() (int, error) {
	n := 0
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: false, Prefix: []byte{dSession}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	return n, mapErr(err)
}

// PoolStats is a database store's connection pool (the PostgreSQL store's
// pgxpool), for the metrics: connections now, and acquisitions since the
// store opened.
type PoolStats struct {
	// Acquired, Idle and Total are the connections in use, idle, and
	// both (with those being opened); Max bounds Total.
	Acquired, Idle, Total, Max int32
	// Acquires is the connections handed out; Waited those that had to
	// wait for one (none was idle); WaitDuration is the time spent
	// acquiring all of them.
	Acquires, Waited int64
	WaitDuration     time.Duration
}
