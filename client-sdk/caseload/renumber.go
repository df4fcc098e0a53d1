package caseload

// Renumbering after the server lost changes.
//
// A server restored from an older copy of its data, or started accepting
// data loss, holds this device's changes only up to some high-water mark
// below what the device sent. It answers the next push with a sequence
// reset (ResetRequired, RESET_REASON_SEQUENCE_AHEAD) carrying that mark,
// and the device renumbers, in one transaction, every change it still
// holds that the server lacks, keeping their order, from the mark plus one:
//
//   - every change in the outbox (never confirmed);
//   - every change the server had confirmed above the mark that the device
//     still holds (accepted, not yet pulled: the acked set). The server lost
//     them, so resending them is the only way to get them back. They go
//     back to the outbox, ahead of the unconfirmed ones, and are shown as
//     pending again. Resending is safe: a change keeps its stamp, and merge
//     by stamp is idempotent, so a change the server still had in some form
//     cannot apply twice.
//
// The outbox entries, their index keys and the write marks move together;
// a mark keeps pointing at its write's last change. Changes the server
// confirmed and the device has since pulled are no longer held as changes
// (only as pulled state, which the next pull replaces): if the restored
// server lacks them, they are lost unless another device still holds them.
// Refused changes (the rejections) keep their numbers: they are not sent.
// The cursor goes too, and Sync pulls everything again after the push: the
// restored server's history is not the one the cursor pointed into.
//
// A store that took over a device (Adopt, or SignIn on a new store) numbers
// its first change far past any mark it could know (aheadGap), so the
// server answers its first push with a reset too. That one is the server
// telling its mark, not losing changes: the store has nothing the server
// confirmed, its changes are renumbered all the same, but the cursor and
// what was pulled stay, and Sync reports no reset. It is recognised by
// where the refused push started: at the store's first change (metaAhead).

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/throughcare/throughcare/client-sdk/caseload/internal/local"
	"google.golang.org/protobuf/proto"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// sequenceReset is the server's answer to a push ahead of its high-water
// mark for the device.
type sequenceReset struct {
	highWater, next uint64
}

func (e *sequenceReset) Error() string {
	return fmt.Sprintf("caseload: the server holds this device's changes only up to %d, the push started at %d", e.highWater, e.next)
}

// held is a change to renumber, with where it was.
type held struct {
	ch    *v1.Change
	acked bool
}

// metaRenumbering marks a renumbering begun and not finished: the server's
// high-water mark it renumbers after.
var metaRenumbering = metaKey("renumbering")

// renumber gives every change the server lacks a new seq after highWater,
// after the server refused a push starting at next. learnt is true if that
// was the first push of a store that took over a device: the server only
// told its mark, and lost nothing. It marks the renumbering begun (with
// the reset, if the server lost changes) in one transaction, then moves
// the changes in chunks (finishRenumber).
func (d *Device) renumber(highWater, next uint64) (learnt bool, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	err = d.db.Update(func(txn *local.Txn) error {
		ahead, err := getUint(txn, metaAhead)
		if err != nil {
			return err
		}
		learnt = ahead != 0 && next == ahead+1
		if err := txn.Delete(metaAhead); err != nil {
			return err
		}
		if err := txn.Set(metaRenumbering, be64(highWater)); err != nil {
			return err
		}
		if learnt {
			return nil
		}
		// The server lost data: the cursor may point into a different
		// history now. Sync then pulls everything again (resetLocal); the
		// reset begins here, in the same transaction, so that it happens
		// even if the app stops in between.
		return markReset(txn)
	})
	if err == nil {
		err = d.finishRenumberLocked(highWater)
	}
	if err != nil {
		return false, fmt.Errorf("caseload: renumbering the changes the server lost: %w", d.storageErr(err))
	}
	return learnt, d.flush()
}

// finishRenumberLocked renumbers the changes held above highWater and
// updates the device's next seq and pending count. d.mu is held.
func (d *Device) finishRenumberLocked(highWater uint64) error {
	seq, moved, err := d.finishRenumber(highWater)
	if err != nil {
		return err
	}
	d.seq = seq
	d.status.Pending += moved
	return nil
}

// finishRenumber moves every change held above highWater (accepted and not
// pulled, then the outbox) to the outbox under consecutive seqs from
// highWater+1, in order, with their index keys and write marks, in chunks
// of whole writes; the last sets the device's seq and clears the mark. New
// seqs are never above old ones, so changes moved in seq order never
// overwrite one not yet moved, and a change already moved keeps its seq:
// after a stop, running it again finishes the work. It returns the last
// seq and how many accepted changes went back to the outbox.
func (d *Device) finishRenumber(highWater uint64) (seq uint64, moved int, err error) {
	var (
		chs   []held
		marks map[uint64]uint64
	)
	if err := d.db.View(func(txn *local.Txn) error {
		if chs, err = heldAbove(txn, highWater); err != nil {
			return err
		}
		marks, err = writeMarks(txn)
		return err
	}); err != nil {
		return 0, 0, err
	}
	ops, moved, err := renumberOps(chs, marks, highWater)
	if err != nil {
		return 0, 0, err
	}
	seq = highWater + uint64(len(chs))
	err = d.writeChunked(ops, func(txn *local.Txn) error {
		if err := txn.Set(metaSeq, be64(seq)); err != nil {
			return err
		}
		return txn.Delete(metaRenumbering)
	})
	return seq, moved, err
}

// renumberOps are the writes that renumber chs (in seq order) from
// highWater+1, a write at a time: its old keys and mark deleted, then its
// new ones set, all in one transaction (old and new seqs of one write
// overlap). It also counts the accepted changes it moves.
func renumberOps(chs []held, marks map[uint64]uint64, highWater uint64) ([]op, int, error) {
	var (
		ops   []op
		moved int
	)
	for i := 0; i < len(chs); {
		n := 1 // the write's changes: to its mark's last seq
		first := chs[i].ch.GetDeviceSeq()
		last, marked := marks[first]
		if marked {
			n = int(last - first + 1)
			if i+n > len(chs) || chs[i+n-1].ch.GetDeviceSeq() != last {
				return nil, 0, fmt.Errorf("caseload: write mark %d..%d is only partly in the outbox", first, last)
			}
		}
		w, newFirst := chs[i:i+n], highWater+1+uint64(i)
		i += n
		if newFirst == first && !w[0].acked {
			continue // moved before a stop
		}
		var dels, sets []op
		for j, h := range w {
			if h.acked {
				moved++
			}
			del, set, err := moveHeld(h, newFirst+uint64(j))
			if err != nil {
				return nil, 0, err
			}
			dels, sets = append(dels, del...), append(sets, set...)
		}
		if marked {
			dels = append(dels, op{key: writeKey(first), del: true})
			sets = append(sets, op{key: writeKey(newFirst), val: be64(newFirst + uint64(n) - 1)})
		}
		ops = append(ops, together(append(dels, sets...))...)
	}
	return ops, moved, nil
}

// together marks ops to be written in one transaction.
func together(ops []op) []op {
	for i := range ops[:len(ops)-1] {
		ops[i].more = true
	}
	return ops
}

// heldAbove returns, in seq order, the acked and outbox changes above
// highWater. (The outbox holds nothing at or below it: a push from such a
// change is answered with duplicates, not a reset.) Accepted changes come
// before the outbox's, but a renumbering stopped half way has moved some
// back to the outbox, under lower seqs than those not yet moved.
func heldAbove(txn *local.Txn, highWater uint64) ([]held, error) {
	var chs []held
	for _, p := range []byte{pAcked, pOutbox} {
		it := txn.NewIterator(local.IterOptions{Prefix: []byte{p}, PrefetchValues: true})
		it.Seek(seqKey(p, highWater+1))
		for ; it.Valid(); it.Next() {
			ch := &v1.Change{}
			if err := it.Value(func(v []byte) error { return proto.Unmarshal(v, ch) }); err != nil {
				it.Close()
				return nil, err
			}
			chs = append(chs, held{ch: ch, acked: p == pAcked})
		}
		it.Close()
	}
	slices.SortStableFunc(chs, func(a, b held) int { return cmp.Compare(a.ch.GetDeviceSeq(), b.ch.GetDeviceSeq()) })
	return chs, nil
}

// writeMarks reads every write mark: first seq to last.
func writeMarks(txn *local.Txn) (map[uint64]uint64, error) {
	marks := map[uint64]uint64{}
	it := txn.NewIterator(local.IterOptions{Prefix: []byte{pWrite}, PrefetchValues: true})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		first := beUint(it.Key()[1:])
		last, _, err := writeEnd(txn, first)
		if err != nil {
			return nil, err
		}
		marks[first] = last
	}
	return marks, nil
}

// moveHeld returns the writes that move a held change to the outbox under
// seq: its old keys' deletions, its new keys' sets.
func moveHeld(h held, seq uint64) (dels, sets []op, err error) {
	bucket, record, err := changeKeys(h.ch)
	if err != nil {
		return nil, nil, err
	}
	old := h.ch.GetDeviceSeq()
	var p byte = pOutbox
	if h.acked {
		p = pAcked
	}
	dels = []op{{key: seqKey(p, old), del: true}, {key: indexKey(bucket, record, old), del: true}}
	ch := proto.Clone(h.ch).(*v1.Change)
	ch.DeviceSeq = seq
	raw, err := proto.Marshal(ch)
	if err != nil {
		return nil, nil, err
	}
	sets = []op{{key: seqKey(pOutbox, seq), val: raw}, {key: indexKey(bucket, record, seq), val: []byte{pOutbox}}}
	return dels, sets, nil
}
