package store

import (
	"errors"
	"sync"

	"github.com/dgraph-io/badger/v4"
)

// Every write transaction of the store is numbered: commit stores the
// transaction's number under keyCommit, in the transaction itself, and
// numbers are handed out in the order Badger commits (and replays) the
// transactions, so the number under keyCommit after an open is the number
// of the last transaction Badger replayed. After Badger has synced a
// transaction, and before the write is acknowledged, its number goes into
// the acknowledgement record (ackFile) outside Badger's write-ahead log. An
// open that finds a lower number stored than recorded has lost
// acknowledged writes (see checkOpened).
//
// Numbers are increasing but may skip: a transaction that conflicts is
// numbered and then not committed.
type commits struct {
	mu   sync.Mutex // held while a transaction is numbered and queued
	last uint64     // the last number handed out
	ack  *ackFile   // nil for a store in memory
}

// errNothingWritten, returned by a transaction's function, ends it without
// committing it: it wrote nothing, so nothing needs numbering or syncing.
var errNothingWritten = errors.New("store: nothing written")

// update runs fn in a read-write transaction and commits it (see commit).
func (s *DB) update(fn func(txn *badger.Txn) error) error {
	id := s.audit.floor.begin() // before fn draws any pending key
	defer s.audit.floor.end(id) // after the commit succeeded or failed
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	if err := fn(txn); err != nil {
		if errors.Is(err, errNothingWritten) {
			return nil
		}
		return err
	}
	return s.commit(txn)
}

// commit numbers txn, commits it and returns once it is synced and its
// number recorded in the acknowledgement record.
func (s *DB) commit(txn *badger.Txn) error {
	c := &s.commits
	c.mu.Lock()
	n := c.last + 1
	if err := txn.Set(keyCommit, be64(n)); err != nil {
		c.mu.Unlock()
		return err
	}
	// CommitWith assigns the commit's version and queues it for writing
	// before it returns, so versions, the order of the log and numbers
	// agree. It does not wait for the write; commits queued meanwhile
	// share syncs.
	done := make(chan error, 1)
	txn.CommitWith(func(err error) { done <- err })
	c.last = n
	c.mu.Unlock()
	if err := <-done; err != nil {
		return err
	}
	if c.ack == nil {
		return nil
	}
	return c.ack.record(n)
}
