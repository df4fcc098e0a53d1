package pgstore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
)

// querier is a connection pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Pull implements store.Store, on one snapshot: the buckets' heads in one
// query, then for each bucket with news a range of its records by
// position, no longer than the page has room for.
func (s *DB) Pull(ctx context.Context, q store.PullQuery) (*store.PullPage, error) {
	limit := max(q.Limit, 1)
	buckets := slices.Sorted(maps.Keys(q.From))
	if err := canonical(buckets...); err != nil {
		return nil, err
	}
	var page *store.PullPage
	err := s.read(ctx, func(tx pgx.Tx) error {
		page = &store.PullPage{}
		heads, err := heads(ctx, tx, buckets)
		if err != nil {
			return err
		}
		total, size := 0, 0
		for _, b := range buckets {
			from, head := q.From[b], heads[b]
			if from > head {
				return &store.CursorAheadError{Bucket: b, From: from, Head: head}
			}
			bp := store.BucketPage{Bucket: b, Position: head}
			if from < head {
				stopped := false
				err := scan(ctx, tx, `SELECT position, state FROM records WHERE bucket = $1 AND position > $2 ORDER BY position LIMIT $3`,
					[]any{b, int64(from), limit - total + 1}, func(pos int64, v []byte) bool {
						// Stop before a record that would take the page past its
						// byte limit (a page always holds at least one record).
						if total >= limit || (q.MaxBytes > 0 && total > 0 && size+len(v) > q.MaxBytes) {
							stopped = true
							return false
						}
						bp.Records = append(bp.Records, slices.Clone(v))
						bp.Position = uint64(pos)
						total++
						size += len(v)
						return true
					})
				if err != nil {
					return err
				}
				if stopped {
					if len(bp.Records) == 0 {
						bp.Position = from
					}
					page.Buckets = append(page.Buckets, bp)
					page.HasMore = true
					return nil
				}
				// Every record after from was read: the reader stands at the
				// head, past log entries that changed no state.
				bp.Position = head
			}
			page.Buckets = append(page.Buckets, bp)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// scan runs a query of (bigint, bytea) rows and calls fn with each, the
// bytes valid only during the call, until fn returns false.
func scan(ctx context.Context, q querier, sql string, args []any, fn func(n int64, v []byte) bool) error {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var n int64
		raw := rows.RawValues()
		if err := rows.Scan(&n, nil); err != nil {
			return err
		}
		if !fn(n, raw[1]) {
			break
		}
	}
	rows.Close()
	return rows.Err()
}

// heads returns the heads of buckets (0 for one never written).
func heads(ctx context.Context, q querier, buckets []string) (map[string]uint64, error) {
	out := make(map[string]uint64, len(buckets))
	for _, b := range buckets {
		out[b] = 0
	}
	rows, err := q.Query(ctx, "SELECT bucket::text, head FROM bucket_heads WHERE bucket = ANY($1::uuid[])", buckets)
	if err != nil {
		return nil, err
	}
	var b string
	var h int64
	_, err = pgx.ForEachRow(rows, []any{&b, &h}, func() error { out[b] = uint64(h); return nil })
	return out, err
}

// Heads implements store.Store.
func (s *DB) Heads(ctx context.Context, buckets []string) (map[string]uint64, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if err := canonical(buckets...); err != nil {
		return nil, err
	}
	out, err := heads(ctx, s.pool, buckets)
	return out, s.mapErr(err)
}

// Records implements store.Store.
func (s *DB) Records(ctx context.Context, bucket string, recordIDs []string) (map[string]*v1.RecordState, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if err := canonical(append([]string{bucket}, recordIDs...)...); err != nil {
		return nil, err
	}
	return s.states(ctx, "SELECT state FROM records WHERE bucket = $1 AND record = ANY($2::uuid[])", bucket, recordIDs)
}

// ClientRecords implements store.Store: one query, a primary-key lookup
// per client.
func (s *DB) ClientRecords(ctx context.Context, clientIDs []string) (map[string]*v1.RecordState, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if err := canonical(clientIDs...); err != nil {
		return nil, err
	}
	return s.states(ctx, "SELECT r.state FROM unnest($1::uuid[]) AS c(id) JOIN records r ON r.bucket = c.id AND r.record = c.id", clientIDs)
}

// states runs a query of record states and returns them expanded, by
// record id.
func (s *DB) states(ctx context.Context, sql string, args ...any) (map[string]*v1.RecordState, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, s.mapErr(err)
	}
	out := map[string]*v1.RecordState{}
	var b []byte
	_, err = pgx.ForEachRow(rows, []any{&b}, func() error {
		st := &v1.RecordState{}
		if err := proto.Unmarshal(b, st); err != nil {
			return err
		}
		out[st.GetRecordId()] = merge.Expand(st)
		return nil
	})
	return out, s.mapErr(err)
}

// entries runs a query of log entries and decodes them in order.
func (s *DB) entries(ctx context.Context, sql string, args ...any) ([]*v1.HistoryEntry, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, s.mapErr(err)
	}
	var out []*v1.HistoryEntry
	var b []byte
	_, err = pgx.ForEachRow(rows, []any{&b}, func() error {
		e := &v1.HistoryEntry{}
		out = append(out, e)
		return proto.Unmarshal(b, e)
	})
	return out, s.mapErr(err)
}

// History implements store.Store: one range of the (bucket, record,
// position) index.
func (s *DB) History(ctx context.Context, bucket, recordID string) ([]*v1.HistoryEntry, error) {
	if err := canonical(bucket, recordID); err != nil {
		return nil, err
	}
	return s.entries(ctx, "SELECT entry FROM log_entries WHERE bucket = $1 AND record = $2 ORDER BY position", bucket, recordID)
}

// Log implements store.Store.
func (s *DB) Log(ctx context.Context, bucket string) ([]*v1.HistoryEntry, error) {
	if err := canonical(bucket); err != nil {
		return nil, err
	}
	return s.entries(ctx, "SELECT entry FROM log_entries WHERE bucket = $1 ORDER BY position", bucket)
}

// LogEntries implements store.Store.
func (s *DB) LogEntries(ctx context.Context, bucket string, positions []uint64) (map[uint64]*v1.HistoryEntry, error) {
	if err := canonical(bucket); err != nil {
		return nil, err
	}
	var pos []int64
	for _, p := range positions {
		if n, err := i64(p); err == nil && n > 0 {
			pos = append(pos, n)
		}
	}
	list, err := s.entries(ctx, "SELECT entry FROM log_entries WHERE bucket = $1 AND position = ANY($2::bigint[])", bucket, pos)
	if err != nil {
		return nil, err
	}
	out := make(map[uint64]*v1.HistoryEntry, len(list))
	for _, e := range list {
		out[e.GetPosition()] = e
	}
	return out, nil
}

// HighWater implements store.Store.
func (s *DB) HighWater(ctx context.Context, deviceID string) (uint64, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	var n int64
	err := s.pool.QueryRow(ctx, "SELECT high_water FROM devices WHERE device = $1", []byte(deviceID)).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return uint64(n), s.mapErr(err)
}

// ScanRecords implements store.Store, on one snapshot: one range of the
// (bucket, position) index per bucket, the states passed on as stored.
func (s *DB) ScanRecords(ctx context.Context, buckets []string, fn func(bucket string, state []byte) error) error {
	if err := canonical(buckets...); err != nil {
		return err
	}
	var fnErr error
	err := s.read(ctx, func(tx pgx.Tx) error {
		for _, b := range buckets {
			err := scan(ctx, tx, "SELECT position, state FROM records WHERE bucket = $1 ORDER BY position", []any{b},
				func(_ int64, v []byte) bool { fnErr = fn(b, v); return fnErr == nil })
			if err != nil || fnErr != nil {
				return errors.Join(err, fnErr)
			}
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}

// LateRecords implements store.Store.
func (s *DB) LateRecords(ctx context.Context, bucket string) ([]string, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if err := canonical(bucket); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, "SELECT record::text FROM late_records WHERE bucket = $1 ORDER BY record", bucket)
	if err != nil {
		return nil, s.mapErr(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return out, s.mapErr(err)
}

// NoteEvictions implements store.Store: one statement, keeping the later
// end of each bucket's.
func (s *DB) NoteEvictions(ctx context.Context, deviceID string, ended map[string]time.Time) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := checkDevice(deviceID); err != nil {
		return err
	}
	var buckets []string
	var ends []int64
	for b, end := range ended {
		if err := canonical(b); err != nil {
			return err
		}
		if end.UnixNano() <= 0 {
			return fmt.Errorf("pgstore: an end of access before 1970")
		}
		buckets, ends = append(buckets, b), append(ends, end.UnixNano())
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO evictions (device, bucket, ended)
		SELECT $1, * FROM unnest($2::uuid[], $3::bigint[])
		ON CONFLICT (device, bucket) DO UPDATE SET ended = excluded.ended WHERE evictions.ended < excluded.ended`,
		[]byte(deviceID), buckets, ends)
	return s.mapErr(err)
}

// Evictions implements store.Store.
func (s *DB) Evictions(ctx context.Context, deviceID string, buckets []string) (map[string]time.Time, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if err := canonical(buckets...); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, "SELECT bucket::text, ended FROM evictions WHERE device = $1 AND bucket = ANY($2::uuid[])",
		[]byte(deviceID), buckets)
	if err != nil {
		return nil, s.mapErr(err)
	}
	out := map[string]time.Time{}
	var b string
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&b, &n}, func() error { out[b] = time.Unix(0, n).UTC(); return nil })
	return out, s.mapErr(err)
}
