package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// The bucket transaction's primitives, on their own: what the engine's
// merge loop (syncengine.Apply, which the rest of the suite writes
// through) relies on a backend to persist.
var bucketTxTests = []struct {
	name string
	fn   func(*testing.T, Opener)
}{
	{"bucket_tx_high_water_and_rejections", testTxHighWater},
	{"bucket_tx_put_record_replaces_its_state", testTxPutRecord},
	{"bucket_tx_append_follows_head", testTxAppend},
	{"bucket_tx_error_writes_nothing", testTxRollback},
	{"bucket_tx_refuses_bad_ids", testTxBadIDs},
}

func tx(t *testing.T, s store.Store, fn func(tx store.BucketTx) error) {
	t.Helper()
	if err := s.Buckets(context.Background(), fn); err != nil {
		t.Fatalf("Buckets: %v", err)
	}
}

func testTxHighWater(t *testing.T, open Opener) {
	dir := t.TempDir()
	s := open(t, dir)
	rej := &v1.ChangeResult{DeviceSeq: 2, Verdict: v1.Verdict_VERDICT_REJECTED, Reason: v1.RejectReason_REJECT_REASON_FORBIDDEN_FIELD, Message: "no"}
	tx(t, s, func(tx store.BucketTx) error {
		if hwm, err := tx.HighWater("dev-a"); err != nil || hwm != 0 {
			t.Errorf("HighWater of a new device = %d, %v; want 0", hwm, err)
		}
		if err := tx.SetHighWater("dev-a", 7); err != nil {
			return err
		}
		if hwm, err := tx.HighWater("dev-a"); err != nil || hwm != 7 {
			t.Errorf("HighWater inside the transaction = %d, %v; want 7", hwm, err)
		}
		return tx.PutRejection("dev-a", rej)
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	if hwm, err := s.HighWater(context.Background(), "dev-a"); err != nil || hwm != 7 {
		t.Fatalf("HighWater after reopening = %d, %v; want 7", hwm, err)
	}
	tx(t, s, func(tx store.BucketTx) error {
		got, err := tx.Rejection("dev-a", 2)
		if err != nil || !proto.Equal(got, rej) {
			t.Errorf("Rejection(dev-a, 2) = %v, %v; want %v", got, err, rej)
		}
		for _, c := range []struct {
			dev string
			seq uint64
		}{{"dev-a", 1}, {"dev-a", 3}, {"dev-b", 2}, {"dev-", 2}} {
			if got, err := tx.Rejection(c.dev, c.seq); err != nil || got != nil {
				t.Errorf("Rejection(%s, %d) = %v, %v; want none", c.dev, c.seq, got, err)
			}
		}
		if hwm, _ := tx.HighWater("dev-b"); hwm != 0 {
			t.Errorf("another device's high-water mark = %d, want 0", hwm)
		}
		return nil
	})
}

func testTxPutRecord(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	bucket, rec := uuid.NewString(), uuid.NewString()
	state := func(pos uint64, notes string) *v1.RecordState {
		return &v1.RecordState{RecordId: rec, RecordType: "contact", Position: pos, Fields: []*v1.FieldState{
			{Field: "notes", Value: &v1.Value{Kind: &v1.Value_StringValue{StringValue: notes}}}}}
	}
	entry := func(pos uint64) *v1.HistoryEntry {
		return &v1.HistoryEntry{Position: pos, RecordId: rec, RecordType: "contact", Field: "notes"}
	}
	tx(t, s, func(tx store.BucketTx) error {
		if st, err := tx.Record(bucket, rec); err != nil || st != nil {
			t.Errorf("Record of a new record = %v, %v; want nil", st, err)
		}
		if err := tx.Append(bucket, entry(1)); err != nil {
			return err
		}
		return tx.PutRecord(bucket, state(1, "first"))
	})
	tx(t, s, func(tx store.BucketTx) error {
		got, err := tx.Record(bucket, rec)
		if err != nil || !proto.Equal(got, state(1, "first")) {
			t.Errorf("Record = %v, %v; want the state put", got, err)
		}
		if err := tx.Append(bucket, entry(2)); err != nil {
			return err
		}
		return tx.PutRecord(bucket, state(2, "second"))
	})
	// The state kept at position 1 is gone: a pull from the start and a
	// scan see the record once, as it stands.
	page, err := s.Pull(context.Background(), store.PullQuery{From: map[string]uint64{bucket: 0}, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(page.Buckets[0].Records); n != 1 {
		t.Fatalf("pull from 0 returned %d states of one record, want 1", n)
	}
	var got v1.RecordState
	if err := proto.Unmarshal(page.Buckets[0].Records[0], &got); err != nil || !proto.Equal(&got, state(2, "second")) {
		t.Fatalf("pulled %v, %v; want the second state", &got, err)
	}
	recs, err := s.Records(context.Background(), bucket, []string{rec})
	if err != nil || recs[rec].GetPosition() != 2 {
		t.Fatalf("Records = %v, %v; want the state at position 2", recs, err)
	}
	if page.Buckets[0].Position != 2 {
		t.Errorf("pull position = %d, want the head 2", page.Buckets[0].Position)
	}
}

func testTxAppend(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	bucket, other := uuid.NewString(), uuid.NewString()
	rec := uuid.NewString()
	var heads []map[string]uint64
	stop := s.Watch(func(h map[string]uint64) { heads = append(heads, h) })
	defer stop()
	entry := func(pos uint64) *v1.HistoryEntry {
		return &v1.HistoryEntry{Position: pos, RecordId: rec, RecordType: "contact", Field: "notes"}
	}
	tx(t, s, func(tx store.BucketTx) error {
		for pos := uint64(1); pos <= 3; pos++ {
			if err := tx.Append(bucket, entry(pos)); err != nil {
				return err
			}
			if h, err := tx.Head(bucket); err != nil || h != pos {
				t.Errorf("Head after appending %d = %d, %v", pos, h, err)
			}
		}
		if err := tx.Append(bucket, entry(5)); err == nil {
			t.Error("Append at head+2 succeeded; want an error")
		}
		if err := tx.Append(bucket, entry(3)); err == nil {
			t.Error("Append at the head again succeeded; want an error")
		}
		if h, _ := tx.Head(other); h != 0 {
			t.Errorf("Head of an empty bucket = %d, want 0", h)
		}
		return nil
	})
	got, err := s.Heads(context.Background(), []string{bucket, other})
	if err != nil || got[bucket] != 3 || got[other] != 0 {
		t.Fatalf("Heads = %v, %v; want %s:3 and 0", got, err, bucket)
	}
	log, err := s.Log(context.Background(), bucket)
	if err != nil || len(log) != 3 || log[2].GetPosition() != 3 {
		t.Fatalf("Log = %d entries, %v; want 3", len(log), err)
	}
	if len(heads) != 1 || heads[0][bucket] != 3 || len(heads[0]) != 1 {
		t.Fatalf("watch saw %v, want one call with %s at 3", heads, bucket)
	}
	// A transaction that writes nothing commits nothing and is not seen.
	tx(t, s, func(tx store.BucketTx) error { _, err := tx.Head(bucket); return err })
	if len(heads) != 1 {
		t.Fatalf("a read-only transaction reached watchers: %v", heads)
	}
}

func testTxRollback(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	bucket, rec := uuid.NewString(), uuid.NewString()
	var watched int
	stop := s.Watch(func(map[string]uint64) { watched++ })
	defer stop()
	boom := errors.New("boom")
	calls := 0
	err := s.Buckets(context.Background(), func(tx store.BucketTx) error {
		calls++
		if err := tx.Append(bucket, &v1.HistoryEntry{Position: 1, RecordId: rec, RecordType: "contact", Field: "notes"}); err != nil {
			return err
		}
		if err := tx.PutRecord(bucket, &v1.RecordState{RecordId: rec, RecordType: "contact", Position: 1}); err != nil {
			return err
		}
		if err := tx.SetHighWater("dev-a", 1); err != nil {
			return err
		}
		if err := tx.MarkLate(bucket, rec); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || calls != 1 {
		t.Fatalf("Buckets = %v after %d calls; want fn's error, once", err, calls)
	}
	ctx := context.Background()
	heads, _ := s.Heads(ctx, []string{bucket})
	hwm, _ := s.HighWater(ctx, "dev-a")
	recs, _ := s.Records(ctx, bucket, []string{rec})
	late, _ := s.LateRecords(ctx, bucket)
	if heads[bucket] != 0 || hwm != 0 || len(recs) != 0 || len(late) != 0 || watched != 0 {
		t.Fatalf("a failed transaction left head %d, high water %d, %d records, %d late, %d watch calls; want nothing",
			heads[bucket], hwm, len(recs), len(late), watched)
	}
}

func testTxBadIDs(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	good := uuid.NewString()
	long := make([]byte, 256)
	for i := range long {
		long[i] = 'd'
	}
	cases := []struct {
		name string
		fn   func(tx store.BucketTx) error
	}{
		{"empty device", func(tx store.BucketTx) error { _, err := tx.HighWater(""); return err }},
		{"long device", func(tx store.BucketTx) error { return tx.SetHighWater(string(long), 1) }},
		{"bucket not a uuid", func(tx store.BucketTx) error { _, err := tx.Head("lambeth"); return err }},
		{"upper-case record", func(tx store.BucketTx) error {
			_, err := tx.Record(good, "0190C1D2-0000-7000-8000-000000000000")
			return err
		}},
		{"record without a position", func(tx store.BucketTx) error {
			return tx.PutRecord(good, &v1.RecordState{RecordId: good, RecordType: "client"})
		}},
	}
	for _, c := range cases {
		if err := s.Buckets(context.Background(), c.fn); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}
