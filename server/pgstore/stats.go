package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/throughcare/throughcare/server/store"
)

// What the metrics read at each scrape (metrics.Store and
// metrics.DatabaseStore). Badger's file sizes and value-log GC have no
// PostgreSQL counterpart and are not reported; VACUUM is PostgreSQL's.

// statsTimeout bounds the queries of one scrape.
const statsTimeout = 5 * time.Second

// AuditStats returns the audit trail's counts since this DB opened (its
// own commits and seals, not other servers').
func (s *DB) AuditStats() store.AuditStats {
	return store.AuditStats{Commits: s.audit.appended.Load(), Sealed: s.audit.sealed.Load(), SealFailures: s.audit.failed.Load()}
}

// Sessions returns the sessions held, as the Badger store counts them:
// those that have neither ended nor reached their absolute expiry (by the
// store's clock).
func (s *DB) Sessions() (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), statsTimeout)
	defer cancel()
	var n int
	err := s.read(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT count(*) FROM sessions WHERE expires_at IS NULL OR expires_at > $1", s.now().UnixNano()).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("pgstore: counting sessions: %w", err)
	}
	return n, nil
}

// DatabaseBytes returns the bytes of the tables of the store's schema,
// with their indexes and TOAST data (pg_total_relation_size).
func (s *DB) DatabaseBytes() (int64, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), statsTimeout)
	defer cancel()
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c
		WHERE c.relkind IN ('r', 'm') AND c.relnamespace = current_schema()::regnamespace`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("pgstore: measuring the tables: %w", s.mapErr(err))
	}
	return n, nil
}

// PoolStats returns the connection pool's counts (pgxpool's Stat).
func (s *DB) PoolStats() store.PoolStats {
	st := s.pool.Stat()
	return store.PoolStats{Acquired: st.AcquiredConns(), Idle: st.IdleConns(), Total: st.TotalConns(), Max: st.MaxConns(),
		Acquires: st.AcquireCount(), Waited: st.EmptyAcquireCount(), WaitDuration: st.AcquireDuration()}
}
