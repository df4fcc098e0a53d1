package caseload

import (
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload/internal/local"
	"google.golang.org/protobuf/proto"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// Sizes past what one transaction of the local store holds (some 26,000
// keys with its 16 MB memtables).
const (
	manyAccepted     = 40_000
	manyAppointments = 15_000 // two index keys each
)

// errStopped stands for the process dying between two chunks of work.
var errStopped = errors.New("stopped between chunks")

// stopAfter makes d's chunked work fail after its k-th chunk commits.
func stopAfter(d *Device, k int) {
	n := 0
	d.afterChunk = func() error {
		if n++; n == k {
			return errStopped
		}
		return nil
	}
}

// diskDevice opens an enrolled device on disk in dir (reopened with the
// same key), holding client c as pulled.
func storeOnDisk(t *testing.T, dir string, key []byte) *Device {
	t.Helper()
	d, err := Open(Config{Dir: dir, Key: key, Server: noServer})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// addAccepted gives client c n changes accepted by the server, not yet
// pulled, as a push's settlement leaves them.
func addAccepted(t *testing.T, d *Device, c string, n int) { addAcceptedFrom(t, d, c, 1, n) }

// addAcceptedFrom is addAccepted from seq first, the device numbering its
// next change after them.
func addAcceptedFrom(t *testing.T, d *Device, c string, first uint64, n int) {
	t.Helper()
	bucket, _ := uid(c)
	id := newID() // a record of their own: the client's reads stay quick
	rec, _ := uid(id)
	b := d.db.NewBatch()
	d.seq = first + uint64(n) - 1
	must(t, b.Set(metaSeq, be64(d.seq)))
	for seq := first; seq <= d.seq; seq++ {
		raw, err := proto.Marshal(&v1.Change{DeviceSeq: seq, ClientId: c, RecordId: id, RecordType: "contact", Field: "notes", Value: String("x")})
		must(t, err)
		must(t, b.Set(seqKey(pAcked, seq), raw))
		must(t, b.Set(indexKey(bucket, rec, seq), []byte{pAcked}))
	}
	must(t, b.Flush())
}

// addAppointments gives client c n booked appointments, as pulled, an hour
// apart from day0, and marks its index stale.
func addAppointments(t *testing.T, d *Device, c string, n int) {
	t.Helper()
	bucket, _ := uid(c)
	s := stampAt(day0.Add(-time.Hour), otherReplica)
	b := d.db.NewBatch()
	for i := range n {
		id := newID()
		raw, err := proto.Marshal(record(id, "appointment", s, otherAuthor,
			field("starts_at", Time(day0.Add(time.Duration(i)*time.Hour))), field("status", String("booked")),
			field("type", String("keywork")), field("duration_minutes", Int(45))))
		must(t, err)
		rec, _ := uid(id)
		must(t, b.Set(recordKey(bucket, rec), raw))
	}
	must(t, markStale(b, bucket))
	must(t, b.Flush())
}

// agendaCount is how many appointments the agenda shows for all of them.
func agendaCount(t *testing.T, d *Device) int {
	t.Helper()
	items, err := d.Agenda(context.Background(), day0.Add(-time.Hour), day0.Add(manyAppointments*time.Hour))
	must(t, err)
	return len(items)
}

// Evicting a client with more accepted changes than one transaction holds
// purges them all.
func TestPurgeManyAccepted(t *testing.T) {
	d, c := enrolledDevice(t)
	addAccepted(t, d, c, manyAccepted)
	pull(t, d, evict(c))
	if n := countKeys(t, d, pAcked); n != 0 {
		t.Fatalf("%d accepted changes left after the purge", n)
	}
	if n := countKeys(t, d, pIndex); n != 0 {
		t.Fatalf("%d index keys left after the purge", n)
	}
	if n := countKeys(t, d, pPurging); n != 0 {
		t.Fatalf("%d purge marks left after the purge", n)
	}
}

// A purge stopped between two chunks shows the client gone at once, and is
// finished when the store is opened again.
func TestPurgeStoppedFinishesOnOpen(t *testing.T) {
	dir, key := t.TempDir(), testKey(t)
	d := storeOnDisk(t, dir, key)
	enrol(t, d)
	c := holdClient(t, d)
	addAccepted(t, d, c, manyAccepted)
	stopAfter(d, 2)
	p, err := pageOf(&v1.PullResponse{Buckets: []*v1.BucketUpdate{evict(c)}, Cursor: []byte("cursor")})
	must(t, err)
	if err := d.applyPage(p, &SyncReport{}); !errors.Is(err, errStopped) {
		t.Fatalf("applyPage with a stop after chunk 2: %v, want it stopped", err)
	}
	ctx := context.Background()
	if _, err := d.Client(ctx, c); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Client during the purge: %v, want ErrNotFound", err)
	}
	if cs, err := d.Clients(ctx); err != nil || len(cs) != 0 {
		t.Fatalf("Clients during the purge: %v, %v; want none", cs, err)
	}
	if n := countKeys(t, d, pAcked); n == 0 || n == manyAccepted {
		t.Fatalf("%d accepted changes left when stopped: the stop was not between chunks", n)
	}
	must(t, d.Close())

	d = storeOnDisk(t, dir, key)
	for _, p := range []byte{pAcked, pIndex, pRecord, pPurging} {
		if n := countKeys(t, d, p); n != 0 {
			t.Fatalf("%d keys under %q after reopening", n, p)
		}
	}
	if _, err := d.Timeline(ctx, c); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Timeline after reopening: %v, want ErrNotFound", err)
	}
}

// A reset stopped between two chunks is finished when the store is opened
// again, and pulls from the start meanwhile.
func TestResetStoppedFinishesOnOpen(t *testing.T) {
	dir, key := t.TempDir(), testKey(t)
	d := storeOnDisk(t, dir, key)
	enrol(t, d)
	c := holdClient(t, d)
	addAccepted(t, d, c, manyAccepted)
	stopAfter(d, 2)
	if err := d.resetLocal(); !errors.Is(err, errStopped) {
		t.Fatalf("resetLocal with a stop after chunk 2: %v, want it stopped", err)
	}
	var cursor bool
	must(t, d.db.View(func(txn *local.Txn) error {
		_, cursor, _ = get(txn, metaCursor)
		return nil
	}))
	if cursor {
		t.Fatal("the cursor survived a reset stopped half way: the next pull would not start over")
	}
	must(t, d.Close())

	d = storeOnDisk(t, dir, key)
	for _, p := range []byte{pAcked, pIndex, pRecord} {
		if n := countKeys(t, d, p); n != 0 {
			t.Fatalf("%d keys under %q after reopening", n, p)
		}
	}
	must(t, d.db.View(func(txn *local.Txn) error {
		_, cursor, _ = get(txn, metaResetting)
		return nil
	}))
	if cursor {
		t.Fatal("the reset is still marked pending after reopening")
	}
}

// A client with more appointments than one transaction can index is
// indexed whole, and indexed again (nothing left twice) when they change.
func TestReindexManyAppointments(t *testing.T) {
	d, c := enrolledDevice(t)
	addAppointments(t, d, c, manyAppointments)
	if got := agendaCount(t, d); got != manyAppointments {
		t.Fatalf("Agenda shows %d appointments, want %d", got, manyAppointments)
	}
	pull(t, d, snapshot(c, clientRecord(c, stampAt(day0, otherReplica), otherAuthor)))
	if got := agendaCount(t, d); got != 0 {
		t.Fatalf("Agenda shows %d appointments after they went, want none", got)
	}
	for _, p := range []byte{pAgenda, pBooked, pIndexed} {
		if n := countKeys(t, d, p); n != 0 {
			t.Fatalf("%d index keys under %q left", n, p)
		}
	}
}

// An index rebuild stopped between two chunks leaves the client stale, and
// the next read finishes it: every appointment shown once.
func TestReindexStoppedFinishesAtNextRead(t *testing.T) {
	dir, key := t.TempDir(), testKey(t)
	d := storeOnDisk(t, dir, key)
	enrol(t, d)
	c := holdClient(t, d)
	addAppointments(t, d, c, manyAppointments)
	if got := agendaCount(t, d); got != manyAppointments {
		t.Fatalf("Agenda shows %d appointments, want %d", got, manyAppointments)
	}
	// Half of them go; the rebuild stops half way.
	pull(t, d, snapshot(c, clientRecord(c, stampAt(day0, otherReplica), otherAuthor)))
	addAppointments(t, d, c, manyAppointments/2)
	stopAfter(d, 3)
	if _, err := d.Agenda(context.Background(), day0, day0.Add(time.Hour)); !errors.Is(err, errStopped) {
		t.Fatalf("Agenda with a stop after chunk 3: %v, want it stopped", err)
	}
	must(t, d.Close())

	d = storeOnDisk(t, dir, key)
	if got := agendaCount(t, d); got != manyAppointments/2 {
		t.Fatalf("Agenda after reopening shows %d appointments, want %d", got, manyAppointments/2)
	}
	if n := countKeys(t, d, pAgenda); n != manyAppointments/2 {
		t.Fatalf("%d agenda keys after reopening, want %d", n, manyAppointments/2)
	}
}

// A store with more clients than one transaction can mark is indexed
// whole at its first read.
func TestIndexAllManyClients(t *testing.T) {
	d := memDevice(t)
	enrol(t, d)
	const clients = 30_000
	b := d.db.NewBatch()
	s := stampAt(day0, otherReplica)
	for range clients {
		c := newID()
		bucket, _ := uid(c)
		raw, err := proto.Marshal(clientRecord(c, s, otherAuthor))
		must(t, err)
		must(t, b.Set(recordKey(bucket, bucket), raw))
	}
	must(t, b.Flush())
	if err := d.indexAll(); err != nil {
		t.Fatalf("indexing a store of %d clients: %v", clients, err)
	}
	if n := countKeys(t, d, pStale); n != clients {
		t.Fatalf("%d clients marked for indexing, want %d", n, clients)
	}
}

// A push of more refused changes than one transaction can settle (from a
// server that takes more than the default 5,000 in one) is settled whole.
func TestSettleManyRefused(t *testing.T) {
	const n = 6000
	d, c := enrolledDevice(t, func(cfg *Config) { cfg.ServerMaxBatch = n })
	bucket, _ := uid(c)
	var chs []*v1.Change
	b := d.db.NewBatch()
	for seq := uint64(1); seq <= n; seq++ {
		ch := &v1.Change{DeviceSeq: seq, ClientId: c, RecordId: c, RecordType: "client", Field: "risk_flags", Value: AddTo("overdose")}
		raw, err := proto.Marshal(ch)
		must(t, err)
		must(t, b.Set(seqKey(pOutbox, seq), raw))
		must(t, b.Set(indexKey(bucket, bucket, seq), []byte{pOutbox}))
		chs = append(chs, ch)
	}
	must(t, b.Set(writeKey(1), be64(n)))
	must(t, b.Flush())
	results := make([]*v1.ChangeResult, n)
	for i, ch := range chs {
		results[i] = &v1.ChangeResult{DeviceSeq: ch.GetDeviceSeq(), Verdict: v1.Verdict_VERDICT_REJECTED, Reason: v1.RejectReason_REJECT_REASON_ACCESS_ENDED}
	}
	var rep SyncReport
	must(t, d.settle(chs, results, &rep))
	if rep.Rejected != n || countKeys(t, d, pRejected) != n || countKeys(t, d, pOutbox) != 0 || countKeys(t, d, pWrite) != 0 {
		t.Fatalf("settled %+v: %d rejections, %d in the outbox, %d marks; want %d, 0, 0",
			rep, countKeys(t, d, pRejected), countKeys(t, d, pOutbox), countKeys(t, d, pWrite), n)
	}
}

// A write during a chunked rebuild of its client's index is in the index
// the read returns: the rebuild goes again from a new snapshot.
func TestReindexSeesWriteDuringRebuild(t *testing.T) {
	d, c := enrolledDevice(t)
	addAppointments(t, d, c, manyAppointments)
	var booked string
	d.afterChunk = func() error {
		if booked == "" {
			booked = mustBook(t, d, c, keywork(day0.Add(-30*time.Minute)))
		}
		return nil
	}
	items, err := d.Agenda(context.Background(), day0.Add(-time.Hour), day0)
	must(t, err)
	if got := agendaIDs(items); len(got) != 1 || got[0] != booked {
		t.Fatalf("Agenda before day0 = %v, want the appointment booked during the rebuild (%s)", got, booked)
	}
}

// An index of layout 2 (a bucket's keys listed in one value) is rebuilt in
// the current layout: what it listed and no longer holds goes, the list
// goes.
func TestReindexLegacyList(t *testing.T) {
	d, c := enrolledDevice(t)
	id := mustBook(t, d, c, keywork(day0))
	if got := agendaCount(t, d); got != 1 {
		t.Fatalf("Agenda shows %d, want 1", got)
	}
	bucket, _ := uid(c)
	orphan := entryKey(timeKey(pAgenda, day0.Add(time.Hour)), bucket, [16]byte{1})
	must(t, d.db.Update(func(txn *local.Txn) error {
		h, err := readHeldIndex(txn, bucket)
		if err != nil {
			return err
		}
		var list []byte
		for _, k := range append(h.keys, orphan) {
			if err := txn.Delete(heldKey(bucket, k)); err != nil {
				return err
			}
			list = append(list, k...)
		}
		if err := txn.Set(orphan, []byte{0}); err != nil {
			return err
		}
		if err := txn.Set(bucketPrefix(pIndexed, bucket), list); err != nil {
			return err
		}
		return txn.Set(metaIndex, binary.BigEndian.AppendUint64(nil, 2))
	}))
	items, err := d.Agenda(context.Background(), day0.Add(-time.Hour), day0.Add(2*time.Hour))
	must(t, err)
	if got := agendaIDs(items); !slices.Equal(got, []string{id}) {
		t.Fatalf("Agenda after rebuilding a layout 2 index = %v, want [%s]", got, id)
	}
	must(t, d.db.View(func(txn *local.Txn) error {
		h, err := readHeldIndex(txn, bucket)
		if err == nil && (h.legacy || len(h.keys) != 2) { // the agenda and booked keys
			t.Errorf("held after the rebuild: %d keys, legacy list %v; want 2, none", len(h.keys), h.legacy)
		}
		return err
	}))
}

// renumberedStore gives d's client manyAccepted accepted changes from seq
// 11 and writes after them, for a server that holds only up to seq 5 (6
// to 10 were pulled and dropped): it returns the writes' spans.
func renumberedStore(t *testing.T, d *Device) []span {
	t.Helper()
	enrol(t, d)
	c := holdClient(t, d)
	addAcceptedFrom(t, d, c, 11, manyAccepted)
	return logWrites(t, d, c)
}

// checkRenumbered checks a store renumbered after seq 5 (renumberedStore):
// every change in the outbox from 6 in order, nothing accepted left, the
// writes whole, the device numbering after them.
func checkRenumbered(t *testing.T, d *Device, writes []span) {
	t.Helper()
	const hwm, shift = 5, 5
	held := uint64(manyAccepted) + writes[len(writes)-1].last - writes[0].first + 1
	chs := outbox(t, d)
	if uint64(len(chs)) != held {
		t.Fatalf("outbox holds %d changes after renumbering, want %d", len(chs), held)
	}
	for i, ch := range chs {
		if got, want := ch.GetDeviceSeq(), hwm+1+uint64(i); got != want {
			t.Fatalf("outbox change %d has seq %d, want %d", i, got, want)
		}
	}
	if n := countKeys(t, d, pAcked); n != 0 {
		t.Fatalf("%d accepted changes left", n)
	}
	if n := countKeys(t, d, pIndex); n != len(chs) {
		t.Fatalf("%d index keys, want %d", n, len(chs))
	}
	if d.seq != hwm+held || d.Status().Pending != len(chs) {
		t.Fatalf("next seq after %d, %d pending; want after %d, %d", d.seq, d.Status().Pending, hwm+held, len(chs))
	}
	must(t, d.db.View(func(txn *local.Txn) error {
		for _, k := range [][]byte{metaRenumbering, metaResetting, metaCursor} {
			if _, ok, _ := get(txn, k); ok {
				t.Errorf("%q left after renumbering", k)
			}
		}
		for _, w := range writes {
			if last, ok, err := writeEnd(txn, w.first-shift); err != nil || !ok || last != w.last-shift {
				t.Errorf("write %d..%d: mark at %d says %d, %v (%v); want %d", w.first, w.last, w.first-shift, last, ok, err, w.last-shift)
			}
		}
		return nil
	}))
}

// A renumbering of more changes than one transaction holds moves them all.
func TestRenumberMany(t *testing.T) {
	d := memDevice(t)
	writes := renumberedStore(t, d)
	if _, err := d.renumber(5, 11); err != nil {
		t.Fatalf("renumber: %v", err)
	}
	must(t, d.finishPending()) // the reset it began, as Sync does
	checkRenumbered(t, d, writes)
}

// A renumbering stopped between two chunks is finished when the store is
// opened again.
func TestRenumberStoppedFinishesOnOpen(t *testing.T) {
	dir, key := t.TempDir(), testKey(t)
	d := storeOnDisk(t, dir, key)
	writes := renumberedStore(t, d)
	stopAfter(d, 2)
	if _, err := d.renumber(5, 11); !errors.Is(err, errStopped) {
		t.Fatalf("renumber with a stop after chunk 2: %v, want it stopped", err)
	}
	if n := countKeys(t, d, pAcked); n == 0 || n == manyAccepted {
		t.Fatalf("%d accepted changes left when stopped: the stop was not between chunks", n)
	}
	must(t, d.Close())
	checkRenumbered(t, storeOnDisk(t, dir, key), writes)
}
