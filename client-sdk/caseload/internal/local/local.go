// Package local is the SDK's store on the device: one encrypted Badger
// database per device directory, behind the few operations the caseload
// package uses (transactions, gets and sets, prefix iteration, batches,
// durable syncs). It knows nothing of the keys' meaning (caseload's
// local.go lays them out), and it is the only package of the SDK that
// imports Badger, so that another embedded store could take its place.
package local

import (
	"errors"

	"github.com/dgraph-io/badger/v4"

	"github.com/throughcare/throughcare/internal/badgerdir"
)

var (
	// ErrWrongKey: the store was made with another encryption key.
	ErrWrongKey = errors.New("local: the encryption key does not open this store")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("local: closed")
	// ErrConflict: an Update read keys another transaction changed before
	// it committed; nothing was written, try again.
	ErrConflict = badger.ErrConflict
)

// DB is an open store.
type DB struct{ db *badger.DB }

// Open opens (creating if needed) the store in dir, encrypted with key
// (AES: 16, 24 or 32 bytes; the caller checks), or one in memory.
func Open(dir string, key []byte, inMemory bool) (*DB, error) {
	opts := badger.DefaultOptions(dir).
		WithInMemory(inMemory).
		WithEncryptionKey(key).
		WithIndexCacheSize(16 << 20).
		WithBlockCacheSize(16 << 20).
		WithMemTableSize(32 << 20).
		WithNumMemtables(2).
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(8).
		WithValueLogFileSize(64 << 20).
		WithNumCompactors(2).
		// Writes the device must not lose (the outbox, the session) are
		// synced explicitly (Sync); pulled pages are not, since a page lost
		// in a crash is pulled again: the cursor is written after its
		// records, in the same write-ahead log, so it is never ahead of them.
		WithSyncWrites(false).
		WithLogger(nil)
	if inMemory {
		opts = opts.WithDir("").WithValueDir("")
	} else if _, err := badgerdir.RemoveEmptyLogs(dir); err != nil {
		// An empty log file left by a kill while the store was opening holds
		// nothing and would fail the open; anything else stays for Badger.
		return nil, err
	}
	db, err := badger.Open(opts)
	if errors.Is(err, badger.ErrEncryptionKeyMismatch) {
		return nil, ErrWrongKey
	}
	if err != nil {
		return nil, err
	}
	return &DB{db: db}, nil
}

// closed maps Badger's "closed" to ErrClosed.
func closed(err error) error {
	if errors.Is(err, badger.ErrDBClosed) {
		return ErrClosed
	}
	return err
}

// View runs fn in a read-only transaction.
func (s *DB) View(fn func(*Txn) error) error {
	return closed(s.db.View(func(txn *badger.Txn) error { return fn(&Txn{txn: txn}) }))
}

// Update runs fn in a read-write transaction, committed if fn returns nil.
func (s *DB) Update(fn func(*Txn) error) error {
	return closed(s.db.Update(func(txn *badger.Txn) error { return fn(&Txn{txn: txn}) }))
}

// Sync writes what was committed through to disk.
func (s *DB) Sync() error { return closed(s.db.Sync()) }

// Close closes the store.
func (s *DB) Close() error { return s.db.Close() }

// NewBatch starts a batch of writes too large for one transaction; it is
// not atomic.
func (s *DB) NewBatch() *Batch { return &Batch{wb: s.db.NewWriteBatch()} }

// Batch is a batch of writes.
type Batch struct{ wb *badger.WriteBatch }

// Set adds a write of key.
func (b *Batch) Set(key, val []byte) error { return b.wb.Set(key, val) }

// Delete adds a deletion of key.
func (b *Batch) Delete(key []byte) error { return b.wb.Delete(key) }

// Flush writes the batch.
func (b *Batch) Flush() error { return closed(b.wb.Flush()) }

// Cancel drops the batch.
func (b *Batch) Cancel() { b.wb.Cancel() }

// Txn is a transaction.
type Txn struct{ txn *badger.Txn }

// Get copies a key's value out; ok is false if the key is absent.
func (t *Txn) Get(key []byte) (val []byte, ok bool, err error) {
	item, err := t.txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	val, err = item.ValueCopy(nil)
	return val, err == nil, err
}

// Set writes a key.
func (t *Txn) Set(key, val []byte) error { return t.txn.Set(key, val) }

// Delete deletes a key.
func (t *Txn) Delete(key []byte) error { return t.txn.Delete(key) }

// IterOptions says what an iterator visits: the keys with Prefix, in
// order or in Reverse; PrefetchValues (PrefetchSize at a time) when most
// values will be read.
type IterOptions struct {
	Prefix         []byte
	PrefetchValues bool
	PrefetchSize   int
	Reverse        bool
}

// NewIterator iterates over keys; Close it before the transaction ends.
func (t *Txn) NewIterator(o IterOptions) *Iterator {
	opts := badger.IteratorOptions{Prefix: o.Prefix, PrefetchValues: o.PrefetchValues, PrefetchSize: o.PrefetchSize, Reverse: o.Reverse}
	return &Iterator{it: t.txn.NewIterator(opts)}
}

// Iterator walks keys in order.
type Iterator struct{ it *badger.Iterator }

// Rewind moves to the first key; Seek to the first at or after key (at
// or before it, in reverse).
func (i *Iterator) Rewind()         { i.it.Rewind() }
func (i *Iterator) Seek(key []byte) { i.it.Seek(key) }

// Valid reports whether the iterator is at a key; Next moves on.
func (i *Iterator) Valid() bool { return i.it.Valid() }
func (i *Iterator) Next()       { i.it.Next() }

// Key is the current key, valid until Next; KeyCopy a copy of it.
func (i *Iterator) Key() []byte     { return i.it.Item().Key() }
func (i *Iterator) KeyCopy() []byte { return i.it.Item().KeyCopy(nil) }

// Value calls fn with the current value, valid only during the call;
// ValueCopy returns a copy.
func (i *Iterator) Value(fn func([]byte) error) error { return i.it.Item().Value(fn) }
func (i *Iterator) ValueCopy() ([]byte, error)        { return i.it.Item().ValueCopy(nil) }

// Close releases the iterator.
func (i *Iterator) Close() { i.it.Close() }
