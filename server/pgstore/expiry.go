package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// sweepEvery is how often, by the store's clock, a directory commit also
// deletes the entries past their expiry.
const sweepEvery = time.Minute

// unixNano is t in Unix ns, or NULL for the zero time (never expires).
func unixNano(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := t.UnixNano()
	return &n
}

// sweepExpired deletes, at most once every sweepEvery of the store's clock,
// the ceremonies and sessions past their expiry and the invites past the
// time they are kept: what the Badger store's TTLs drop. It runs in its own
// statements, outside the directory's serializable transactions, so no
// transaction conflicts with it over entries nobody reads any more. A
// failed sweep is left to the next one.
func (s *DB) sweepExpired(ctx context.Context, now time.Time) {
	last := s.swept.Load()
	if now.UnixNano()-last < int64(sweepEvery) || !s.swept.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	batch := &pgx.Batch{}
	for _, q := range []string{
		"DELETE FROM ceremonies WHERE expires_at <= $1",
		"DELETE FROM sessions WHERE expires_at <= $1",
		"DELETE FROM invites WHERE kept_until <= $1",
	} {
		batch.Queue(q, now.UnixNano())
	}
	_ = s.pool.SendBatch(ctx, batch).Close()
}
