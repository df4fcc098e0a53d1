package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/storekey"
	"google.golang.org/protobuf/proto"
)

const (
	tMeta    byte = 0x00
	tLog     byte = 0x01
	tPointer byte = 0x02
	tState   byte = 0x03
	tHead    byte = 0x04
	tDevice  byte = 0x05
	tReject  byte = 0x06
	tLate    byte = 0x07
	tEvicted byte = 0x08

	formatVersion = 1
	// maxConflictRetries bounds retries of a push that lost a race with a
	// concurrent push to the same bucket.
	maxConflictRetries = 30
)

var (
	keyCursorKey = []byte{tMeta, 'c', 'u', 'r', 's', 'o', 'r', '-', 'k', 'e', 'y'}
	keyFormat    = []byte{tMeta, 'f', 'o', 'r', 'm', 'a', 't'}
	// keyLateIndex marks a store whose late index (tLate) covers its
	// whole log; stores written before the index existed get it built
	// once when they are opened.
	keyLateIndex = []byte{tMeta, 'l', 'a', 't', 'e', '-', 'i', 'n', 'd', 'e', 'x'}
	// keyCommit holds the number of the last commit (see commits).
	keyCommit = []byte{tMeta, 'c', 'o', 'm', 'm', 'i', 't'}
	// keyAckRecord marks a store that keeps an acknowledgement record, so
	// that a record gone missing is noticed.
	keyAckRecord = []byte{tMeta, 'a', 'c', 'k', '-', 'r', 'e', 'c', 'o', 'r', 'd'}
	// keyLossPrefix, followed by a time (Unix ns), holds an AcceptedLoss.
	keyLossPrefix = []byte{tMeta, 'd', 'a', 't', 'a', '-', 'l', 'o', 's', 's'}
)

// Options configures a Badger store.
type Options struct {
	// Dir is the data directory. Empty with InMemory set keeps everything
	// in memory (tests only: nothing is durable).
	Dir string
	// InMemory keeps the store in memory.
	InMemory bool
	// Logger receives Badger's own log lines (warnings and errors).
	Logger zerolog.Logger
	// GCInterval is how often value-log garbage collection runs (default
	// DefaultGCInterval; negative disables it). See GCStats.
	GCInterval time.Duration
	// GCTicks, when set, runs a garbage collection pass on each of its
	// ticks instead of every GCInterval (tests: no timer to race).
	GCTicks <-chan time.Time
	// MemTableMB, NumMemtables, BlockCacheMB and IndexCacheMB size what
	// Badger holds in memory; zero values take the Default* sizes, chosen
	// for a small server (see memory.go).
	MemTableMB, NumMemtables, BlockCacheMB, IndexCacheMB int
	// AcceptDataLoss opens a damaged store anyway where that is possible
	// (DamageError.Acceptable), with what is left. The open is recorded
	// (AcceptedLosses) and the cursor key replaced, so every device
	// resets. Without it, Open refuses any damage it finds.
	AcceptDataLoss bool
	// EncryptionKey, if set, is the master key the store is encrypted
	// with (Badger's encryption at rest: AES-256 data keys, themselves
	// encrypted with it in the key registry). A new store is encrypted if
	// it is set; an existing one opens only with the key it was encrypted
	// with, and without one only if it is not encrypted (a *KeyError
	// otherwise, with nothing in the directory changed).
	EncryptionKey storekey.Key
	// KeyRotation is how often Badger starts a new data key (default
	// DefaultKeyRotation).
	KeyRotation time.Duration
	// Now is the store's clock (default time.Now): the directory decides
	// with it whether ceremonies and invites have expired.
	Now func() time.Time
}

// DB is the Badger-backed Store.
type DB struct {
	db        *badger.DB
	cursorKey []byte
	commits   commits
	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
	watchers  Watchers
	now       func() time.Time
	gc        vlogGC
	audit     auditChain
	dirSeq    dirVersion // see dirversion.go
	log       zerolog.Logger
	dir       string // the data directory; empty in memory
}

var _ Store = (*DB)(nil)

// Open opens (creating if needed) the store in o.Dir. Writes are synced to
// disk before a push returns.
//
// Open checks the directory before and after Badger opens it, and returns
// a *DamageError, touching nothing, if it finds damage: tables that fail
// their checksums, a MANIFEST lost or cut short, a write-ahead log that
// replays less than was acknowledged, a store whose metadata is gone. A
// directory with a store in it is never taken for a new one. A key
// (Options.EncryptionKey) that does not fit the store is refused first,
// with a *KeyError, touching nothing either.
func Open(o Options) (*DB, error) {
	o = o.withMemoryDefaults()
	var st *dirState
	if !o.InMemory {
		var err error
		if st, err = inspectDir(o); err != nil {
			return nil, err
		}
	}
	bdb, err := openBadger(badgerOptions(o))
	if err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &DB{db: bdb, stop: make(chan struct{}), now: o.Now, log: o.Logger}
	if !o.InMemory {
		s.dir = o.Dir
	}
	s.audit.kick = make(chan struct{}, 1)
	if err := s.init(o, st); err != nil {
		return nil, errors.Join(err, s.closeFiles())
	}
	if err := s.buildLateIndex(); err != nil {
		return nil, errors.Join(err, s.closeFiles())
	}
	s.wg.Add(1)
	go s.sealLoop()
	s.startGC(o)
	return s, nil
}

// badgerOptions are the options the store opens Badger with.
func badgerOptions(o Options) badger.Options {
	bo := badger.DefaultOptions(o.Dir).
		WithInMemory(o.InMemory).
		WithSyncWrites(!o.InMemory).
		WithLoggingLevel(badger.WARNING). // before WithLogger: it replaces the logger
		WithLogger(badgerLogger{o.Logger}).
		WithBlockCacheSize(int64(o.BlockCacheMB) << 20).
		WithIndexCacheSize(int64(o.IndexCacheMB) << 20).
		WithMemTableSize(int64(o.MemTableMB) << 20).
		WithNumMemtables(o.NumMemtables).
		WithNumLevelZeroTables(3).
		WithNumLevelZeroTablesStall(8).
		WithValueLogFileSize(256 << 20).
		WithCompression(options.Snappy).
		// inspectDir has read every table through; Badger checks each
		// block as it reads it from disk (OnTableRead would read them all
		// again, and panics on a damaged one).
		WithChecksumVerificationMode(options.OnBlockRead).
		WithVerifyValueChecksum(true).
		WithNumCompactors(2).
		WithBaseTableSize(int64(DefaultTableMB) << 20)
	bo.TableSizeMultiplier = 1
	if o.InMemory {
		bo.Dir, bo.ValueDir = "", ""
	}
	if !o.EncryptionKey.IsZero() {
		// Badger keeps an encrypted table's decrypted index only in the
		// index cache, and fails without one: it cannot be left unbounded.
		if bo.IndexCacheSize == 0 {
			bo = bo.WithIndexCacheSize(DefaultIndexCacheMB << 20)
		}
		rotation := o.KeyRotation
		if rotation <= 0 {
			rotation = DefaultKeyRotation
		}
		bo = bo.WithEncryptionKey(o.EncryptionKey.Bytes()).WithEncryptionKeyRotationDuration(rotation)
	}
	return bo
}

// openBadger opens Badger, turning a panic on this goroutine into an error.
func openBadger(bo badger.Options) (db *badger.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, &DamageError{Dir: bo.Dir, Kind: DamageUnreadable, Err: fmt.Errorf("%v", r)}
		}
	}()
	db, err = badger.Open(bo)
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	return db, nil
}

// closeFiles closes Badger and the acknowledgement record.
func (s *DB) closeFiles() error {
	err := s.db.Close()
	if s.commits.ack != nil {
		err = errors.Join(err, s.commits.ack.close())
	}
	return err
}

// Close stops the GC loop, flushes and closes Badger. It is safe to call
// more than once.
func (s *DB) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		s.wg.Wait()
		sealErr := s.sealAudit(context.Background())
		s.closeErr = errors.Join(sealErr, s.closeFiles())
	})
	return s.closeErr
}

// CursorKey returns the secret that seals this store's sync cursors.
func (s *DB) CursorKey() []byte { return s.cursorKey }

// retry runs an update transaction (numbered and recorded, see commit),
// retrying a bounded number of times when
// it conflicts with a concurrent one.
func (s *DB) retry(ctx context.Context, fn func(txn *badger.Txn) error) error {
	backoff := 200 * time.Microsecond
	for range maxConflictRetries {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := s.update(fn)
		if !errors.Is(err, badger.ErrConflict) {
			return mapErr(err)
		}
		// Lost a race with a push to the same bucket: back off with jitter.
		time.Sleep(backoff/2 + mrand.N(backoff))
		backoff = min(2*backoff, 100*time.Millisecond)
	}
	return fmt.Errorf("store: gave up after %d conflicting retries: %w", maxConflictRetries, ErrUnavailable)
}

func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, badger.ErrDBClosed):
		return ErrClosed
	case errors.Is(err, badger.ErrTxnTooBig):
		return ErrBatchTooLarge
	}
	return err
}

func be64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

func getUint(txn *badger.Txn, key []byte) (uint64, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var n uint64
	err = item.Value(func(v []byte) error {
		if len(v) != 8 {
			return fmt.Errorf("store: corrupt counter at %x", key)
		}
		n = binary.BigEndian.Uint64(v)
		return nil
	})
	return n, err
}

// getProto reads key into m; it reports false if the key is absent. The
// value is decoded inside the transaction, which copies every string out.
func getProto(txn *badger.Txn, key []byte, m proto.Message) (bool, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, item.Value(func(v []byte) error { return proto.Unmarshal(v, m) })
}

type badgerLogger struct{ l zerolog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) {
	b.l.Error().Str("component", "badger").Msgf(f, a...)
}
func (b badgerLogger) Warningf(f string, a ...any) {
	b.l.Warn().Str("component", "badger").Msgf(f, a...)
}
func (b badgerLogger) Infof(f string, a ...any) { b.l.Debug().Str("component", "badger").Msgf(f, a...) }
func (b badgerLogger) Debugf(f string, a ...any) {
	b.l.Trace().Str("component", "badger").Msgf(f, a...)
}
