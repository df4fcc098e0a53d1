// Package storetest is the conformance suite every store.Store
// implementation must pass (in the style of perkeep's kvtest and
// testing/fstest): it pins down the semantics the sync engine relies on.
// Run checks the bucket transaction's primitives on their own, then writes
// through the engine's merge loop (syncengine.Apply) as the server does,
// so a backend is held to the guarantees a push needs (atomic, durable,
// idempotent by device sequence, one position per change); RunDirectory
// checks the directory.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/syncengine"

	"google.golang.org/protobuf/proto"

	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// Opener opens the store kept in dir. Opening the same dir again after
// Close must see everything the first store acknowledged.
type Opener func(t *testing.T, dir string) store.Store

// Run runs the whole suite against the stores open makes.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"push_then_pull_compacts_records", testPushPull},
		{"push_is_idempotent_by_device_seq", testIdempotent},
		{"partial_resend_applies_only_new", testPartialResend},
		{"acknowledged_push_survives_reopen", testReopen},
		{"pull_pages_cover_every_record_once", testPaging},
		{"pull_since_position_returns_only_changes", testDelta},
		{"pull_past_head_is_cursor_ahead", testCursorAhead},
		{"history_keeps_every_change", testHistory},
		{"concurrent_edit_raises_conflict", testConflict},
		{"type_mismatch_rejected_without_blocking", testTypeMismatch},
		{"check_rejection_consumes_seq", testCheckRejection},
		{"created_sees_and_changes_decisions", testCreatedDecisions},
		{"failed_batch_applies_nothing", testAtomic},
		{"concurrent_pushes_get_unique_positions", testConcurrent},
		{"pull_during_pushes_misses_nothing", testPullDuringPushes},
		{"concurrent_edits_of_one_record_all_kept", testConcurrentEditsOfOneRecord},
		{"records_returns_existing_only", testRecords},
		{"client_records_reads_each_clients_own_record", testClientRecords},
		{"pull_respects_byte_limit", testByteLimit},
		{"sequence_gap_refused_whole", testSequenceGap},
		{"record_size_is_capped", testRecordCap},
		{"watch_sees_every_committed_push", testWatch},
		{"late_changes_are_indexed", testLateIndex},
		{"scan_records_reads_current_states", testScanRecords},
		{"log_holds_every_entry_of_a_bucket", testLog},
		{"evictions_noted_per_device_and_kept", testEvictions},
	}
	for _, tc := range append(bucketTxTests, tests...) {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

var epoch = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func clock() func() time.Time {
	var mu sync.Mutex
	t := epoch
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Millisecond)
		return t
	}
}

func newDevice(user string, seed uint64) *sample.Device {
	return sample.NewDevice(user, clock(), seed)
}

func push(t *testing.T, s store.Store, d *sample.Device, chs []*v1.Change) *syncengine.PushResult {
	t.Helper()
	res, err := syncengine.Apply(context.Background(), s, &syncengine.Batch{UserID: d.UserID, DeviceID: d.ID, ReceivedAt: epoch, Changes: chs})
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	if len(res.Results) != len(chs) {
		t.Fatalf("Push returned %d results for %d changes", len(res.Results), len(chs))
	}
	return res
}

func verdicts(res *syncengine.PushResult) []v1.Verdict {
	var out []v1.Verdict
	for _, r := range res.Results {
		out = append(out, r.Verdict)
	}
	return out
}

func all(v v1.Verdict, n int) []v1.Verdict {
	out := make([]v1.Verdict, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func pullAll(t *testing.T, s store.Store, from map[string]uint64, limit int) (map[string]*v1.RecordState, map[string]uint64, int) {
	t.Helper()
	got := map[string]*v1.RecordState{}
	pos := map[string]uint64{}
	for b, p := range from {
		pos[b] = p
	}
	pages := 0
	for {
		page, err := s.Pull(context.Background(), store.PullQuery{From: pos, Limit: limit})
		if err != nil {
			t.Fatalf("Pull: %v", err)
		}
		pages++
		for _, bp := range page.Buckets {
			if bp.Position < pos[bp.Bucket] {
				t.Fatalf("bucket position went back from %d to %d", pos[bp.Bucket], bp.Position)
			}
			pos[bp.Bucket] = bp.Position
			for _, b := range bp.Records {
				r := &v1.RecordState{}
				if err := proto.Unmarshal(b, r); err != nil {
					t.Fatalf("pulled record does not decode: %v", err)
				}
				got[r.GetRecordId()] = r
			}
		}
		if !page.HasMore {
			return got, pos, pages
		}
		if pages > 10_000 {
			t.Fatal("pull never finished")
		}
	}
}

func field(t *testing.T, r *v1.RecordState, name string) *v1.FieldState {
	t.Helper()
	f := merge.Field(merge.Expand(proto.Clone(r).(*v1.RecordState)), name)
	if f == nil {
		t.Fatalf("record %s has no field %s", r.GetRecordId(), name)
	}
	return f
}

func testPushPull(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	d := newDevice("user-1", 1)
	client, chs := d.NewClient("Lambeth")
	contact, cchs := d.NewContact(client, epoch)
	all := append(chs, cchs...)
	res := push(t, s, d, all)
	for i, r := range res.Results {
		if r.Verdict != v1.Verdict_VERDICT_APPLIED || r.Position != uint64(i+1) {
			t.Fatalf("result %d = %+v, want applied at position %d", i, r, i+1)
		}
	}
	if got := res.Heads[client]; got != uint64(len(all)) {
		t.Fatalf("head = %d, want %d", got, len(all))
	}
	got, pos, _ := pullAll(t, s, map[string]uint64{client: 0}, 100)
	if len(got) != 2 {
		t.Fatalf("pulled %d records, want 2 (client and contact)", len(got))
	}
	if pos[client] != uint64(len(all)) {
		t.Fatalf("position after pull = %d, want %d", pos[client], len(all))
	}
	if f := field(t, got[contact], "category"); !proto.Equal(f.GetValue(), cchs[1].GetValue()) {
		t.Fatalf("contact.category = %v, want %v", f.GetValue(), cchs[1].GetValue())
	}
	if f := field(t, got[client], "risk_flags"); len(merge.SetMembers(f.GetValue().GetSetState())) != 1 {
		t.Fatalf("client.risk_flags = %v, want one member", f.GetValue())
	}
	if a := field(t, got[contact], "notes").GetAuthor(); a.GetUserId() != "user-1" || a.GetDeviceId() != d.ID {
		t.Fatalf("author = %v, want user-1 on %s", a, d.ID)
	}
	if hw, _ := s.HighWater(context.Background(), d.ID); hw != d.Seq {
		t.Fatalf("HighWater = %d, want %d", hw, d.Seq)
	}
}

func testIdempotent(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	d := newDevice("u", 2)
	client, chs := d.NewClient("Bristol")
	first := push(t, s, d, chs)
	again := push(t, s, d, chs)
	if want := all(v1.Verdict_VERDICT_DUPLICATE, len(chs)); !slices.Equal(verdicts(again), want) {
		t.Fatalf("resent batch verdicts = %v, want all duplicate", verdicts(again))
	}
	heads, err := s.Heads(context.Background(), []string{client})
	if err != nil {
		t.Fatal(err)
	}
	if heads[client] != first.Heads[client] {
		t.Fatalf("head moved on a resend: %d → %d", first.Heads[client], heads[client])
	}
}

func testPartialResend(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	d := newDevice("u", 3)
	client, chs := d.NewClient("Leeds")
	push(t, s, d, chs[:5])
	_, more := d.NewContact(client, epoch)
	batch := append(slices.Clone(chs[2:]), more...)
	res := push(t, s, d, batch)
	want := append(all(v1.Verdict_VERDICT_DUPLICATE, 3), all(v1.Verdict_VERDICT_APPLIED, len(batch)-3)...)
	if !slices.Equal(verdicts(res), want) {
		t.Fatalf("verdicts = %v, want %v", verdicts(res), want)
	}
	if res.Heads[client] != uint64(5+len(batch)-3) {
		t.Fatalf("head = %d, want %d", res.Heads[client], 5+len(batch)-3)
	}
}

func testReopen(t *testing.T, open Opener) {
	dir := t.TempDir()
	s := open(t, dir)
	key := slices.Clone(s.CursorKey())
	d := newDevice("u", 4)
	client, chs := d.NewClient("Hackney")
	push(t, s, d, chs)
	before, _, _ := pullAll(t, s, map[string]uint64{client: 0}, 10)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	if !slices.Equal(s.CursorKey(), key) {
		t.Fatal("cursor key changed across reopen: every device would have to reset")
	}
	after, _, _ := pullAll(t, s, map[string]uint64{client: 0}, 10)
	if len(after) != 1 || !proto.Equal(before[client], after[client]) {
		t.Fatalf("state after reopen differs:\n before %v\n after  %v", before[client], after[client])
	}
	if res := push(t, s, d, chs); !slices.Equal(verdicts(res), all(v1.Verdict_VERDICT_DUPLICATE, len(chs))) {
		t.Fatalf("high-water mark lost across reopen: %v", verdicts(res))
	}
}

func testPaging(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	d := newDevice("u", 5)
	from := map[string]uint64{}
	want := 0
	for range 3 {
		client, chs := d.NewClient("Brent")
		from[client] = 0
		want++
		for range 8 {
			_, c := d.NewContact(client, epoch)
			chs = append(chs, c...)
			want++
		}
		push(t, s, d, chs)
	}
	got, _, pages := pullAll(t, s, from, 7)
	if len(got) != want {
		t.Fatalf("paged pull returned %d distinct records, want %d", len(got), want)
	}
	if pages < want/7 {
		t.Fatalf("limit 7 gave %d pages for %d records", pages, want)
	}
	page, err := s.Pull(context.Background(), store.PullQuery{From: from, Limit: 7})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, b := range page.Buckets {
		n += len(b.Records)
	}
	if n != 7 || !page.HasMore {
		t.Fatalf("first page has %d records, has_more=%v; want 7, true", n, page.HasMore)
	}
}

func testDelta(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	d := newDevice("u", 6)
	client, chs := d.NewClient("Camden")
	contact, cchs := d.NewContact(client, epoch)
	push(t, s, d, append(chs, cchs...))
	_, pos, _ := pullAll(t, s, map[string]uint64{client: 0}, 100)
	got, _, _ := pullAll(t, s, pos, 100)
	if len(got) != 0 {
		t.Fatalf("pull at head returned %d records, want 0", len(got))
	}
	base := field(t, mustRecord(t, s, client, contact), "notes").GetStamp()
	push(t, s, d, []*v1.Change{d.Change("contact", contact, client, "notes", sample.Str("Updated"), base)})
	got, pos2, _ := pullAll(t, s, pos, 100)
	if len(got) != 1 || got[contact] == nil {
		t.Fatalf("delta returned %d records, want just the edited contact", len(got))
	}
	if v := field(t, got[contact], "notes").GetValue().GetStringValue(); v != "Updated" {
		t.Fatalf("notes = %q, want Updated", v)
	}
	if pos2[client] != pos[client]+1 {
		t.Fatalf("position = %d, want %d", pos2[client], pos[client]+1)
	}
}

func mustRecord(t *testing.T, s store.Store, bucket, id string) *v1.RecordState {
	t.Helper()
	m, err := s.Records(context.Background(), bucket, []string{id})
	if err != nil || m[id] == nil {
		t.Fatalf("Records(%s) = %v, %v", id, m, err)
	}
	return m[id]
}

func testCursorAhead(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	d := newDevice("u", 7)
	client, chs := d.NewClient("Islington")
	push(t, s, d, chs)
	_, err := s.Pull(context.Background(), store.PullQuery{From: map[string]uint64{client: 1000}, Limit: 10})
	var ahead *store.CursorAheadError
	if !errors.As(err, &ahead) || ahead.Bucket != client {
		t.Fatalf("Pull past head = %v, want CursorAheadError for the bucket", err)
	}
}

func testHistory(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	a := newDevice("worker-a", 8)
	b := newDevice("worker-b", 9)
	client, chs := a.NewClient("Southwark")
	push(t, s, a, chs)
	base := field(t, mustRecord(t, s, client, client), "housing_status").GetStamp()
	b.Observe(base)
	push(t, s, b, []*v1.Change{b.Change("client", client, client, "housing_status", sample.Str("settled_tenancy"), base)})
	h, err := s.History(context.Background(), client, client)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != len(chs)+1 {
		t.Fatalf("history has %d entries, want %d", len(h), len(chs)+1)
	}
	last := h[len(h)-1]
	if last.GetAuthor().GetUserId() != "worker-b" || last.GetAuthor().GetDeviceId() != b.ID || last.GetDeviceSeq() != 1 {
		t.Fatalf("last entry author = %v seq %d", last.GetAuthor(), last.GetDeviceSeq())
	}
	if last.GetReplacedValue() == nil || !merge.SameStamp(last.GetReplacedStamp(), base) || !last.GetWon() {
		t.Fatalf("last entry must record what it replaced: %v", last)
	}
	if last.GetReceivedAt() == nil {
		t.Fatal("history entry lacks received_at")
	}
	for i := 1; i < len(h); i++ {
		if h[i].GetPosition() <= h[i-1].GetPosition() {
			t.Fatal("history not in log order")
		}
	}
}

func testConflict(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	a := newDevice("worker-a", 10)
	b := newDevice("worker-b", 11)
	client, chs := a.NewClient("Haringey")
	push(t, s, a, chs)
	base := field(t, mustRecord(t, s, client, client), "ete_status").GetStamp()
	ca := a.Change("client", client, client, "ete_status", sample.Str("in_training"), base)
	cb := b.Change("client", client, client, "ete_status", sample.Str("employed_part_time"), base)
	push(t, s, a, []*v1.Change{ca})
	push(t, s, b, []*v1.Change{cb})
	r := mustRecord(t, s, client, client)
	if len(r.GetConflicts()) != 1 {
		t.Fatalf("conflicts = %d, want 1", len(r.GetConflicts()))
	}
	c := r.GetConflicts()[0]
	vals := []string{c.GetCurrent().GetValue().GetStringValue(), c.GetIncoming().GetValue().GetStringValue()}
	slices.Sort(vals)
	if !slices.Equal(vals, []string{"employed_part_time", "in_training"}) {
		t.Fatalf("conflict holds %v, want both values", vals)
	}
	winner := field(t, r, "ete_status")
	resolve := a.Change("client", client, client, "ete_status", winner.GetValue(), winner.GetStamp())
	push(t, s, a, []*v1.Change{resolve})
	if r := mustRecord(t, s, client, client); len(r.GetConflicts()) != 0 {
		t.Fatalf("conflict still open after an edit that saw the winner: %v", r.GetConflicts())
	}
	h, _ := s.History(context.Background(), client, client)
	if got := h[len(h)-1].GetResolvedConflicts(); !slices.Equal(got, []uint64{c.GetId()}) {
		t.Fatalf("resolution not kept in history: %v", got)
	}
}

func testTypeMismatch(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	d := newDevice("u", 12)
	client, chs := d.NewClient("Tower Hamlets")
	contact, cchs := d.NewContact(client, epoch)
	push(t, s, d, append(chs, cchs...))
	bad := d.Change("goal", contact, client, "status", sample.Str("open"), nil)
	good := d.Change("contact", contact, client, "outcome", sample.Str("Seen"), nil)
	res := push(t, s, d, []*v1.Change{bad, good})
	if res.Results[0].Verdict != v1.Verdict_VERDICT_REJECTED || res.Results[0].Reason != v1.RejectReason_REJECT_REASON_TYPE_MISMATCH {
		t.Fatalf("retyping a record = %+v, want rejected TYPE_MISMATCH", res.Results[0])
	}
	if res.Results[1].Verdict != v1.Verdict_VERDICT_APPLIED {
		t.Fatalf("change after a rejected one = %+v, want applied", res.Results[1])
	}
	again := push(t, s, d, []*v1.Change{bad, good})
	if r := again.Results[0]; r.Verdict != v1.Verdict_VERDICT_REJECTED || r.Reason != v1.RejectReason_REJECT_REASON_TYPE_MISMATCH || r.Message == "" {
		t.Fatalf("resent rejected change = %+v, want the same rejection again (a lost response must not turn it into a duplicate)", r)
	}
	if again.Results[1].Verdict != v1.Verdict_VERDICT_DUPLICATE {
		t.Fatalf("resent applied change = %v, want duplicate", again.Results[1].Verdict)
	}
}

func testCheckRejection(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	d := newDevice("u", 13)
	client, chs := d.NewClient("Liverpool")
	calls := 0
	res, err := syncengine.Apply(context.Background(), s, &syncengine.Batch{
		UserID: d.UserID, DeviceID: d.ID, ReceivedAt: epoch, Changes: chs,
		Check: func(ch *v1.Change, cur *v1.RecordState) syncengine.Decision {
			if calls++; cur != nil {
				t.Errorf("Check call %d: state %v; want nil for every change of a record the batch creates (the state before the batch)", calls, cur)
			}
			switch ch.GetField() {
			case "pathway":
				return syncengine.Decision{Reason: v1.RejectReason_REJECT_REASON_FORBIDDEN_FIELD, Message: "no"}
			case "status":
				return syncengine.Decision{Late: true}
			}
			return syncengine.Decision{}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res.Results {
		want := v1.Verdict_VERDICT_APPLIED
		if chs[i].GetField() == "pathway" {
			want = v1.Verdict_VERDICT_REJECTED
		}
		if r.Verdict != want {
			t.Fatalf("result %d (%s) = %v, want %v", i, chs[i].GetField(), r.Verdict, want)
		}
		if r.Late != (chs[i].GetField() == "status") {
			t.Fatalf("result %d (%s) late = %v", i, chs[i].GetField(), r.Late)
		}
	}
	h, err := s.History(context.Background(), client, client)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range h {
		if e.GetLate() != (e.GetField() == "status") {
			t.Fatalf("history of %s: late = %v", e.GetField(), e.GetLate())
		}
	}
	if f := merge.Field(mustRecord(t, s, client, client), "pathway"); f != nil {
		t.Fatalf("rejected field was applied: %v", f)
	}
	if hw, _ := s.HighWater(context.Background(), d.ID); hw != d.Seq {
		t.Fatalf("HighWater = %d, want %d (rejections consume their seq)", hw, d.Seq)
	}
}

// Created runs after Check has decided every change, with its decisions:
// it may refuse more changes (the rest of a record whose required field
// was refused) or the whole batch, and Check always sees the states from
// before the batch.
func testCreatedDecisions(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	d := newDevice("u", 22)
	client, chs := d.NewClient("Leeds")
	push(t, s, d, chs)
	contact, cchs := d.NewContact(client, epoch)
	edit := d.Change("client", client, client, "housing_status", sample.Str("hostel"), nil)
	batch := append(slices.Clone(cchs), edit)
	var checked int
	res, err := syncengine.Apply(context.Background(), s, &syncengine.Batch{
		UserID: d.UserID, DeviceID: d.ID, ReceivedAt: epoch, Changes: batch,
		Check: func(ch *v1.Change, cur *v1.RecordState) syncengine.Decision {
			checked++
			if (cur == nil) != (ch.GetRecordId() == contact) {
				t.Errorf("Check of %s.%s saw state %v", ch.GetRecordType(), ch.GetField(), cur)
			}
			if ch.GetField() == "author" {
				return syncengine.Decision{Reason: v1.RejectReason_REJECT_REASON_FORBIDDEN_FIELD, Message: "not yours"}
			}
			return syncengine.Decision{}
		},
		Created: func(records [][]int, ds []syncengine.Decision) error {
			if checked != len(batch) {
				t.Errorf("Created ran after %d of %d checks", checked, len(batch))
			}
			if len(records) != 1 || len(records[0]) != len(cchs) {
				t.Fatalf("Created(%v): want the contact's %d changes", records, len(cchs))
			}
			for _, i := range records[0] {
				if ds[i].Reason == v1.RejectReason_REJECT_REASON_UNSPECIFIED {
					ds[i] = syncengine.Decision{Reason: v1.RejectReason_REJECT_REASON_FORBIDDEN_FIELD, Message: "its author was refused"}
				}
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res.Results {
		want := v1.Verdict_VERDICT_REJECTED
		if i == len(batch)-1 {
			want = v1.Verdict_VERDICT_APPLIED
		}
		if r.Verdict != want {
			t.Fatalf("result %d (%s) = %+v, want %v", i, batch[i].GetField(), r, want)
		}
	}
	if m, err := s.Records(context.Background(), client, []string{contact}); err != nil || m[contact] != nil {
		t.Fatalf("the refused contact exists: %v, %v", m, err)
	}
	// A resend reports the same verdicts: the rejections Created decided
	// are kept like Check's.
	again := push(t, s, d, batch)
	if r := again.Results[0]; r.Verdict != v1.Verdict_VERDICT_REJECTED || r.Message != "its author was refused" {
		t.Fatalf("resent change = %+v, want the same rejection", r)
	}
	// An error from Created aborts the batch.
	abort := errors.New("refused whole")
	_, more := d.NewContact(client, epoch)
	if _, err := syncengine.Apply(context.Background(), s, &syncengine.Batch{UserID: d.UserID, DeviceID: d.ID, ReceivedAt: epoch, Changes: more,
		Created: func([][]int, []syncengine.Decision) error { return abort }}); !errors.Is(err, abort) {
		t.Fatalf("Push = %v, want Created's error", err)
	}
	if hw, _ := s.HighWater(context.Background(), d.ID); hw != d.Seq-uint64(len(more)) {
		t.Fatalf("HighWater = %d after an aborted batch, want %d", hw, d.Seq-uint64(len(more)))
	}
}

func testAtomic(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	d := newDevice("u", 14)
	client, chs := d.NewClient("Sheffield")
	broken := slices.Clone(chs)
	bad := proto.Clone(broken[4]).(*v1.Change)
	bad.ClientId = "not-a-uuid"
	broken[4] = bad
	if _, err := syncengine.Apply(context.Background(), s, &syncengine.Batch{UserID: "u", DeviceID: d.ID, ReceivedAt: epoch, Changes: broken}); err == nil {
		t.Fatal("Push accepted a change with a malformed client id")
	}
	if hw, _ := s.HighWater(context.Background(), d.ID); hw != 0 {
		t.Fatalf("failed batch moved the high-water mark to %d", hw)
	}
	if heads, _ := s.Heads(context.Background(), []string{client}); heads[client] != 0 {
		t.Fatalf("failed batch left %d log entries", heads[client])
	}
	if m, _ := s.Records(context.Background(), client, []string{client}); len(m) != 0 {
		t.Fatal("failed batch left a record")
	}
}

func testConcurrent(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	seed := newDevice("admin", 15)
	client, chs := seed.NewClient("Birmingham")
	push(t, s, seed, chs)
	const devices, batches = 6, 5
	var wg sync.WaitGroup
	positions := make(chan uint64, devices*batches*20)
	for i := range devices {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := newDevice(fmt.Sprintf("w%d", i), uint64(100+i))
			for range batches {
				_, c := d.NewContact(client, epoch)
				res, err := syncengine.Apply(context.Background(), s, &syncengine.Batch{UserID: d.UserID, DeviceID: d.ID, ReceivedAt: epoch, Changes: c})
				if err != nil {
					t.Errorf("concurrent Push: %v", err)
					return
				}
				for _, r := range res.Results {
					positions <- r.Position
				}
			}
		}()
	}
	wg.Wait()
	close(positions)
	seen := map[uint64]bool{}
	for p := range positions {
		if seen[p] {
			t.Fatalf("position %d given twice", p)
		}
		seen[p] = true
	}
	heads, _ := s.Heads(context.Background(), []string{client})
	if heads[client] != uint64(len(chs)+len(seen)) {
		t.Fatalf("head = %d, want %d", heads[client], len(chs)+len(seen))
	}
}

func testRecords(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	d := newDevice("u", 16)
	client, chs := d.NewClient("Manchester")
	push(t, s, d, chs)
	missing := d.NewID()
	m, err := s.Records(context.Background(), client, []string{client, missing})
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 || m[client] == nil || m[missing] != nil {
		t.Fatalf("Records = %v, want only the existing client", m)
	}
	if f := m[client].GetFields()[0]; f.GetStamp() == nil {
		t.Fatal("Records must return expanded states (every field stamped)")
	}
}

// ClientRecords returns each client's own record (not the other records of
// its bucket), expanded, in one call; an unknown client is absent and an id
// that is not a canonical UUID is an error.
func testClientRecords(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	d := newDevice("u", 31)
	a, chs := d.NewClient("Manchester")
	b, more := d.NewClient("Salford")
	contact, cchs := d.NewContact(a, epoch)
	push(t, s, d, append(append(chs, more...), cchs...))
	missing := d.NewID()
	got, err := s.ClientRecords(ctx, []string{b, missing, a})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[a] == nil || got[b] == nil || got[contact] != nil {
		t.Fatalf("ClientRecords = %v, want the records of %s and %s only", got, a, b)
	}
	for id, st := range got {
		want, err := s.Records(ctx, id, []string{id})
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(st, want[id]) {
			t.Errorf("ClientRecords[%s] = %v, want %v (as Records returns it)", id, st, want[id])
		}
	}
	if got, err := s.ClientRecords(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("ClientRecords(nil) = %v, %v; want none", got, err)
	}
	if _, err := s.ClientRecords(ctx, []string{a, "Lambeth"}); err == nil {
		t.Error("ClientRecords took an id that is not a UUID")
	}
}

func testByteLimit(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	d := newDevice("u", 17)
	client, chs := d.NewClient("Nottinghamshire")
	for range 20 {
		_, c := d.NewContact(client, epoch)
		chs = append(chs, c...)
	}
	push(t, s, d, chs)
	page, err := s.Pull(context.Background(), store.PullQuery{From: map[string]uint64{client: 0}, Limit: 1000, MaxBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(page.Buckets[0].Records); n != 1 || !page.HasMore {
		t.Fatalf("MaxBytes 1 returned %d records (has_more %v); want exactly 1 and more", n, page.HasMore)
	}
}

func testSequenceGap(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	d := newDevice("u", 18)
	client, chs := d.NewClient("Lambeth")
	push(t, s, d, chs[:3])
	for name, batch := range map[string][]*v1.Change{
		"gap_after_high_water": chs[4:],
		"gap_inside_batch":     {chs[3], chs[5]},
	} {
		_, err := syncengine.Apply(context.Background(), s, &syncengine.Batch{UserID: d.UserID, DeviceID: d.ID, ReceivedAt: epoch, Changes: batch})
		var gap *syncengine.SequenceError
		if !errors.As(err, &gap) || gap.HighWater != 3 {
			t.Fatalf("%s: Push = %v, want SequenceError at high-water 3", name, err)
		}
	}
	if hw, _ := s.HighWater(context.Background(), d.ID); hw != 3 {
		t.Fatalf("refused batches moved the high-water mark to %d", hw)
	}
	res := push(t, s, d, chs[1:])
	if res.HighWater != d.Seq || res.Heads[client] != d.Seq {
		t.Fatalf("after the gap: high-water %d head %d, want %d", res.HighWater, res.Heads[client], d.Seq)
	}
}

func testRecordCap(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	d := newDevice("u", 19)
	client, chs := d.NewClient("Lambeth")
	contact, cchs := d.NewContact(client, epoch)
	push(t, s, d, append(chs, cchs...))
	big := strings.Repeat("x", syncengine.MaxRecordBytes*2/3)
	seen := field(t, mustRecord(t, s, client, contact), "notes").GetStamp()
	first := push(t, s, d, []*v1.Change{d.Change("contact", contact, client, "notes", sample.Str(big), seen)})
	if first.Results[0].Verdict != v1.Verdict_VERDICT_APPLIED {
		t.Fatalf("first large value = %+v, want applied", first.Results[0])
	}
	second := push(t, s, d, []*v1.Change{
		d.Change("contact", contact, client, "outcome", sample.Str(big), nil), // also raises a conflict
		d.Change("contact", contact, client, "duration_minutes", sample.Int(30), nil),
	})
	if r := second.Results[0]; r.Verdict != v1.Verdict_VERDICT_REJECTED || r.Reason != v1.RejectReason_REJECT_REASON_RECORD_TOO_LARGE {
		t.Fatalf("change past the record cap = %+v, want RECORD_TOO_LARGE", r)
	}
	if second.Results[1].Verdict != v1.Verdict_VERDICT_APPLIED {
		t.Fatalf("small change after the refused one = %+v, want applied", second.Results[1])
	}
	r := mustRecord(t, s, client, contact)
	if f := merge.Field(r, "outcome"); f.GetValue().GetStringValue() == big {
		t.Fatal("the refused value was kept")
	}
	if proto.Size(r) > syncengine.MaxRecordBytes {
		t.Fatalf("record is %d bytes, over the cap", proto.Size(r))
	}
}

func testWatch(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	var (
		mu  sync.Mutex
		got []map[string]uint64
	)
	stop := s.Watch(func(heads map[string]uint64) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, heads)
	})
	d := newDevice("u1", 1)
	cid, chs := d.NewClient("Lambeth")
	res := push(t, s, d, chs)
	// A server-side write (sequence assigned by the store) is seen too.
	srv := newDevice("admin", 2)
	_, more := srv.NewContact(cid, epoch)
	if _, err := syncengine.Apply(context.Background(), s, &syncengine.Batch{UserID: "admin", DeviceID: "server", ReceivedAt: epoch, AssignSeq: true, Changes: more}); err != nil {
		t.Fatal(err)
	}
	// A resend changes nothing and is not reported.
	push(t, s, d, chs)
	stop()
	_, later := d.NewContact(cid, epoch)
	push(t, s, d, later)

	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("watch calls = %d, want 2 (client push, server push; not the resend or after stop)", len(got))
	}
	if got[0][cid] != res.Heads[cid] || got[0][cid] == 0 {
		t.Errorf("first call heads = %v, want %v", got[0], res.Heads)
	}
	if got[1][cid] <= got[0][cid] {
		t.Errorf("second call head %d not after first %d", got[1][cid], got[0][cid])
	}
}

func testLateIndex(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	d := newDevice("u", 20)
	client, chs := d.NewClient("Lambeth")
	onTime, c1 := d.NewContact(client, epoch)
	other, chs2 := d.NewClient("Lambeth")
	push(t, s, d, append(append(chs, c1...), chs2...))
	late, c2 := d.NewContact(client, epoch)
	refused, c3 := d.NewContact(client, epoch)
	if got, err := s.LateRecords(ctx, client); err != nil || len(got) != 0 {
		t.Fatalf("LateRecords before any late change = %v, %v; want none", got, err)
	}
	batch := append(append(slices.Clone(c2), c3...), d.Change("contact", onTime, client, "outcome", sample.Str("Seen"), nil))
	check := func(ch *v1.Change, _ *v1.RecordState) syncengine.Decision {
		switch ch.GetRecordId() {
		case late:
			return syncengine.Decision{Late: true}
		case refused: // late but refused: a rejection is never indexed
			return syncengine.Decision{Late: true, Reason: v1.RejectReason_REJECT_REASON_ACCESS_ENDED, Message: "ended"}
		}
		return syncengine.Decision{}
	}
	for range 2 { // the resend is all duplicates and changes nothing
		if _, err := syncengine.Apply(ctx, s, &syncengine.Batch{UserID: d.UserID, DeviceID: d.ID, ReceivedAt: epoch, Changes: batch, Check: check}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.LateRecords(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{late}) {
		t.Fatalf("LateRecords = %v, want just the late contact %s", got, late)
	}
	if got, err := s.LateRecords(ctx, other); err != nil || len(got) != 0 {
		t.Fatalf("LateRecords of another bucket = %v, %v; want none", got, err)
	}
	// A later on-time edit leaves the record flagged: it had late work.
	base := field(t, mustRecord(t, s, client, late), "outcome").GetStamp()
	push(t, s, d, []*v1.Change{d.Change("contact", late, client, "outcome", sample.Str("Checked"), base)})
	if got, _ := s.LateRecords(ctx, client); !slices.Equal(got, []string{late}) {
		t.Fatalf("LateRecords after an on-time edit = %v, want [%s]", got, late)
	}
}

func testScanRecords(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	d := newDevice("u", 21)
	c1, chs := d.NewClient("Lambeth")
	contact, cchs := d.NewContact(c1, epoch)
	c2, chs2 := d.NewClient("Hackney")
	push(t, s, d, append(append(chs, cchs...), chs2...))
	base := field(t, mustRecord(t, s, c1, contact), "outcome").GetStamp()
	push(t, s, d, []*v1.Change{d.Change("contact", contact, c1, "outcome", sample.Str("Rebooked"), base)})
	missing := d.NewID()

	type seen struct{ bucket, record string }
	var got []seen
	states := map[string]*v1.RecordState{}
	err := s.ScanRecords(ctx, []string{c2, missing, c1}, func(bucket string, b []byte) error {
		r := &v1.RecordState{}
		if err := proto.Unmarshal(b, r); err != nil {
			return err
		}
		got = append(got, seen{bucket, r.GetRecordId()})
		states[r.GetRecordId()] = r
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Buckets in the order asked; each record once, in log order (the
	// edited contact last).
	want := []seen{{c2, c2}, {c1, c1}, {c1, contact}}
	if !slices.Equal(got, want) {
		t.Fatalf("ScanRecords visited %v, want %v", got, want)
	}
	if v := field(t, states[contact], "outcome").GetValue().GetStringValue(); v != "Rebooked" {
		t.Fatalf("scanned contact outcome = %q, want the current value", v)
	}
	if !proto.Equal(merge.Expand(proto.Clone(states[contact]).(*v1.RecordState)), mustRecord(t, s, c1, contact)) {
		t.Fatal("a scanned state differs from Records' state of the same record")
	}
	stop := errors.New("stop")
	calls := 0
	err = s.ScanRecords(ctx, []string{c1, c2}, func(string, []byte) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("ScanRecords with a failing fn = %v after %d calls, want the error after 1", err, calls)
	}
}

func testLog(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	d := newDevice("u", 22)
	client, chs := d.NewClient("Lambeth")
	contact, cchs := d.NewContact(client, epoch)
	push(t, s, d, append(chs, cchs...))
	base := field(t, mustRecord(t, s, client, contact), "notes").GetStamp()
	res := push(t, s, d, []*v1.Change{d.Change("contact", contact, client, "notes", sample.Str("Later"), base)})
	log, err := s.Log(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != len(chs)+len(cchs)+1 {
		t.Fatalf("Log has %d entries, want %d", len(log), len(chs)+len(cchs)+1)
	}
	for i, e := range log {
		if e.GetPosition() != uint64(i+1) {
			t.Fatalf("entry %d at position %d, want %d (oldest first)", i, e.GetPosition(), i+1)
		}
	}
	hist, _ := s.History(ctx, client, contact)
	var fromLog []*v1.HistoryEntry
	for _, e := range log {
		if e.GetRecordId() == contact {
			fromLog = append(fromLog, e)
		}
	}
	if !slices.EqualFunc(hist, fromLog, func(a, b *v1.HistoryEntry) bool { return proto.Equal(a, b) }) {
		t.Fatal("Log's entries of a record differ from its History")
	}
	last := res.Results[0].Position
	got, err := s.LogEntries(ctx, client, []uint64{last, 1, last + 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[last].GetValue().GetStringValue() != "Later" || got[last].GetReceivedAt() == nil || got[1].GetPosition() != 1 {
		t.Fatalf("LogEntries = %v, want the entries at 1 and %d only", got, last)
	}
	if l, err := s.Log(ctx, d.NewID()); err != nil || len(l) != 0 {
		t.Fatalf("Log of an empty bucket = %v, %v", l, err)
	}
}

// The evictions sent to a device are noted per device and bucket, keep the
// latest end of access, and survive a reopen.
func testEvictions(t *testing.T, open Opener) {
	dir := t.TempDir()
	s := open(t, dir)
	ctx := context.Background()
	d1, d2 := newDevice("u", 23), newDevice("u", 24)
	b1, b2, b3 := d1.NewID(), d1.NewID(), d1.NewID()
	first, later := epoch.Add(-48*time.Hour), epoch.Add(-time.Hour)
	if got, err := s.Evictions(ctx, d1.ID, []string{b1}); err != nil || len(got) != 0 {
		t.Fatalf("Evictions before any = %v, %v; want none", got, err)
	}
	for _, n := range []map[string]time.Time{{b1: first, b2: later}, {b1: later}, {b2: first}} {
		if err := s.NoteEvictions(ctx, d1.ID, n); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]time.Time{b1: later, b2: later}
	check := func(s store.Store) {
		t.Helper()
		got, err := s.Evictions(ctx, d1.ID, []string{b1, b2, b3})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) || !got[b1].Equal(want[b1]) || !got[b2].Equal(want[b2]) {
			t.Fatalf("Evictions = %v, want %v (the latest end per bucket, none for a bucket never evicted)", got, want)
		}
		if other, err := s.Evictions(ctx, d2.ID, []string{b1, b2}); err != nil || len(other) != 0 {
			t.Fatalf("another device's evictions = %v, %v; want none", other, err)
		}
	}
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check(open(t, dir))
}
