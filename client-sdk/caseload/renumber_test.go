package caseload

import (
	"testing"

	"github.com/throughcare/throughcare/client-sdk/caseload/internal/local"
)

// After the server lost changes, renumber gives every change it lacks
// (accepted but not yet pulled above its mark, then the outbox) new
// consecutive numbers from its mark, in order, with their index keys and
// write marks, so that pushes still carry whole writes.
func TestRenumberMovesHeldChangesAfterTheServersMark(t *testing.T) {
	d, c := enrolledDevice(t)
	writes := logWrites(t, d, c)
	// Writes 0-5 were pushed and accepted; 0-3 then pulled (no longer held
	// as changes). The restored server holds only writes 0 and 1.
	for sent := uint64(0); sent < writes[5].last; {
		chs, err := d.nextPush()
		must(t, err)
		if last := chs[len(chs)-1].GetDeviceSeq(); last > writes[5].last {
			chs = chs[:writes[5].last-chs[0].GetDeviceSeq()+1]
		}
		var rep SyncReport
		must(t, d.settle(chs, acceptAll(chs), &rep))
		sent = chs[len(chs)-1].GetDeviceSeq()
	}
	must(t, d.dropAcked(writes[3].last))
	hwm := writes[1].last
	lost := writes[3].last - hwm // numbers the renumbering takes back
	held := writes[len(writes)-1].last - writes[3].last

	must(t, d.renumber(hwm))

	chs := outbox(t, d)
	if uint64(len(chs)) != held {
		t.Fatalf("outbox holds %d changes after renumbering, want %d", len(chs), held)
	}
	for i, ch := range chs {
		if got, want := ch.GetDeviceSeq(), hwm+1+uint64(i); got != want {
			t.Fatalf("outbox change %d has seq %d, want %d", i, got, want)
		}
	}
	if got, want := d.seq, hwm+held; got != want {
		t.Errorf("next seq after %d, want after %d", got, want)
	}
	if got := countKeys(t, d, pAcked); got != 0 {
		t.Errorf("%d changes left in the accepted overlay, want 0 (acked 0-3 were pulled, 4-5 moved back)", got)
	}
	if got, want := countKeys(t, d, pIndex), len(chs); got != want {
		t.Errorf("%d index keys, want one per held change (%d)", got, want)
	}
	if got := d.Status().Pending; got != len(chs) {
		t.Errorf("Pending = %d, want %d", got, len(chs))
	}
	must(t, d.db.View(func(txn *local.Txn) error {
		if _, ok, _ := get(txn, metaCursor); ok {
			t.Error("the cursor survived the renumbering")
		}
		return nil
	}))

	// Pushes still start and end on the (shifted) writes' boundaries.
	starts, ends := map[uint64]bool{}, map[uint64]bool{}
	for _, w := range writes[4:] {
		starts[w.first-lost], ends[w.last-lost] = true, true
	}
	next := hwm + 1
	for _, p := range drain(t, d) {
		first, last := p[0].GetDeviceSeq(), p[len(p)-1].GetDeviceSeq()
		if first != next || !starts[first] || !ends[last] {
			t.Fatalf("push %d..%d is not whole writes in order from %d", first, last, next)
		}
		next = last + 1
	}
	if next != hwm+held+1 {
		t.Fatalf("pushes sent up to %d, want %d", next-1, hwm+held)
	}
}
