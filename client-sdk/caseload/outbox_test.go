package caseload

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload/internal/local"
	"google.golang.org/protobuf/proto"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/protocol"
)

// span is the first and last seq of one write.
type span struct{ first, last uint64 }

// logWrites makes writes of many sizes (4 to 13 changes, contacts and
// client edits) and returns their spans.
func logWrites(t *testing.T, d *Device, c string) []span {
	t.Helper()
	ctx := context.Background()
	at := time.Now().Add(-time.Hour)
	flags := func(n int) []Edit {
		var es []Edit
		for i := range n {
			es = append(es, Edit{"risk_flags", AddTo([]string{"overdose", "self_harm", "violence", "lone_working"}[i%4])})
		}
		return es
	}
	writes := []func() error{
		func() error { _, err := d.LogContact(ctx, c, contactAt(at)); return err }, // 5
		func() error {
			_, err := d.LogContact(ctx, c, Contact{OccurredAt: at, Category: "drug_test", Mode: "office", Outcome: "Tested", Notes: "Plan agreed",
				DurationMinutes: 15, FollowUp: DateOf(at.AddDate(0, 0, 7)), TestResult: "positive", Substances: []string{"opiates", "cocaine", "cannabis"}})
			return err
		}, // 12
		func() error { return d.UpdateClient(ctx, c, flags(13)...) },
		func() error {
			_, err := d.LogContact(ctx, c, Contact{OccurredAt: at, Category: "general", Mode: "phone"})
			return err
		}, // 4
		func() error { return d.UpdateClient(ctx, c, Edit{"housing_status", String("settled_tenancy")}) },
		func() error {
			_, err := d.AddGoal(ctx, c, Goal{Domain: "housing", Description: "A tenancy"})
			return err
		},
	}
	var spans []span
	for range 3 {
		for _, w := range writes {
			first := d.seq + 1
			must(t, w())
			spans = append(spans, span{first, d.seq})
		}
	}
	return spans
}

// drain reads pushes from the outbox until it is empty, settling each as
// accepted by the server.
func drain(t *testing.T, d *Device) [][]*v1.Change {
	t.Helper()
	var pushes [][]*v1.Change
	for range 10_000 {
		chs, err := d.nextPush()
		must(t, err)
		if len(chs) == 0 {
			if n := countKeys(t, d, pWrite); n != 0 {
				t.Fatalf("%d write marks left in an empty outbox", n)
			}
			return pushes
		}
		pushes = append(pushes, chs)
		var rep SyncReport
		must(t, d.settle(chs, acceptAll(chs), &rep))
	}
	t.Fatal("the outbox never emptied")
	return nil
}

// checkWholeWrites checks that pushes send every write once, in order, each
// whole in one push, and as many per push as are within the limits.
func checkWholeWrites(t *testing.T, pushes [][]*v1.Change, writes []span, within func([]*v1.Change) bool) {
	t.Helper()
	var all []*v1.Change
	for _, p := range pushes {
		all = append(all, p...)
	}
	for i, ch := range all {
		if ch.GetDeviceSeq() != uint64(i)+1 {
			t.Fatalf("change %d sent where %d was due", ch.GetDeviceSeq(), i+1)
		}
	}
	w := 0
	for i, p := range pushes {
		if w == len(writes) || p[0].GetDeviceSeq() != writes[w].first {
			t.Fatalf("push %d starts at change %d, not at the start of a write", i, p[0].GetDeviceSeq())
		}
		n := 0
		for w < len(writes) && writes[w].last <= p[len(p)-1].GetDeviceSeq() {
			w, n = w+1, n+1
		}
		if n == 0 || writes[w-1].last != p[len(p)-1].GetDeviceSeq() {
			t.Fatalf("push %d ends at change %d, inside a write", i, p[len(p)-1].GetDeviceSeq())
		}
		if n > 1 && !within(p) {
			t.Fatalf("push %d: %d changes in %d writes, over the limits", i, len(p), n)
		}
		if w < len(writes) && within(all[p[0].GetDeviceSeq()-1:writes[w].last]) {
			t.Fatalf("push %d: %d changes, stopped before a write that fits", i, len(p))
		}
	}
	if w != len(writes) {
		t.Fatalf("pushes sent %d of %d writes", w, len(writes))
	}
}

// dropMarks deletes every write mark, leaving the outbox as SDKs before
// marks wrote it.
func dropMarks(t *testing.T, d *Device) {
	t.Helper()
	must(t, d.deletePrefix([]byte{pWrite}))
}

// Wherever PushBatch falls, pushes carry whole writes, as many as fit; an
// outbox without write marks (written by an SDK before them) is cut the
// same way.
func TestPushesCarryWholeWrites(t *testing.T) {
	for _, marked := range []bool{true, false} {
		for batch := 1; batch <= 15; batch++ {
			t.Run(fmt.Sprintf("marked=%v/PushBatch=%d", marked, batch), func(t *testing.T) {
				d, c := enrolledDevice(t, func(cfg *Config) { cfg.PushBatch = batch })
				writes := logWrites(t, d, c)
				if !marked {
					dropMarks(t, d)
				}
				checkWholeWrites(t, drain(t, d), writes, func(chs []*v1.Change) bool { return len(chs) <= batch })
			})
		}
	}
}

// A push is bigger than PushBytes only if it is a single write, and the
// size the SDK counts is the size it sends.
func TestPushesStayUnderPushBytes(t *testing.T) {
	const limit = 4096
	d, c := enrolledDevice(t, func(cfg *Config) { cfg.PushBytes = limit })
	size := func(chs []*v1.Change) int {
		n := d.pushHeaderSize()
		for _, ch := range chs {
			n += pushedSize(ch)
		}
		return n
	}
	var writes []span
	for i := range 24 {
		first := d.seq + 1
		// Notes of up to 4,900 characters: some contacts alone exceed the limit.
		_, err := d.LogContact(context.Background(), c, Contact{OccurredAt: time.Now(), Category: "general", Mode: "phone", Notes: strings.Repeat("x", 700*(i%8))})
		must(t, err)
		writes = append(writes, span{first, d.seq})
	}
	pushes := drain(t, d)
	checkWholeWrites(t, pushes, writes, func(chs []*v1.Change) bool { return size(chs) <= limit })
	for i, p := range pushes {
		req := &v1.PushRequest{ProtocolVersion: protocol.Version, SchemaVersion: d.reg.Version(), Changes: p}
		if got, want := proto.Size(req), size(p); got != want {
			t.Fatalf("push %d is %d bytes encoded; the SDK counted %d", i, got, want)
		}
	}
	if len(pushes) < 8 {
		t.Fatalf("%d pushes: the byte limit did not cut", len(pushes))
	}
}

// A write that no push could carry is refused with ErrTooLarge (and
// ErrInvalid) and leaves nothing behind: the outbox, the pending count and
// the next seq are as before, so it can never block the queue.
func TestWriteTooLargeIsRefused(t *testing.T) {
	ctx := context.Background()
	flags := func(n int) []Edit {
		var es []Edit
		for range n {
			es = append(es, Edit{"risk_flags", AddTo("overdose")})
		}
		return es
	}
	notes := func(n int) Contact {
		return Contact{OccurredAt: time.Now(), Category: "general", Mode: "phone", Notes: strings.Repeat("é", n)}
	}
	tests := []struct {
		name  string
		tune  func(*Config)
		write func(d *Device, c string) error
		ok    bool
	}{
		{"changes at the server's batch", func(cfg *Config) { cfg.ServerMaxBatch = 10 },
			func(d *Device, c string) error { return d.UpdateClient(ctx, c, flags(10)...) }, true},
		{"changes over the server's batch", func(cfg *Config) { cfg.ServerMaxBatch = 10 },
			func(d *Device, c string) error { return d.UpdateClient(ctx, c, flags(11)...) }, false},
		{"5,001 changes at the default limits", nil,
			func(d *Device, c string) error { return d.UpdateClient(ctx, c, flags(5001)...) }, false},
		{"bytes under the server's request limit", func(cfg *Config) { cfg.ServerMaxRequestBytes = 2048 },
			func(d *Device, c string) error { _, err := d.LogContact(ctx, c, notes(500)); return err }, true},
		{"bytes over the server's request limit", func(cfg *Config) { cfg.ServerMaxRequestBytes = 2048 },
			func(d *Device, c string) error { _, err := d.LogContact(ctx, c, notes(1000)); return err }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tune []func(*Config)
			if tt.tune != nil {
				tune = append(tune, tt.tune)
			}
			d, c := enrolledDevice(t, tune...)
			mustLog(t, d, c, contactAt(time.Now()))
			before, seq := d.Status().Pending, d.seq
			err := tt.write(d, c)
			if tt.ok {
				must(t, err)
				return
			}
			if !errors.Is(err, ErrTooLarge) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v, want ErrTooLarge (and ErrInvalid)", err)
			}
			if !strings.Contains(err.Error(), "save it in parts") {
				t.Errorf("error %q does not say what to do", err)
			}
			if d.Status().Pending != before || d.seq != seq || len(outbox(t, d)) != before || countKeys(t, d, pWrite) != 1 {
				t.Fatalf("a refused write left changes behind: pending %d, seq %d, outbox %d", d.Status().Pending, d.seq, len(outbox(t, d)))
			}
			id := mustLog(t, d, c, contactAt(time.Now()))
			if chs := outbox(t, d); chs[before].GetDeviceSeq() != seq+1 || chs[before].GetRecordId() != id {
				t.Fatalf("the next write starts at change %d, want %d", chs[before].GetDeviceSeq(), seq+1)
			}
		})
	}
}

// A write bigger than the server takes (written before Write checked, or
// before the limits were lowered) is cut at the server's limits, and its
// rest is marked as a write of its own, so what follows is still cut
// between writes.
func TestOversizedWriteIsCutAtTheServerLimits(t *testing.T) {
	ctx := context.Background()
	dir, key := t.TempDir(), testKey(t)
	d, err := Open(Config{Dir: dir, Key: key, Server: noServer})
	must(t, err)
	enrol(t, d)
	c := holdClient(t, d)
	var flags []Edit
	for range 25 {
		flags = append(flags, Edit{"risk_flags", AddTo("violence")})
	}
	must(t, d.UpdateClient(ctx, c, flags...))     // 1..25
	mustLog(t, d, c, contactAt(time.Now()))       // 26..30
	must(t, d.UpdateClient(ctx, c, flags[:3]...)) // 31..33
	must(t, d.Close())
	d, err = Open(Config{Dir: dir, Key: key, Server: noServer, ServerMaxBatch: 10})
	must(t, err)
	defer d.Close()

	first, err := d.nextPush()
	must(t, err)
	var rep SyncReport
	must(t, d.settle(first, acceptAll(first), &rep))
	must(t, d.db.View(func(txn *local.Txn) error {
		if last, ok, err := writeEnd(txn, 11); !ok || last != 25 {
			t.Errorf("after the first part, the rest is marked %v %d (%v), want a write of 11..25", ok, last, err)
		}
		return nil
	}))
	got := []span{{first[0].GetDeviceSeq(), first[len(first)-1].GetDeviceSeq()}}
	for _, p := range drain(t, d) {
		got = append(got, span{p[0].GetDeviceSeq(), p[len(p)-1].GetDeviceSeq()})
	}
	// The rest of the cut write (21..25) and the contact after it fill the
	// third push; the last write goes alone.
	want := []span{{1, 10}, {11, 20}, {21, 30}, {31, 33}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("pushes %v, want %v", got, want)
	}
}

// An outbox left by an SDK before write marks, after a push of it was
// accepted up to inside a write (the old cut every 500 changes): the rest
// of that write goes first, then whole writes.
func TestUnmarkedOutboxFrontInsideAWrite(t *testing.T) {
	d, c := enrolledDevice(t, func(cfg *Config) { cfg.PushBatch = 6 })
	writes := logWrites(t, d, c)
	dropMarks(t, d)
	chs := outbox(t, d)
	var rep SyncReport
	must(t, d.settle(chs[:7], acceptAll(chs[:7]), &rep)) // inside the second write, 6..17
	p, err := d.nextPush()
	must(t, err)
	if first, last := p[0].GetDeviceSeq(), p[len(p)-1].GetDeviceSeq(); first != 8 || last != writes[1].last {
		t.Fatalf("first push %d..%d, want the rest of the write: 8..%d", first, last, writes[1].last)
	}
	must(t, d.settle(p, acceptAll(p), &rep))
	checkWholeWrites(t, append([][]*v1.Change{chs[:writes[1].last]}, drain(t, d)...), append([]span{{1, writes[1].last}}, writes[2:]...),
		func(chs []*v1.Change) bool { return len(chs) <= 6 })
}

// The write marks are where local.go says, one per write in the outbox.
func TestWriteMarks(t *testing.T) {
	d, c := enrolledDevice(t)
	writes := logWrites(t, d, c)
	err := d.db.View(func(txn *local.Txn) error {
		for _, w := range writes {
			last, ok, err := writeEnd(txn, w.first)
			if err != nil || !ok || last != w.last {
				t.Errorf("write %v marked %v (%v, %v)", w, last, ok, err)
			}
		}
		return nil
	})
	must(t, err)
	if n := countKeys(t, d, pWrite); n != len(writes) {
		t.Fatalf("%d marks for %d writes", n, len(writes))
	}
}
