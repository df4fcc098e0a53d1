// Package pgstore keeps Throughcare's durable state in PostgreSQL, for
// servers that share one database: every bucket's log of accepted changes,
// the compacted current state of every record, each bucket's head, the
// late index, each device's high-water mark and rejected changes, the
// evictions sent to devices, the cursor key, and the directory (areas,
// teams, users, devices, sessions, ceremonies, invites, clients,
// assignments, and the audit trail with its per-area hash chains). It
// implements store.Store and store.DirectoryStore with the guarantees the
// Badger store gives (package store) and passes the same conformance
// suites (storetest.Run, storetest.RunDirectory). It persists and reads;
// it decides nothing (the merge loop is syncengine.Apply's). The directory
// is directory.go, its audit chains auditchain.go. With purges for
// retention (purge.go), the store id and refused backups (serverstore.go:
// PostgreSQL is backed up with its own tools) it is a whole server.Store.
//
// # Guarantees
//
// A bucket transaction (Buckets) is one PostgreSQL transaction, committed
// with synchronous_commit on: durable when Buckets returns. Positions are
// per bucket, monotonic and without gaps as readers see them: a
// transaction locks the head row of each bucket it touches (SELECT … FOR
// UPDATE) before it reads the bucket's records, so writers to one bucket
// take turns, each reading the last one's head and records as committed,
// and commit its positions in order; a reader's snapshot that holds a
// position holds every position before it. A pull reads one snapshot
// (REPEATABLE READ) and its cost grows with the records it returns (a
// range of the (bucket, position) index per bucket). Transactions that
// deadlock (two pushes locking buckets in opposite orders) or fail to
// serialise are retried a bounded number of times.
//
// # Schema
//
// migrate.go: versioned migrations, embedded, applied on Open.
//
// # Several servers
//
// notify.go: each push's heads reach the watchers of every DB open on the
// database (LISTEN/NOTIFY), so live streams see other servers' pushes.
package pgstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/store"
)

// Options configures Open.
type Options struct {
	// URL is the database's connection string (postgres://…, or key=value;
	// see pgxpool.ParseConfig).
	URL string
	// MaxConns bounds the connection pool (0: the URL's pool_max_conns,
	// else DefaultMaxConns).
	MaxConns int32
	// Now is the clock for audit entries appended without a time (nil:
	// time.Now).
	Now func() time.Time
	// ListenRetry is the first wait before the listening connection
	// reconnects after it drops (notify.go; 0: DefaultListenRetry).
	ListenRetry time.Duration
	// Logger receives what fails in the background, where no caller hears
	// of it: audit seals that leave entries pending, the listening
	// connection's drops and reconnects, payloads it cannot read. Lines
	// carry no personal data (no audit entry's contents, no connection
	// string). The zero Logger writes nothing.
	Logger zerolog.Logger
}

// DefaultMaxConns is the pool's size unless Options say otherwise. A push
// spends most of its time waiting for its commit to be flushed, and
// concurrent commits share flushes, so the pool is larger than pgxpool's
// default (the CPUs, at least 4): with 32 devices pushing at once, 16
// connections commit about three times the pushes 4 do.
const DefaultMaxConns = 16

// DB is the sync data in one PostgreSQL database.
type DB struct {
	pool      *pgxpool.Pool
	now       func() time.Time
	log       zerolog.Logger
	cursorKey []byte
	watchers  store.Watchers
	audit     auditSealer
	listener  listener     // hears other servers' pushes (notify.go)
	swept     atomic.Int64 // the store's time (Unix ns) of the last sweep of expired entries
	closed    atomic.Bool
}

var _ store.Store = (*DB)(nil)

// Open connects to the database, migrates its schema (see migrate.go) and
// loads the cursor key, making one the first time.
func Open(ctx context.Context, opts Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	// An acknowledged push must survive a crash of the database server.
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	switch {
	case opts.MaxConns > 0:
		cfg.MaxConns = opts.MaxConns
	case !strings.Contains(opts.URL, "pool_max_conns"):
		cfg.MaxConns = DefaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	s := &DB{pool: pool, now: opts.Now, log: opts.Logger}
	if s.now == nil {
		s.now = time.Now
	}
	if err := s.open(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if err := s.startListener(ctx, cfg.ConnConfig.Copy(), opts.ListenRetry); err != nil {
		s.stopSealer()
		pool.Close()
		return nil, fmt.Errorf("pgstore: listening for other servers' pushes: %w", err)
	}
	return s, nil
}

func (s *DB) open(ctx context.Context) error {
	list, err := migrations()
	if err != nil {
		return err
	}
	if _, err := migrate(ctx, s.pool, list); err != nil {
		return fmt.Errorf("pgstore: migrating: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	// The first server to open the database makes the key; every other
	// one, and every reopen, reads it. Two statements: an INSERT that
	// meets a concurrent one waits for it to commit, and only a statement
	// that begins after that sees its row.
	_, err = s.pool.Exec(ctx, "INSERT INTO meta (key, value) VALUES ('cursor-key', $1) ON CONFLICT (key) DO NOTHING", key)
	if err == nil {
		err = s.pool.QueryRow(ctx, "SELECT value FROM meta WHERE key = 'cursor-key'").Scan(&s.cursorKey)
	}
	if err != nil {
		return fmt.Errorf("pgstore: reading the cursor key: %w", err)
	}
	if len(s.cursorKey) != 32 {
		return fmt.Errorf("pgstore: the stored cursor key is %d bytes, want 32", len(s.cursorKey))
	}
	return s.startSealer(ctx)
}

// CursorKey implements store.Store.
func (s *DB) CursorKey() []byte { return s.cursorKey }

// Watch implements store.Store: fn hears of pushes committed through this
// DB, and of those other servers on the same database commit (notify.go).
func (s *DB) Watch(fn func(heads map[string]uint64)) (stop func()) { return s.watchers.Watch(fn) }

// Close waits for the calls in progress and closes the connections. It may
// be called more than once.
func (s *DB) Close() error {
	if s.closed.CompareAndSwap(false, true) {
		s.stopListener()
		s.stopSealer()
		s.pool.Close()
	}
	return nil
}

func (s *DB) check() error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return nil
}

// maxRetries bounds the attempts of a transaction that deadlocks or fails
// to serialise.
const maxRetries = 10

// retryable reports an error after which the transaction may be run again.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01") // serialization_failure, deadlock_detected
}

// mapErr turns the pool's errors into the store's.
func (s *DB) mapErr(err error) error {
	switch {
	case err != nil && s.closed.Load() && !errors.Is(err, context.Canceled):
		return fmt.Errorf("%w (%v)", store.ErrClosed, err)
	case unavailable(err):
		return fmt.Errorf("%w: the database cannot be reached (%v)", store.ErrUnavailable, err)
	}
	return err
}

// unavailable reports whether err says the database is gone for now (the
// connection failed or was lost, the server is shutting down or starting,
// failing over, or full of connections) rather than that the request was
// wrong: callers should retry, so the store says ErrUnavailable.
func unavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return strings.HasPrefix(pgErr.Code, "08") || // connection_exception
			pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03" || // admin or crash shutdown, cannot connect now
			pgErr.Code == "53300" // too_many_connections
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connErr) || errors.As(err, &netErr) || pgconn.SafeToRetry(err) || errors.Is(err, io.ErrUnexpectedEOF)
}

// read runs fn in a read-only transaction on one snapshot of the database.
func (s *DB) read(ctx context.Context, fn func(tx pgx.Tx) error) error {
	if err := s.check(); err != nil {
		return err
	}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
	return s.mapErr(err)
}

// canonical checks ids are canonical lower-case UUIDs.
func canonical(ids ...string) error {
	for _, id := range ids {
		if u, err := uuid.Parse(id); err != nil || u.String() != id {
			return errors.New("pgstore: an id is not a canonical lower-case UUID")
		}
	}
	return nil
}

func checkDevice(device string) error {
	if len(device) == 0 || len(device) > 255 {
		return errors.New("pgstore: device id must be 1 to 255 bytes")
	}
	return nil
}

// i64 converts a position or sequence number to the database's bigint.
func i64(n uint64) (int64, error) {
	if n > math.MaxInt64 {
		return 0, fmt.Errorf("pgstore: %d is past the largest position or sequence number kept", n)
	}
	return int64(n), nil
}
