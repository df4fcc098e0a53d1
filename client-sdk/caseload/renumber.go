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
	"fmt"

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

// renumber gives every change the server lacks a new seq after highWater,
// after the server refused a push starting at next. learnt is true if that
// was the first push of a store that took over a device: the server only
// told its mark, and lost nothing.
func (d *Device) renumber(highWater, next uint64) (learnt bool, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var seq uint64
	var moved int
	err = d.db.Update(func(txn *local.Txn) error {
		ahead, err := getUint(txn, metaAhead)
		if err != nil {
			return err
		}
		learnt = ahead != 0 && next == ahead+1
		if err := txn.Delete(metaAhead); err != nil {
			return err
		}
		chs, err := heldAbove(txn, highWater)
		if err != nil {
			return err
		}
		renum := make(map[uint64]uint64, len(chs))
		for i, h := range chs {
			renum[h.ch.GetDeviceSeq()] = highWater + 1 + uint64(i)
		}
		marks, err := writeMarks(txn)
		if err != nil {
			return err
		}
		// Delete every old key before setting any new one: old and new
		// numbers overlap, and in a transaction the last write of a key wins.
		for _, h := range chs {
			if err := deleteHeld(txn, h); err != nil {
				return err
			}
		}
		for first := range marks {
			if err := txn.Delete(writeKey(first)); err != nil {
				return err
			}
		}
		for _, h := range chs {
			if err := setOutbox(txn, h.ch, renum[h.ch.GetDeviceSeq()]); err != nil {
				return err
			}
			if h.acked {
				moved++
			}
		}
		if err := remark(txn, marks, renum); err != nil {
			return err
		}
		seq = highWater + uint64(len(chs))
		if err := txn.Set(metaSeq, be64(seq)); err != nil {
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
	if err != nil {
		return false, fmt.Errorf("caseload: renumbering the changes the server lost: %w", d.storageErr(err))
	}
	d.seq = seq
	d.status.Pending += moved
	return learnt, d.flush()
}

// heldAbove returns, in seq order, the acked and outbox changes above
// highWater. (The outbox holds nothing at or below it: a push from such a
// change is answered with duplicates, not a reset.)
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

func deleteHeld(txn *local.Txn, h held) error {
	bucket, record, err := changeKeys(h.ch)
	if err != nil {
		return err
	}
	var p byte = pOutbox
	if h.acked {
		p = pAcked
	}
	if err := txn.Delete(seqKey(p, h.ch.GetDeviceSeq())); err != nil {
		return err
	}
	return txn.Delete(indexKey(bucket, record, h.ch.GetDeviceSeq()))
}

// setOutbox stores a change in the outbox under a new seq.
func setOutbox(txn *local.Txn, ch *v1.Change, seq uint64) error {
	bucket, record, err := changeKeys(ch)
	if err != nil {
		return err
	}
	ch.DeviceSeq = seq
	raw, err := proto.Marshal(ch)
	if err != nil {
		return err
	}
	if err := txn.Set(seqKey(pOutbox, seq), raw); err != nil {
		return err
	}
	return txn.Set(indexKey(bucket, record, seq), []byte{pOutbox})
}

// remark sets the write marks again under the new numbers. A mark whose
// write the renumbering did not touch keeps its numbers.
func remark(txn *local.Txn, marks, renum map[uint64]uint64) error {
	for first, last := range marks {
		nf, okf := renum[first]
		nl, okl := renum[last]
		switch {
		case okf && okl:
			first, last = nf, nl
		case okf || okl:
			return fmt.Errorf("caseload: write mark %d..%d is only partly in the outbox", first, last)
		}
		if err := txn.Set(writeKey(first), be64(last)); err != nil {
			return err
		}
	}
	return nil
}
