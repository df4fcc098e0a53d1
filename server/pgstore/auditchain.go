package pgstore

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/throughcare/throughcare/server/store"
)

// The audit trail is one hash chain per area, kept in two steps as the
// Badger store keeps it (see package store's auditchain.go), so that an
// operation and its entry commit together without every audited
// transaction waiting for its area's chain:
//
//  1. AppendAudit (on a DirTx or a BucketTx) inserts the entry, checked by
//     store.PendingAudit (Seq and Prev zero), into audit_pending inside
//     the operation's own transaction: both commit, or neither.
//  2. After the commit a sealing transaction moves the pending entries into
//     their chains, area by area in byte order of the area: it locks the
//     area's head row (audit_heads, SELECT … FOR UPDATE), so sealers on
//     every server sharing the database take turns and the chain never
//     forks; then it reads the area's pending entries (READ COMMITTED: it
//     sees what the sealer before it deleted), gives each the next Seq and
//     the hash of the entry before (store.Audit.Encode and Hash, the one
//     canonical encoding), inserts it into audit_entries, whose primary key
//     (area, seq) refuses to overwrite an entry, indexes it by client and
//     by user, deletes it from audit_pending and moves the head.
//
// Directory seals before it returns; Buckets (pushes) kicks the sealer, a
// goroutine, and returns. Every directory transaction first seals what
// this server left pending, so a read of the trail after an operation
// returned finds its entry. A seal that fails leaves its entries pending,
// durable with their operations, for the next seal (any server's).

// maxSealBatch bounds the entries of an area one sealing transaction
// moves.
const maxSealBatch = 2000

// auditSealer serialises this server's seals and counts what is pending.
type auditSealer struct {
	mu       sync.Mutex    // held while sealing
	appended atomic.Uint64 // audited commits so far
	sealed   atomic.Uint64 // appended, as read when the last complete seal began
	failed   atomic.Uint64 // seals that failed
	kick     chan struct{} // wakes the sealer (one kick pending at most)
	stop     chan struct{}
	done     sync.WaitGroup
}

// AppendAudit implements store.DirTx: the entry commits with the
// transaction and is sealed into its chain before Directory returns.
func (tx *dirTx) AppendAudit(a *store.Audit) error {
	e, err := store.PendingAudit(a, tx.now)
	if err != nil {
		return err
	}
	if err := tx.exec("INSERT INTO audit_pending (id, area, entry) VALUES ($1, $2, $3)",
		uuid.Must(uuid.NewV7()).String(), []byte(e.AreaID), e.Encode()); err != nil {
		return err
	}
	tx.audited = true
	return nil
}

// startSealer starts the goroutine that seals after pushes, having sealed
// what an earlier run (or another server) left pending.
func (s *DB) startSealer(ctx context.Context) error {
	s.audit.kick, s.audit.stop = make(chan struct{}, 1), make(chan struct{})
	if err := s.sealAudit(ctx); err != nil {
		return err
	}
	s.audit.done.Add(1)
	go func() {
		defer s.audit.done.Done()
		for {
			select {
			case <-s.audit.stop:
				return
			case <-s.audit.kick:
				s.sealBehind(context.Background())
			}
		}
	}()
	return nil
}

// stopSealer stops the sealer and seals what is left.
func (s *DB) stopSealer() {
	close(s.audit.stop)
	s.audit.done.Wait()
	s.sealBehind(context.Background())
}

// logSeal logs a seal that failed (counted by sealAudit): its entries stay
// pending, durable with their operations, for the next seal. The error
// names no entry's contents.
func (s *DB) logSeal(err error) {
	if err != nil {
		s.log.Error().Err(err).Uint64("seal_failures", s.audit.failed.Load()).Msg("audit entries left pending")
	}
}

// afterAudited notes an audited commit and seals its entries: now if wait
// is set, else by kicking the sealer.
func (s *DB) afterAudited(ctx context.Context, wait bool) {
	s.audit.appended.Add(1)
	if !wait {
		select {
		case s.audit.kick <- struct{}{}:
		default: // a kick is pending: that seal takes these entries too
		}
		return
	}
	s.logSeal(s.sealAudit(ctx))
}

// sealBehind seals what this server's audited commits left pending, if
// any.
func (s *DB) sealBehind(ctx context.Context) {
	if s.audit.sealed.Load() < s.audit.appended.Load() {
		s.logSeal(s.sealAudit(ctx))
	}
}

// sealAudit seals every pending entry (see the top of this file).
func (s *DB) sealAudit(ctx context.Context) error {
	c := &s.audit
	want := c.appended.Load()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sealed.Load() >= want && want > 0 {
		return nil // a seal that began after our commit has sealed it
	}
	target := c.appended.Load()
	ctx = context.WithoutCancel(ctx) // a seal, once begun, finishes
	for {
		var full bool
		var err error
		for range maxRetries {
			if full, err = s.sealOnce(ctx); !retryable(err) {
				break
			}
		}
		if err != nil {
			c.failed.Add(1)
			return fmt.Errorf("pgstore: sealing the audit trail: %w", s.mapErr(err))
		}
		if !full {
			break
		}
	}
	c.sealed.Store(target)
	return nil
}

// queryAreas returns the areas (ids as stored) a query selects.
func queryAreas(ctx context.Context, tx pgx.Tx, sql string) ([][]byte, error) {
	rows, err := tx.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[[]byte])
}

// sealOnce runs one sealing transaction; full reports an area that had
// more pending entries than it moved.
func (s *DB) sealOnce(ctx context.Context) (full bool, err error) {
	err = pgx.BeginTxFunc(ctx, s.pool, readCommitted, func(tx pgx.Tx) error {
		areas, err := queryAreas(ctx, tx, "SELECT DISTINCT area FROM audit_pending ORDER BY area")
		if err != nil {
			return err
		}
		for _, area := range areas {
			n, err := sealArea(ctx, tx, area)
			if err != nil {
				return err
			}
			full = full || n == maxSealBatch
		}
		return nil
	})
	return full, err
}

// sealArea moves up to maxSealBatch of an area's pending entries, oldest
// first, into its chain, under the lock of its head row.
func sealArea(ctx context.Context, tx pgx.Tx, area []byte) (int, error) {
	if _, err := tx.Exec(ctx, "INSERT INTO audit_heads (area, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (area) DO NOTHING",
		area, make([]byte, 32)); err != nil {
		return 0, err
	}
	var seq int64
	var hash []byte
	if err := tx.QueryRow(ctx, "SELECT seq, hash FROM audit_heads WHERE area = $1 FOR UPDATE", area).Scan(&seq, &hash); err != nil {
		return 0, err
	}
	if len(hash) != 32 {
		return 0, fmt.Errorf("pgstore: the audit head of an area is %d bytes, want 32", len(hash))
	}
	rows, err := tx.Query(ctx, "SELECT id::text, entry FROM audit_pending WHERE area = $1 ORDER BY id LIMIT $2", area, maxSealBatch)
	if err != nil {
		return 0, err
	}
	type pending struct {
		id    string
		entry []byte
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pending, error) {
		var p pending
		return p, r.Scan(&p.id, &p.entry)
	})
	if err != nil || len(list) == 0 {
		return 0, err
	}
	var ids []string
	var seqs []int64
	var encs [][]byte
	idx := &auditIndex{}
	prev := [32]byte(hash)
	for _, p := range list {
		e, err := store.DecodeAudit(p.entry)
		if err != nil {
			return 0, fmt.Errorf("pgstore: a pending audit entry: %w", err)
		}
		seq++
		e.Seq, e.Prev = uint64(seq), prev
		enc := e.Encode()
		prev = sha256.Sum256(enc)
		ids, seqs, encs = append(ids, p.id), append(seqs, seq), append(encs, enc)
		idx.add(e, seq)
	}
	batch := &pgx.Batch{}
	batch.Queue("INSERT INTO audit_entries (area, seq, entry) SELECT $1, * FROM unnest($2::bigint[], $3::bytea[])", area, seqs, encs)
	batch.Queue("INSERT INTO audit_of_user (area, user_id, seq) SELECT $1, * FROM unnest($2::bytea[], $3::bigint[])", area, idx.users, idx.userSeqs)
	batch.Queue("INSERT INTO audit_of_client (area, client, seq) SELECT $1, * FROM unnest($2::bytea[], $3::bigint[])", area, idx.clients, idx.clientSeqs)
	batch.Queue("DELETE FROM audit_pending WHERE id = ANY($1::uuid[])", ids)
	batch.Queue("UPDATE audit_heads SET seq = $2, hash = $3 WHERE area = $1", area, seq, prev[:])
	return len(list), tx.SendBatch(ctx, batch).Close()
}

// auditIndex collects the index rows of sealed entries: by user, and by
// each client (once per entry).
type auditIndex struct {
	users, clients       [][]byte
	userSeqs, clientSeqs []int64
}

func (x *auditIndex) add(e *store.Audit, seq int64) {
	if e.UserID != "" {
		x.users, x.userSeqs = append(x.users, []byte(e.UserID)), append(x.userSeqs, seq)
	}
	seen := map[string]bool{}
	for _, c := range e.ClientIDs {
		if c != "" && !seen[c] {
			seen[c] = true
			x.clients, x.clientSeqs = append(x.clients, []byte(c)), append(x.clientSeqs, seq)
		}
	}
}

// AuditOfClient implements store.DirTx.
func (tx *dirTx) AuditOfClient(area, client string, after uint64, limit int) ([]*store.Audit, error) {
	return tx.audit(`SELECT e.entry FROM audit_of_client i JOIN audit_entries e ON e.area = i.area AND e.seq = i.seq
		WHERE i.area = $1 AND i.client = $2 AND i.seq > $3 ORDER BY i.seq LIMIT $4`, after, limit, []byte(area), []byte(client))
}

// AuditOfUser implements store.DirTx.
func (tx *dirTx) AuditOfUser(area, user string, after uint64, limit int) ([]*store.Audit, error) {
	return tx.audit(`SELECT e.entry FROM audit_of_user i JOIN audit_entries e ON e.area = i.area AND e.seq = i.seq
		WHERE i.area = $1 AND i.user_id = $2 AND i.seq > $3 ORDER BY i.seq LIMIT $4`, after, limit, []byte(area), []byte(user))
}

// AuditOfArea implements store.DirTx.
func (tx *dirTx) AuditOfArea(area string, after uint64, limit int) ([]*store.Audit, error) {
	return tx.audit("SELECT entry FROM audit_entries WHERE area = $1 AND seq > $2 ORDER BY seq LIMIT $3", after, limit, []byte(area))
}

// audit runs a query of sealed entries whose parameters are args, then
// after, then the limit (NULL: all).
func (tx *dirTx) audit(query string, after uint64, limit int, args ...any) ([]*store.Audit, error) {
	from, err := i64(after)
	if err != nil {
		return nil, err
	}
	var lim *int64
	if limit > 0 {
		n := int64(limit)
		lim = &n
	}
	rows, err := tx.tx.Query(tx.ctx, query, append(args, from, lim)...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Audit, error) {
		var b []byte
		if err := r.Scan(&b); err != nil {
			return nil, err
		}
		return store.DecodeAudit(b)
	})
}
