package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/google/uuid"
)

// The audit trail is one hash chain per area, kept in two steps so that an
// operation and its audit entry commit together without every audited
// transaction contending for the chain's head:
//
//  1. AppendAudit (on a DirTx or a BucketTx) writes the entry, without Seq
//     or Prev, under a fresh pending key, inside the operation's own
//     transaction: the operation and its entry are durable together or not
//     at all, and no two transactions ever write the same key.
//  2. After the commit the entries are sealed into their area's chain:
//     under one lock (so the chain never forks) a sealing transaction
//     gives each pending entry the next Seq of its area and the hash of
//     the entry before, and moves it to the chain. Directory seals before
//     it returns. Buckets (pushes, at up to thousands a second) only kicks
//     the sealer, a goroutine, and returns: a burst of pushes costs a
//     handful of seals, not one each, and no push waits for one. Every
//     directory transaction first seals what is pending, so a read of the
//     trail (AuditOf*) after an operation returned finds its entry.
//
// An entry is only ever written under a chain key that does not exist yet
// (sealing refuses to overwrite one); nothing deletes or rewrites chain
// entries. A seal that fails leaves its entries pending, durable with their
// operations, for the next seal. Keys:
//
//	0x29 area 0 seq(8)               → entry (canonical encoding)
//	0x2a area                        → head: seq(8) hash(32) of the last entry
//	0x2b area 0 uuid(16)             → pending entry (Seq 0, Prev zero)
//	0x2c area 0 client 0 seq(8)      → (index) entries about a client
//	0x2d area 0 user 0 seq(8)        → (index) entries by a user
//
// Entries stored under 0x25 and 0x26 by servers before the chain existed
// (exports only, mutable JSON) are left as they were and are not read.

// The audit tables, after the purge tombstones (purge.go).
const (
	dAuditEntry byte = dPurged + 1 + iota
	dAuditHead
	dAuditPending
	dAuditOfClient
	dAuditOfUser
)

// auditChain serialises sealing.
type auditChain struct {
	mu       sync.Mutex    // held while sealing
	appended atomic.Uint64 // audited commits so far
	sealed   atomic.Uint64 // appended, as read when the last complete seal began
	failed   atomic.Uint64 // seals that failed (their entries stay pending)
	kick     chan struct{} // wakes the sealer (buffered: one kick pending at most)
	floor    pendingFloor  // where seals start reading (auditfloor.go)
}

// AuditStats counts the audit trail's writes since the store opened.
type AuditStats struct {
	// Commits is the committed transactions that appended audit entries.
	Commits uint64
	// Sealed is how many of them have been sealed into their chains.
	Sealed uint64
	// SealFailures is the seals that failed; their entries stay pending,
	// durable, until a later seal takes them.
	SealFailures uint64
}

// AuditStats returns the audit trail's counts (for the metrics).
func (s *DB) AuditStats() AuditStats {
	return AuditStats{Commits: s.audit.appended.Load(), Sealed: s.audit.sealed.Load(), SealFailures: s.audit.failed.Load()}
}

// maxSealBatch bounds the entries one sealing transaction moves.
const maxSealBatch = 2000

func auditEntryKey(area string, seq uint64) []byte {
	return append(append(dkey(dAuditEntry, area), 0), be64(seq)...)
}

func auditIndexKey(table byte, area, who string, seq uint64) []byte {
	return append(append(dkey(table, area, who), 0), be64(seq)...)
}

// appendAudit writes a checked entry under a fresh pending key.
func appendAudit(set func(k, v []byte) error, f *pendingFloor, a *Audit, now time.Time) error {
	e, err := checkAppend(a, now)
	if err != nil {
		return err
	}
	f.noteArea(e.AreaID) // before the key is drawn
	id := uuid.Must(uuid.NewV7())
	return set(append(append(dkey(dAuditPending, e.AreaID), 0), id[:]...), e.Encode())
}

// AppendAudit appends an entry to its area's audit chain (see
// BucketTx.AppendAudit).
func (tx *badgerDirTx) AppendAudit(a *Audit) error {
	if err := appendAudit(tx.set, tx.floor, a, tx.now); err != nil {
		return err
	}
	tx.audited = true
	return nil
}

// AppendAudit appends an entry to its area's audit chain (see
// BucketTx.AppendAudit).
func (tx *badgerBucketTx) AppendAudit(a *Audit) error {
	set := func(k, v []byte) error { tx.wrote = true; return tx.txn.Set(k, v) }
	if err := appendAudit(set, tx.floor, a, tx.now()); err != nil {
		return err
	}
	tx.audited = true
	return nil
}

// afterAudited notes an audited transaction that has committed and seals
// its entries, now if wait is set, else by kicking the sealer. A seal that
// fails leaves them pending, durable with the operation (which is not
// undone); the next seal takes them.
func (s *DB) afterAudited(ctx context.Context, wait bool) {
	s.audit.appended.Add(1)
	if !wait {
		select {
		case s.audit.kick <- struct{}{}:
		default: // a kick is pending: that seal will take these entries too
		}
		return
	}
	if err := s.sealAudit(ctx); err != nil {
		s.log.Error().Err(err).Msg("audit entries left pending")
	}
}

// sealBehind seals what audited transactions left pending, if any, so
// that a directory transaction starting now reads every entry of an
// operation that has returned.
func (s *DB) sealBehind(ctx context.Context) {
	if s.audit.sealed.Load() < s.audit.appended.Load() {
		if err := s.sealAudit(ctx); err != nil {
			s.log.Error().Err(err).Msg("audit entries left pending")
		}
	}
}

// sealLoop seals when kicked, until the store closes.
func (s *DB) sealLoop() {
	defer s.wg.Done()
	for {
		select {
		case <-s.stop:
			return
		case <-s.audit.kick:
			s.sealBehind(context.Background())
		}
	}
}

// sealAudit seals every pending entry (see the top of this file).
func (s *DB) sealAudit(ctx context.Context) error {
	c := &s.audit
	want := c.appended.Load()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sealed.Load() >= want {
		return nil // a seal that began after our commit has sealed it
	}
	target := c.appended.Load()
	for {
		var moved int
		next, floor, areas := c.floor.mark() // before the seal's snapshot
		err := s.retry(context.WithoutCancel(ctx), func(txn *badger.Txn) error {
			var err error
			moved, err = sealPending(txn, floor, areas)
			if err == nil && moved == 0 {
				return errNothingWritten
			}
			return err
		})
		if err != nil {
			c.failed.Add(1)
			return fmt.Errorf("store: sealing the audit trail: %w", err)
		}
		if moved < maxSealBatch {
			c.floor.sealedTo(next) // it took every pending entry it saw
			break
		}
	}
	c.sealed.Store(target)
	return nil
}

type pendingAudit struct {
	key   []byte
	entry *Audit
}

// sealPending moves up to maxSealBatch pending entries into their chains,
// reading from floor in each of areas (floor 0: the whole table).
func sealPending(txn *badger.Txn, floor uint64, areas []string) (int, error) {
	pending, err := readPending(txn, floor, areas)
	if err != nil {
		return 0, err
	}
	heads := map[string]*auditHead{}
	for _, p := range pending {
		e := p.entry
		h, ok := heads[e.AreaID]
		if !ok {
			if h, err = readHead(txn, e.AreaID); err != nil {
				return 0, err
			}
			heads[e.AreaID] = h
		}
		e.Seq, e.Prev = h.Seq+1, h.Hash
		key := auditEntryKey(e.AreaID, e.Seq)
		if _, err := txn.Get(key); err == nil {
			return 0, fmt.Errorf("store: audit entry %d of an area exists; the chain is not overwritten", e.Seq)
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return 0, err
		}
		enc := e.Encode()
		if err := txn.Set(key, enc); err != nil {
			return 0, err
		}
		for _, k := range indexKeys(e) {
			if err := txn.Set(k, nil); err != nil {
				return 0, err
			}
		}
		if err := txn.Delete(p.key); err != nil {
			return 0, err
		}
		h.Seq, h.Hash = e.Seq, sha256.Sum256(enc)
	}
	for area, h := range heads {
		if err := txn.Set(dkey(dAuditHead, area), append(be64(h.Seq), h.Hash[:]...)); err != nil {
			return 0, err
		}
	}
	return len(pending), nil
}

func indexKeys(e *Audit) [][]byte {
	var out [][]byte
	if e.UserID != "" {
		out = append(out, auditIndexKey(dAuditOfUser, e.AreaID, e.UserID, e.Seq))
	}
	seen := map[string]bool{}
	for _, c := range e.ClientIDs {
		if c != "" && !seen[c] {
			seen[c] = true
			out = append(out, auditIndexKey(dAuditOfClient, e.AreaID, c, e.Seq))
		}
	}
	return out
}

// readPending reads up to maxSealBatch pending entries: with floor 0 the
// whole table, else in each of areas from its key with floor's prefix on
// (see auditfloor.go: what lies below is sealed, and seeking there skips
// the tombstones that seals left without walking them).
func readPending(txn *badger.Txn, floor uint64, areas []string) ([]pendingAudit, error) {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = []byte{dAuditPending}
	it := txn.NewIterator(opts)
	defer it.Close()
	if floor == 0 {
		return readPendingFrom(it, opts.Prefix, opts.Prefix, nil)
	}
	var out []pendingAudit
	for _, area := range areas {
		prefix := append(dkey(dAuditPending, area), 0)
		var err error
		if out, err = readPendingFrom(it, prefix, append(bytes.Clone(prefix), be64(floor)...), out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readPendingFrom appends to out the pending entries from seek on while
// their keys have prefix, up to maxSealBatch in all.
func readPendingFrom(it *badger.Iterator, prefix, seek []byte, out []pendingAudit) ([]pendingAudit, error) {
	for it.Seek(seek); it.ValidForPrefix(prefix) && len(out) < maxSealBatch; it.Next() {
		v, err := it.Item().ValueCopy(nil)
		if err != nil {
			return nil, err
		}
		e, err := DecodeAudit(v)
		if err != nil {
			return nil, fmt.Errorf("store: a pending audit entry: %w", err)
		}
		out = append(out, pendingAudit{key: it.Item().KeyCopy(nil), entry: e})
	}
	return out, nil
}

// auditHead is the last entry of an area's chain (Seq 0: none yet).
type auditHead struct {
	Seq  uint64
	Hash [32]byte
}

func readHead(txn *badger.Txn, area string) (*auditHead, error) {
	item, err := txn.Get(dkey(dAuditHead, area))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return &auditHead{}, nil
	}
	if err != nil {
		return nil, err
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return nil, err
	}
	if len(v) != 8+32 {
		return nil, fmt.Errorf("store: the audit head of an area is %d bytes, want 40", len(v))
	}
	h := &auditHead{Seq: binary.BigEndian.Uint64(v)}
	copy(h.Hash[:], v[8:])
	return h, nil
}

// AuditOfClient returns the sealed entries of an area's chain about a
// client (see DirTx.AuditOfClient).
func (tx *badgerDirTx) AuditOfClient(area, client string, after uint64, limit int) ([]*Audit, error) {
	return tx.auditIndexed(dAuditOfClient, area, client, after, limit)
}

// AuditOfUser returns the sealed entries of an area's chain by a user (see
// DirTx.AuditOfUser).
func (tx *badgerDirTx) AuditOfUser(area, user string, after uint64, limit int) ([]*Audit, error) {
	return tx.auditIndexed(dAuditOfUser, area, user, after, limit)
}

// AuditOfArea returns the sealed entries of an area's chain (see
// DirTx.AuditOfArea).
func (tx *badgerDirTx) AuditOfArea(area string, after uint64, limit int) ([]*Audit, error) {
	prefix := append(dkey(dAuditEntry, area), 0)
	opts := badger.DefaultIteratorOptions
	opts.Prefix = prefix
	it := tx.txn.NewIterator(opts)
	defer it.Close()
	var out []*Audit
	for it.Seek(append(bytes.Clone(prefix), be64(after+1)...)); it.ValidForPrefix(prefix); it.Next() {
		if limit > 0 && len(out) == limit {
			break
		}
		if len(it.Item().Key()) != len(prefix)+8 {
			continue
		}
		var a *Audit
		err := it.Item().Value(func(v []byte) (err error) {
			a, err = DecodeAudit(v)
			return err
		})
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func (tx *badgerDirTx) auditIndexed(table byte, area, who string, after uint64, limit int) ([]*Audit, error) {
	prefix := append(dkey(table, area, who), 0)
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Prefix = prefix
	it := tx.txn.NewIterator(opts)
	defer it.Close()
	var out []*Audit
	for it.Seek(append(bytes.Clone(prefix), be64(after+1)...)); it.ValidForPrefix(prefix); it.Next() {
		if limit > 0 && len(out) == limit {
			break
		}
		k := it.Item().Key()
		if len(k) != len(prefix)+8 {
			continue
		}
		a, err := tx.auditEntry(area, binary.BigEndian.Uint64(k[len(prefix):]))
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func (tx *badgerDirTx) auditEntry(area string, seq uint64) (*Audit, error) {
	item, err := tx.txn.Get(auditEntryKey(area, seq))
	if err != nil {
		return nil, fmt.Errorf("store: audit index points at entry %d, which cannot be read: %w", seq, err)
	}
	var a *Audit
	err = item.Value(func(v []byte) error {
		a, err = DecodeAudit(v)
		return err
	})
	return a, err
}
