package caseload

// The outbox, and how it is cut into pushes.
//
// Every change in the outbox belongs to one write (a user action: saving a
// form). Write gives a write's changes consecutive device_seq numbers in one
// transaction, under the device lock, so writes never interleave, and marks
// the write's first change with its last (a w key). A push carries whole
// writes only: the server refuses a push in which a new record lacks a
// required field, so the changes that create a record travel together.
//
// A push starts at the front of the outbox (its lowest seq) and takes
// writes while they fit under Config.PushBatch and PushBytes; a write bigger
// than those goes in a push of its own. Write refuses a write that would
// not fit in a push on its own (ErrTooLarge), so none can block the queue.
// One that still does not fit, written before Write checked, or before the
// server limits were lowered, is cut at those limits as before, and the
// rest of it is marked as a write of its own.
//
// Seqs are renumbered only when the server says it lost changes of this
// device (renumber.go). The server requires a push's seqs to be
// consecutive and to follow its high-water mark for the device, and answers
// changes at or below the mark with their first verdicts. So a push whose
// answer was lost may be sent again grouped differently (after an upgrade
// or a change of limits): what the server already holds comes back as
// duplicates, the rest is applied, nothing twice.
//
// Outboxes written before the w keys existed (the SDK up to commit 27478ba,
// which cut pushes every 500 changes wherever that fell) have no marks.
// There a write is recovered as the run of consecutive changes with the
// same record and the same stamp: that is exactly what Write made (one
// record and one stamp per write, a new stamp for every write). A queue
// stuck on a push cut inside a new record therefore syncs after the
// upgrade, with no migration step; nothing about it is rewritten.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"github.com/throughcare/throughcare/client-sdk/caseload/internal/local"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/protocol"
	"github.com/throughcare/throughcare/syncproto/wire"
)

// maxPushBytes is the largest push (and so the largest write) the SDK makes.
// A write is one transaction of the device's store, which Badger bounds to
// 15% of the 16 MiB memtable (2.5 MB, counting values of ValueThreshold
// and more as 12-byte pointers); a push's settlement is chunked (settle).
const maxPushBytes = 4 << 20

// pushHeaderSize is the encoded size of a push without its changes.
func (d *Device) pushHeaderSize() int {
	return proto.Size(&v1.PushRequest{ProtocolVersion: protocol.Version, SchemaVersion: d.reg.Version()})
}

// pushedSize is what a change adds to an encoded push.
func pushedSize(ch *v1.Change) int {
	return protowire.SizeTag(wire.PushRequest.Changes) + protowire.SizeBytes(proto.Size(ch))
}

// fitsOneBatch refuses a write of more changes than a push may carry.
func (d *Device) fitsOneBatch(n int) error {
	if n > d.cfg.ServerMaxBatch {
		return fmt.Errorf("caseload: %w: %w: this write holds %d changes, more than the %d the server takes in one push; save it in parts", ErrInvalid, ErrTooLarge, n, d.cfg.ServerMaxBatch)
	}
	return nil
}

// fitsOnePush refuses a write that no push could carry.
func (d *Device) fitsOnePush(chs []*v1.Change) error {
	if err := d.fitsOneBatch(len(chs)); err != nil {
		return err
	}
	size := d.pushHeaderSize()
	for _, ch := range chs {
		size += pushedSize(ch)
	}
	if size > d.cfg.ServerMaxRequestBytes {
		return fmt.Errorf("caseload: %w: %w: this write is %d bytes, more than the %d the server takes in one push; save it in parts", ErrInvalid, ErrTooLarge, size, d.cfg.ServerMaxRequestBytes)
	}
	return nil
}

func writeKey(first uint64) []byte { return seqKey(pWrite, first) }

// push sends the outbox, whole writes at a time, until it is empty. When
// the server says it lost changes of this device (a sequence reset), the
// changes it lacks are renumbered after its high-water mark and sent again,
// once per push; a second reset is a SequenceError for an operator. The
// reset a store that took over a device gets for its first push only tells
// it the server's mark (see renumber.go): it is not reported.
func (d *Device) push(ctx context.Context, rep *SyncReport) error {
	renumbered := false
	for {
		err := d.pushOnce(ctx, rep)
		var reset *sequenceReset
		if !errors.As(err, &reset) {
			return err
		}
		if renumbered {
			return &SequenceError{HighWater: reset.highWater, Next: reset.next}
		}
		learnt, err := d.renumber(reset.highWater, reset.next)
		if err != nil {
			return err
		}
		renumbered, rep.Reset = true, rep.Reset || !learnt
	}
}

// pushOnce sends the outbox until it is empty or a push fails.
func (d *Device) pushOnce(ctx context.Context, rep *SyncReport) error {
	for {
		chs, err := d.nextPush()
		if err != nil || len(chs) == 0 {
			return err
		}
		req := &v1.PushRequest{ProtocolVersion: protocol.Version, SchemaVersion: d.reg.Version(), Changes: chs}
		var (
			resp *v1.PushResponse
			sent time.Time
		)
		err = d.authed(ctx, func() error {
			var err error
			sent = d.cfg.Now()
			resp, err = d.sync.Push(ctx, req)
			return err
		})
		if err != nil {
			return d.pushError(err, chs[0].GetDeviceSeq(), sent)
		}
		d.learnOffset(resp.GetServerTime(), sent)
		if len(resp.GetResults()) != len(chs) {
			return fmt.Errorf("caseload: the server answered %d results for %d changes", len(resp.GetResults()), len(chs))
		}
		if err := d.settle(chs, resp.GetResults(), rep); err != nil {
			return err
		}
	}
}

// pushError reads a refused push's details: a sequence reset becomes a
// *sequenceReset, a sequence mismatch a SequenceError, a refusal's server
// time is learnt.
func (d *Device) pushError(err error, next uint64, sent time.Time) error {
	var cerr *connect.Error
	if !errors.As(err, &cerr) {
		return err
	}
	var mismatch error
	for _, det := range cerr.Details() {
		if m, derr := det.Value(); derr == nil {
			switch m := m.(type) {
			case *v1.ResetRequired:
				if m.GetReason() == v1.ResetReason_RESET_REASON_SEQUENCE_AHEAD {
					return &sequenceReset{highWater: m.GetHighWater(), next: next}
				}
			case *v1.SequenceMismatch:
				mismatch = &SequenceError{HighWater: m.GetHighWater(), Next: next}
			case *v1.PushRejected:
				d.learnOffset(m.GetServerTime(), sent)
			}
		}
	}
	if mismatch != nil {
		return mismatch
	}
	return err
}

// nextPush reads the next push from the front of the outbox: whole writes,
// as many as fit under PushBatch and PushBytes, at least one (cut at the
// server's limits if it alone exceeds them).
func (d *Device) nextPush() ([]*v1.Change, error) {
	var chs []*v1.Change
	err := d.db.View(func(txn *local.Txn) error {
		it := txn.NewIterator(local.IterOptions{Prefix: []byte{pOutbox}, PrefetchValues: true, PrefetchSize: 100})
		defer it.Close()
		it.Rewind()
		r := &outboxReader{txn: txn, it: it}
		size := d.pushHeaderSize()
		for {
			w, err := r.write()
			if err != nil || len(w) == 0 {
				return err
			}
			wsize := 0
			for _, ch := range w {
				wsize += pushedSize(ch)
			}
			if len(chs) > 0 && (len(chs)+len(w) > d.cfg.PushBatch || size+wsize > d.cfg.PushBytes) {
				return nil
			}
			if len(chs) == 0 && (len(w) > d.cfg.ServerMaxBatch || size+wsize > d.cfg.ServerMaxRequestBytes) {
				chs = d.cutToServerLimits(w)
				return nil
			}
			chs, size = append(chs, w...), size+wsize
			if len(chs) >= d.cfg.PushBatch || size >= d.cfg.PushBytes {
				return nil
			}
		}
	})
	return chs, err
}

// cutToServerLimits returns the longest front of a write that the server
// takes in one push (at least one change).
func (d *Device) cutToServerLimits(w []*v1.Change) []*v1.Change {
	size := d.pushHeaderSize()
	for i, ch := range w {
		size += pushedSize(ch)
		if i > 0 && (i >= d.cfg.ServerMaxBatch || size > d.cfg.ServerMaxRequestBytes) {
			return w[:i]
		}
	}
	return w
}

// outboxReader reads the outbox a write at a time.
type outboxReader struct {
	txn  *local.Txn
	it   *local.Iterator
	next *v1.Change // read from it, not yet returned
}

func (r *outboxReader) peek() (*v1.Change, error) {
	if r.next == nil && r.it.Valid() {
		ch := &v1.Change{}
		if err := r.it.Value(func(v []byte) error { return proto.Unmarshal(v, ch) }); err != nil {
			return nil, err
		}
		r.next = ch
		r.it.Next()
	}
	return r.next, nil
}

// write returns the changes of the write at the reader's position (none at
// the end of the outbox): up to its mark's last seq, or, unmarked (written
// before marks), the run with the first change's record and stamp.
func (r *outboxReader) write() ([]*v1.Change, error) {
	first, err := r.peek()
	if first == nil || err != nil {
		return nil, err
	}
	last, marked, err := writeEnd(r.txn, first.GetDeviceSeq())
	if err != nil {
		return nil, err
	}
	var w []*v1.Change
	for {
		ch, err := r.peek()
		if ch == nil || err != nil {
			return w, err
		}
		if len(w) > 0 {
			if marked && ch.GetDeviceSeq() > last {
				return w, nil
			}
			if !marked {
				_, starts, err := writeEnd(r.txn, ch.GetDeviceSeq())
				if err != nil || starts || !sameWrite(w[len(w)-1], ch) {
					return w, err
				}
			}
		}
		w = append(w, ch)
		r.next = nil
	}
}

// writeEnd returns the last seq of the write marked as starting at seq.
func writeEnd(txn *local.Txn, seq uint64) (last uint64, ok bool, err error) {
	v, ok, err := get(txn, writeKey(seq))
	if err != nil || !ok {
		return 0, false, err
	}
	if len(v) != 8 {
		return 0, false, fmt.Errorf("caseload: corrupt write mark at change %d", seq)
	}
	return beUint(v), true, nil
}

// sameWrite reports whether b follows a in one write made before writes
// were marked: the next seq, the same record, the same stamp.
func sameWrite(a, b *v1.Change) bool {
	return b.GetDeviceSeq() == a.GetDeviceSeq()+1 && b.GetRecordId() == a.GetRecordId() &&
		b.GetClientId() == a.GetClientId() && b.GetRecordType() == a.GetRecordType() &&
		proto.Equal(a.GetStamp(), b.GetStamp())
}

// settleChunk is the most changes one transaction settles: six keys
// each at most, well inside Badger's limit on a transaction.
const settleChunk = 1024

// settle records the server's verdicts: accepted changes move to the acked
// set (still shown until a pull carries them), refused ones to the
// rejections with their reasons. The marks of settled writes go; a write
// cut at the server's limits is marked again where its rest starts. A
// large push is settled in chunks, a write's mark moved past each: a
// change a stop left in the outbox is sent again, and the server answers
// it as a duplicate, with its first verdict.
func (d *Device) settle(chs []*v1.Change, results []*v1.ChangeResult, rep *SyncReport) (err error) {
	clients := map[string]bool{}
	defer func() {
		if err == nil || len(clients) > 0 {
			d.events.emit(Event{Kind: Pushed, ClientIDs: keys(clients)})
		}
	}()
	for len(chs) > 0 {
		n := 0
		for size := 0; n < len(chs) && n < settleChunk && size < chunkBytes; n++ {
			size += proto.Size(chs[n])
		}
		if err := d.settleSome(chs[:n], results[:n], rep, clients); err != nil {
			return err
		}
		if chs, results = chs[n:], results[n:]; len(chs) > 0 {
			if err := d.chunkDone(); err != nil {
				return err
			}
		}
	}
	return nil
}

// settleSome settles changes in one transaction (see settle), adding the
// clients they belong to.
func (d *Device) settleSome(chs []*v1.Change, results []*v1.ChangeResult, rep *SyncReport, clients map[string]bool) error {
	var accepted, rejected, late int
	touched := map[string]bool{}
	err := d.db.Update(func(txn *local.Txn) error {
		accepted, rejected, late = 0, 0, 0
		clear(touched)
		end := chs[len(chs)-1].GetDeviceSeq()
		for i, ch := range chs {
			ok, err := settleOne(txn, ch, results[i], end)
			if err != nil {
				return err
			}
			if !ok {
				continue // settled by an earlier answer
			}
			if results[i].GetVerdict() == v1.Verdict_VERDICT_APPLIED || results[i].GetVerdict() == v1.Verdict_VERDICT_DUPLICATE {
				accepted++
				if results[i].GetLate() {
					late++
				}
			} else {
				rejected++
			}
			touched[ch.GetClientId()] = true
		}
		// Their records are no longer pending, or a change was refused.
		for c := range touched {
			bucket, _ := uid(c) // checked by settleOne
			if err := markStale(txn, bucket); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for c := range touched {
		clients[c] = true
	}
	rep.Accepted += accepted
	rep.Rejected += rejected
	rep.Late += late
	d.mu.Lock()
	d.status.Pending -= accepted + rejected
	d.status.Rejected += rejected
	d.mu.Unlock()
	return nil
}

// settleOne moves a change out of the outbox by its verdict r, in a push
// (or chunk of one) ending at end; ok is false if an earlier answer
// settled it.
func settleOne(txn *local.Txn, ch *v1.Change, r *v1.ChangeResult, end uint64) (ok bool, err error) {
	bucket, record, err := changeKeys(ch)
	if err != nil {
		return false, err
	}
	seq := ch.GetDeviceSeq()
	raw, ok, err := get(txn, seqKey(pOutbox, seq))
	if err != nil || !ok {
		return false, err
	}
	if err := txn.Delete(seqKey(pOutbox, seq)); err != nil {
		return false, err
	}
	if err := unmark(txn, seq, end); err != nil {
		return false, err
	}
	switch r.GetVerdict() {
	case v1.Verdict_VERDICT_APPLIED, v1.Verdict_VERDICT_DUPLICATE:
		if err := txn.Set(seqKey(pAcked, seq), raw); err != nil {
			return false, err
		}
		return true, txn.Set(indexKey(bucket, record, seq), []byte{pAcked})
	}
	verdict, err := proto.Marshal(r)
	if err != nil {
		return false, err
	}
	if err := txn.Set(seqKey(pRejected, seq), raw); err != nil {
		return false, err
	}
	if err := txn.Set(seqKey(pVerdict, seq), verdict); err != nil {
		return false, err
	}
	return true, txn.Delete(indexKey(bucket, record, seq))
}

// unmark removes the mark of a write starting at seq, a change settled by
// a push ending at end; a write that goes on past end is marked again at
// end+1.
func unmark(txn *local.Txn, seq, end uint64) error {
	last, ok, err := writeEnd(txn, seq)
	if err != nil || !ok {
		return err
	}
	if err := txn.Delete(writeKey(seq)); err != nil {
		return err
	}
	if last > end {
		return txn.Set(writeKey(end+1), be64(last))
	}
	return nil
}
