// Package local is the SDK's store on the device: one encrypted Badger
// database per device directory, behind the few operations the caseload
// package uses (transactions, gets and sets, prefix iteration, batches,
// durable syncs). It knows nothing of the keys' meaning (caseload's
// local.go lays them out), and it is the only package of the SDK that
// imports Badger, so that another embedded store could take its place.
package local

import (
	"errors"
	"path/filepath"
	"sync"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

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
type DB struct {
	db       *badger.DB
	dir      string // absolute; "" in memory
	inMemory bool
	// busy is held shared by every transaction, batch, sync and garbage
	// collection, and by ReleaseMapped alone (see release.go); closing is
	// taken by Close and ReleaseMapped, so that neither runs beside the
	// other.
	busy    sync.RWMutex
	closing sync.Mutex
	done    bool // closed; under closing
}

// ValueThreshold is the size from which a value is kept in the value log
// rather than in the LSM tree beside its key: pulled records (the peers'
// contacts are 560-640 bytes encoded) and their index entries go there,
// most single-field changes in the outbox and everything smaller stay
// inline. A first sync of a large caseload then writes each record once
// (to the value log, encrypted) and compacts only keys and pointers:
// memtables, table builders and compactions stay small and their memory
// does not grow with the caseload (issue 16: 387 MB of RSS at 100,000
// contacts when records were inline, most of it Badger's table builders
// and memtables). Value log space left by overwritten and deleted values
// is reclaimed by CollectGarbage.
const ValueThreshold = 512

// Open opens (creating if needed) the store in dir, encrypted with key
// (AES: 16, 24 or 32 bytes; the caller checks), or one in memory.
func Open(dir string, key []byte, inMemory bool) (*DB, error) {
	return open(dir, key, inMemory, nil)
}

// open is Open with the options adjusted by tune (tests), if given.
func open(dir string, key []byte, inMemory bool, tune func(badger.Options) badger.Options) (*DB, error) {
	opts := badger.DefaultOptions(dir).
		WithInMemory(inMemory).
		WithEncryptionKey(key).
		WithIndexCacheSize(16 << 20).
		WithBlockCacheSize(16 << 20).
		// Memtables hold keys and value pointers (see ValueThreshold): 16 MB
		// is some 150,000 records, and lets a transaction write 2.4 MB
		// (Badger's limit is 15% of a memtable).
		WithMemTableSize(16 << 20).
		WithNumMemtables(2).
		// The tables hold keys (random ids) and small values: compressing
		// them saves little and costs CPU and builder memory.
		WithCompression(options.None).
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(8).
		WithValueLogFileSize(32 << 20).
		WithNumCompactors(2).
		// Writes the device must not lose (the outbox, the session) are
		// synced explicitly (Sync). Pulled pages are synced before their
		// cursor is written (the caller does it): a page lost in a crash is
		// pulled again, and a value-log write cannot be lost behind a
		// cursor that moved past it.
		WithSyncWrites(false).
		WithLogger(nil)
	if inMemory {
		// No value log: Badger refuses values over the threshold.
		opts = opts.WithDir("").WithValueDir("")
	} else {
		opts = opts.WithValueThreshold(ValueThreshold)
		// An empty log file left by a kill while the store was opening holds
		// nothing and would fail the open; anything else stays for Badger.
		if _, err := badgerdir.RemoveEmptyLogs(dir); err != nil {
			return nil, err
		}
	}
	if tune != nil {
		opts = tune(opts)
	}
	db, err := badger.Open(opts)
	if errors.Is(err, badger.ErrEncryptionKeyMismatch) {
		return nil, ErrWrongKey
	}
	if err != nil {
		return nil, err
	}
	s := &DB{db: db, inMemory: inMemory}
	if !inMemory {
		if s.dir, err = filepath.Abs(dir); err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	return s, nil
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
	s.busy.RLock()
	defer s.busy.RUnlock()
	return closed(s.db.View(func(txn *badger.Txn) error { return fn(&Txn{txn: txn}) }))
}

// Update runs fn in a read-write transaction, committed if fn returns nil.
func (s *DB) Update(fn func(*Txn) error) error {
	s.busy.RLock()
	defer s.busy.RUnlock()
	return closed(s.db.Update(func(txn *badger.Txn) error { return fn(&Txn{txn: txn}) }))
}

// Sync writes what was committed through to disk.
func (s *DB) Sync() error {
	s.busy.RLock()
	defer s.busy.RUnlock()
	return closed(s.db.Sync())
}

// gcRounds bounds the value log files one CollectGarbage rewrites (each
// at most ValueLogFileSize, 32 MB), so that it takes a second at most.
const gcRounds = 2

// CollectGarbage reclaims value log space: it rewrites the files at least
// half taken by values since overwritten or deleted (a record pulled
// again, a client purged or reset), a few at a time, and does nothing
// when none is. The values it moves are synced before the files they came
// from are deleted: Badger deletes a rewritten file at once unless an
// iterator is open, so one is held open until the sync.
func (s *DB) CollectGarbage() error {
	if s.inMemory {
		return nil
	}
	s.busy.RLock()
	defer s.busy.RUnlock()
	return closed(s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		for range gcRounds {
			err := s.db.RunValueLogGC(0.5)
			if errors.Is(err, badger.ErrNoRewrite) || errors.Is(err, badger.ErrRejected) {
				break
			}
			if err != nil {
				return err
			}
		}
		return s.db.Sync()
	}))
}

// Close closes the store.
func (s *DB) Close() error {
	s.closing.Lock()
	defer s.closing.Unlock()
	s.done = true
	return s.db.Close()
}

// NewBatch starts a batch of writes too large for one transaction; it is
// not atomic. Flush or Cancel it.
func (s *DB) NewBatch() *Batch {
	s.busy.RLock()
	return &Batch{wb: s.db.NewWriteBatch(), done: s.busy.RUnlock}
}

// Batch is a batch of writes.
type Batch struct {
	wb   *badger.WriteBatch
	done func() // once flushed or cancelled
}

// Set adds a write of key.
func (b *Batch) Set(key, val []byte) error { return b.wb.Set(key, val) }

// Delete adds a deletion of key.
func (b *Batch) Delete(key []byte) error { return b.wb.Delete(key) }

// Flush writes the batch.
func (b *Batch) Flush() error {
	defer b.finish()
	return closed(b.wb.Flush())
}

// Cancel drops the batch.
func (b *Batch) Cancel() {
	defer b.finish()
	b.wb.Cancel()
}

func (b *Batch) finish() {
	if b.done != nil {
		b.done()
		b.done = nil
	}
}

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

// Version is the version of a key's value (the commit that wrote it,
// rising with every commit); ok is false if the key is absent. A key
// written again has a higher version, even with the same value.
func (t *Txn) Version(key []byte) (version uint64, ok bool, err error) {
	item, err := t.txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return item.Version(), true, nil
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
