package pgstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// Buckets implements store.Store: fn runs in one transaction, committed
// durably when fn returns nil (and only if it wrote something); it is run
// again, a bounded number of times, if the transaction deadlocks or fails
// to serialise, so fn must not have other side effects. After the commit,
// watchers get the new heads of the buckets it appended to.
func (s *DB) Buckets(ctx context.Context, fn func(tx store.BucketTx) error) error {
	backoff := time.Millisecond
	for range maxRetries {
		if err := s.check(); err != nil {
			return err
		}
		heads, audited, err := s.bucketsOnce(ctx, fn)
		if retryable(err) {
			if err := pause(ctx, backoff/2+mrand.N(backoff)); err != nil { // lost a race with another transaction
				return err
			}
			backoff = min(2*backoff, 100*time.Millisecond)
			continue
		}
		if err != nil {
			return s.mapErr(err)
		}
		if audited {
			s.afterAudited(ctx, false) // the sealer seals its entries
		}
		if len(heads) > 0 {
			s.watchers.Notify(heads)
		}
		return nil
	}
	return fmt.Errorf("pgstore: gave up after %d deadlocked or conflicting attempts: %w", maxRetries, store.ErrUnavailable)
}

// readCommitted is the isolation bucket transactions are written for: they
// lock the heads they append to and then read what committed before, so
// they are stated, not left to the database's default (which managed
// services sometimes set to SERIALIZABLE).
var readCommitted = pgx.TxOptions{IsoLevel: pgx.ReadCommitted}

// pause waits d, or until ctx is done (its error).
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// bucketsOnce is one attempt of Buckets; it returns the heads of the
// buckets appended to, and whether it committed audit entries.
func (s *DB) bucketsOnce(ctx context.Context, fn func(tx store.BucketTx) error) (map[string]uint64, bool, error) {
	pgtx, err := s.pool.BeginTx(ctx, readCommitted) // each statement sees what committed before it
	if err != nil {
		return nil, false, err
	}
	defer func() { _ = pgtx.Rollback(ctx) }() // after Commit, a no-op
	tx := newBucketTx(ctx, pgtx, s.now())
	if err := fn(tx); err != nil {
		return nil, false, err
	}
	if !tx.wrote {
		return nil, false, nil // nothing to commit
	}
	if err := tx.flush(s.listener.origin); err != nil {
		return nil, false, err
	}
	if err := pgtx.Commit(ctx); err != nil {
		return nil, false, err
	}
	heads := make(map[string]uint64, len(tx.appended))
	for b := range tx.appended {
		heads[b] = tx.heads[b]
	}
	return heads, len(tx.audits) > 0, nil
}

// bucketTx is store.BucketTx over a PostgreSQL transaction. Reads go to
// the database (after the bucket's or device's row is locked); writes are
// kept here, read back from here, and sent in one batch before the commit.
type bucketTx struct {
	ctx   context.Context
	tx    pgx.Tx
	now   time.Time
	wrote bool

	heads    map[string]uint64 // locked buckets: head, with this transaction's appends
	appended map[string]bool
	hwm      map[string]uint64 // locked devices: high-water mark, as set here
	hwmSet   map[string]bool
	states   map[recordKey]*v1.RecordState // records put here, as put
	read     map[recordKey][]byte          // records read ahead (ReadRecords), nil if absent
	entries  []logRow
	rejected map[rejectionKey][]byte
	late     map[recordKey]bool
	audits   []*store.Audit
}

type recordKey struct{ bucket, record string }

type rejectionKey struct {
	device string
	seq    int64
}

type logRow struct {
	bucket, record string
	pos            int64
	entry          []byte
}

func newBucketTx(ctx context.Context, tx pgx.Tx, now time.Time) *bucketTx {
	return &bucketTx{ctx: ctx, tx: tx, now: now,
		heads: map[string]uint64{}, appended: map[string]bool{}, hwm: map[string]uint64{}, hwmSet: map[string]bool{},
		states: map[recordKey]*v1.RecordState{}, read: map[recordKey][]byte{}, rejected: map[rejectionKey][]byte{}, late: map[recordKey]bool{}}
}

// lockRow locks the row of table whose key column is key, making it with
// value 0 if there is none, and returns its value: writers of one bucket
// (or device) wait here for each other, and each then reads what the last
// one committed.
func (tx *bucketTx) lockRow(table, column string, key any) (uint64, error) {
	var v int64
	err := tx.tx.QueryRow(tx.ctx, "SELECT "+column+" FROM "+table+" WHERE "+keyColumn(table)+" = $1 FOR UPDATE", key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		// A new bucket or device: insert it, or wait for the transaction
		// inserting it and lock that row.
		err = tx.tx.QueryRow(tx.ctx, "INSERT INTO "+table+" VALUES ($1, 0) ON CONFLICT ("+keyColumn(table)+") DO UPDATE SET "+
			column+" = "+table+"."+column+" RETURNING "+column, key).Scan(&v)
	}
	return uint64(v), err
}

func keyColumn(table string) string {
	if table == "devices" {
		return "device"
	}
	return "bucket"
}

// lockBucket locks a bucket's head row once per transaction and returns
// its head.
func (tx *bucketTx) lockBucket(bucket string) (uint64, error) {
	if h, ok := tx.heads[bucket]; ok {
		return h, nil
	}
	if err := canonical(bucket); err != nil {
		return 0, err
	}
	h, err := tx.lockRow("bucket_heads", "head", bucket)
	if err != nil {
		return 0, err
	}
	tx.heads[bucket] = h
	return h, nil
}

func (tx *bucketTx) HighWater(device string) (uint64, error) {
	if err := checkDevice(device); err != nil {
		return 0, err
	}
	if h, ok := tx.hwm[device]; ok {
		return h, nil
	}
	h, err := tx.lockRow("devices", "high_water", []byte(device))
	if err != nil {
		return 0, err
	}
	tx.hwm[device] = h
	return h, nil
}

func (tx *bucketTx) SetHighWater(device string, hwm uint64) error {
	if _, err := tx.HighWater(device); err != nil {
		return err
	}
	if _, err := i64(hwm); err != nil {
		return err
	}
	tx.hwm[device], tx.hwmSet[device], tx.wrote = hwm, true, true
	return nil
}

func (tx *bucketTx) Rejection(device string, seq uint64) (*v1.ChangeResult, error) {
	if err := checkDevice(device); err != nil {
		return nil, err
	}
	n, err := i64(seq)
	if err != nil {
		return nil, err
	}
	b, ok := tx.rejected[rejectionKey{device, n}]
	if !ok {
		err := tx.tx.QueryRow(tx.ctx, "SELECT result FROM rejections WHERE device = $1 AND seq = $2", []byte(device), n).Scan(&b)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
	}
	r := &v1.ChangeResult{}
	if err := proto.Unmarshal(b, r); err != nil {
		return nil, err
	}
	return r, nil
}

func (tx *bucketTx) PutRejection(device string, r *v1.ChangeResult) error {
	if err := checkDevice(device); err != nil {
		return err
	}
	n, err := i64(r.GetDeviceSeq())
	if err != nil {
		return err
	}
	b, err := proto.Marshal(r)
	if err != nil {
		return err
	}
	tx.rejected[rejectionKey{device, n}], tx.wrote = b, true
	return nil
}

func (tx *bucketTx) Record(bucket, record string) (*v1.RecordState, error) {
	if _, err := tx.lockBucket(bucket); err != nil {
		return nil, err
	}
	if err := canonical(record); err != nil {
		return nil, err
	}
	if st, ok := tx.states[recordKey{bucket, record}]; ok {
		return proto.Clone(st).(*v1.RecordState), nil
	}
	b, ok := tx.read[recordKey{bucket, record}]
	if !ok {
		err := tx.tx.QueryRow(tx.ctx, "SELECT state FROM records WHERE bucket = $1 AND record = $2", bucket, record).Scan(&b)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
	}
	if b == nil {
		return nil, nil // read ahead: absent
	}
	st := &v1.RecordState{}
	return st, proto.Unmarshal(b, st)
}

// ReadRecords reads the states of records of bucket in one round trip,
// for Record to answer from (syncengine reads a push's records so, rather
// than one query each). It locks the bucket first, as Record does; ids
// that are not canonical are left for Record to refuse, and records put in
// this transaction stay as put.
func (tx *bucketTx) ReadRecords(bucket string, records []string) error {
	if _, err := tx.lockBucket(bucket); err != nil {
		return err
	}
	var want []string
	for _, r := range records {
		k := recordKey{bucket, r}
		_, put := tx.states[k]
		_, read := tx.read[k]
		if !put && !read && canonical(r) == nil {
			want = append(want, r)
			tx.read[k] = nil // absent unless the query finds it
		}
	}
	if len(want) == 0 {
		return nil
	}
	rows, err := tx.tx.Query(tx.ctx, "SELECT record::text, state FROM records WHERE bucket = $1 AND record = ANY($2::uuid[])", bucket, want)
	if err != nil {
		return err
	}
	var record string
	var state []byte
	_, err = pgx.ForEachRow(rows, []any{&record, &state}, func() error {
		tx.read[recordKey{bucket, record}] = append([]byte{}, state...)
		return nil
	})
	return err
}

func (tx *bucketTx) PutRecord(bucket string, st *v1.RecordState) error {
	if _, err := tx.lockBucket(bucket); err != nil {
		return err
	}
	if err := canonical(st.GetRecordId()); err != nil {
		return err
	}
	if st.GetPosition() == 0 {
		return errors.New("pgstore: a record state needs the position of its last change")
	}
	if _, err := i64(st.GetPosition()); err != nil {
		return err
	}
	tx.states[recordKey{bucket, st.GetRecordId()}], tx.wrote = proto.Clone(st).(*v1.RecordState), true
	return nil
}

func (tx *bucketTx) Head(bucket string) (uint64, error) { return tx.lockBucket(bucket) }

func (tx *bucketTx) Append(bucket string, e *v1.HistoryEntry) error {
	head, err := tx.lockBucket(bucket)
	if err != nil {
		return err
	}
	if e.GetPosition() != head+1 {
		return fmt.Errorf("pgstore: log entry at position %d does not follow the bucket's head %d", e.GetPosition(), head)
	}
	if !tx.appended[bucket] {
		// Read once per bucket and transaction, after its head row is
		// locked: a purge committed before that is seen (see purge.go).
		if purged, err := tx.purged(bucket); err != nil || purged {
			return cmp.Or(err, store.ErrPurged)
		}
	}
	if err := canonical(e.GetRecordId()); err != nil {
		return err
	}
	pos, err := i64(e.GetPosition())
	if err != nil {
		return err
	}
	b, err := proto.Marshal(e)
	if err != nil {
		return err
	}
	tx.entries = append(tx.entries, logRow{bucket: bucket, record: e.GetRecordId(), pos: pos, entry: b})
	tx.heads[bucket], tx.appended[bucket], tx.wrote = e.GetPosition(), true, true
	return nil
}

func (tx *bucketTx) MarkLate(bucket, record string) error {
	if _, err := tx.lockBucket(bucket); err != nil {
		return err
	}
	if err := canonical(record); err != nil {
		return err
	}
	tx.late[recordKey{bucket, record}], tx.wrote = true, true
	return nil
}

func (tx *bucketTx) AppendAudit(a *store.Audit) error {
	e, err := store.PendingAudit(a, tx.now)
	if err != nil {
		return err
	}
	tx.audits, tx.wrote = append(tx.audits, e), true
	return nil
}

// flush sends the transaction's writes, one statement per table, and the
// notification of its heads from origin (notify.go).
func (tx *bucketTx) flush(origin string) error {
	batch := &pgx.Batch{}
	if len(tx.entries) > 0 {
		var buckets, records []string
		var pos []int64
		var entries [][]byte
		for _, r := range tx.entries {
			buckets, records, pos, entries = append(buckets, r.bucket), append(records, r.record), append(pos, r.pos), append(entries, r.entry)
		}
		batch.Queue(`INSERT INTO log_entries (bucket, position, record, entry)
			SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::uuid[], $4::bytea[])`, buckets, pos, records, entries)
	}
	if err := tx.queueStates(batch); err != nil {
		return err
	}
	tx.queueSmall(batch)
	if len(tx.appended) > 0 {
		var buckets []string
		var heads []int64
		for b := range tx.appended {
			buckets, heads = append(buckets, b), append(heads, int64(tx.heads[b]))
		}
		batch.Queue(`UPDATE bucket_heads SET head = v.head FROM unnest($1::uuid[], $2::bigint[]) AS v (bucket, head)
			WHERE bucket_heads.bucket = v.bucket`, buckets, heads)
	}
	tx.queueNotify(batch, origin)
	return tx.tx.SendBatch(tx.ctx, batch).Close()
}

func (tx *bucketTx) queueStates(batch *pgx.Batch) error {
	if len(tx.states) == 0 {
		return nil
	}
	var buckets, records []string
	var pos []int64
	var states [][]byte
	for k, st := range tx.states {
		b, err := proto.Marshal(st)
		if err != nil {
			return err
		}
		buckets, records, pos, states = append(buckets, k.bucket), append(records, k.record), append(pos, int64(st.GetPosition())), append(states, b)
	}
	batch.Queue(`INSERT INTO records (bucket, record, position, state)
		SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::bytea[])
		ON CONFLICT (bucket, record) DO UPDATE SET position = excluded.position, state = excluded.state`, buckets, records, pos, states)
	return nil
}

// queueSmall queues the writes of the tables a push writes a row or two
// of: high-water marks, rejections, the late index and audit entries.
func (tx *bucketTx) queueSmall(batch *pgx.Batch) {
	for d := range tx.hwmSet {
		batch.Queue("UPDATE devices SET high_water = $2 WHERE device = $1", []byte(d), int64(tx.hwm[d]))
	}
	for k, b := range tx.rejected {
		batch.Queue(`INSERT INTO rejections (device, seq, result) VALUES ($1, $2, $3)
			ON CONFLICT (device, seq) DO UPDATE SET result = excluded.result`, []byte(k.device), k.seq, b)
	}
	for k := range tx.late {
		batch.Queue("INSERT INTO late_records (bucket, record) VALUES ($1, $2) ON CONFLICT DO NOTHING", k.bucket, k.record)
	}
	for _, a := range tx.audits {
		batch.Queue("INSERT INTO audit_pending (id, area, entry) VALUES ($1, $2, $3)",
			uuid.Must(uuid.NewV7()).String(), []byte(a.AreaID), a.Encode())
	}
}
