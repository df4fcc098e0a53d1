package syncengine_test

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// readAhead is a store whose transactions read records ahead
// (ReadRecords, as the PostgreSQL store's do), logging each call; a record
// read ahead is then answered from what was read.
type readAhead struct {
	store.Store
	calls [][]string // bucket, then its records
	plain int        // Record calls not answered from a read-ahead
}

func (r *readAhead) Buckets(ctx context.Context, fn func(tx store.BucketTx) error) error {
	return r.Store.Buckets(ctx, func(tx store.BucketTx) error {
		return fn(&readAheadTx{BucketTx: tx, r: r, read: map[[2]string]*v1.RecordState{}})
	})
}

type readAheadTx struct {
	store.BucketTx
	r    *readAhead
	read map[[2]string]*v1.RecordState
}

func (t *readAheadTx) ReadRecords(bucket string, records []string) error {
	t.r.calls = append(t.r.calls, append([]string{bucket}, records...))
	for _, rec := range records {
		st, err := t.BucketTx.Record(bucket, rec)
		if err != nil {
			return err
		}
		t.read[[2]string{bucket, rec}] = st
	}
	return nil
}

func (t *readAheadTx) Record(bucket, record string) (*v1.RecordState, error) {
	if st, ok := t.read[[2]string{bucket, record}]; ok {
		return st, nil
	}
	t.r.plain++
	return t.BucketTx.Record(bucket, record)
}

// A push asks a store that can read records ahead for the records of its
// new changes once per bucket, in bucket order, each record once, and
// reads none of them one at a time after that; a resent change's record
// is not read. What is applied is what the store without it applies.
func TestPushReadsItsRecordsAheadPerBucket(t *testing.T) {
	ctx := context.Background()
	dev := sample.NewDevice("worker", time.Now, 7)
	var chs []*v1.Change
	var clients []string
	for range 2 {
		c, cc := dev.NewClient("Leeds")
		clients = append(clients, c)
		chs = append(chs, cc...)
	}
	first := len(chs)
	for i := range 6 {
		_, cc := dev.NewContact(clients[i%2], time.Now())
		chs = append(chs, cc...)
	}
	for i, ch := range chs {
		ch.DeviceSeq = uint64(i + 1)
	}
	push := func(s store.Store, changes []*v1.Change) *syncengine.PushResult {
		t.Helper()
		res, err := syncengine.Apply(ctx, s, &syncengine.Batch{UserID: dev.UserID, DeviceID: dev.ID, ReceivedAt: time.Now(), Changes: changes})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	plainStore := openStore(t, t.TempDir())
	defer plainStore.Close()
	aheadStore := openStore(t, t.TempDir())
	defer aheadStore.Close()
	ra := &readAhead{Store: aheadStore}

	// The clients first; then the contacts, resending the clients' changes.
	for _, batch := range [][]*v1.Change{chs[:first], chs} {
		want, got := push(plainStore, batch), push(ra, batch)
		if !slices.EqualFunc(got.Results, want.Results, func(a, b syncengine.Result) bool { return a.Verdict == b.Verdict }) {
			t.Fatalf("verdicts %v with read-ahead, want %v", got.Results, want.Results)
		}
	}
	var wantCalls [][]string
	for _, batch := range [][]*v1.Change{chs[:first], chs[first:]} {
		byBucket := map[string][]string{}
		for _, ch := range batch {
			byBucket[ch.GetClientId()] = append(byBucket[ch.GetClientId()], ch.GetRecordId())
		}
		for _, b := range slices.Sorted(maps.Keys(byBucket)) {
			wantCalls = append(wantCalls, append([]string{b}, slices.Compact(slices.Sorted(slices.Values(byBucket[b])))...))
		}
	}
	if !slices.EqualFunc(ra.calls, wantCalls, slices.Equal[[]string]) {
		t.Errorf("read ahead %v, want %v", ra.calls, wantCalls)
	}
	if ra.plain != 0 {
		t.Errorf("%d records read one at a time after the read-ahead, want 0", ra.plain)
	}
	for _, c := range clients {
		got, err := aheadStore.Heads(ctx, []string{c})
		want, err2 := plainStore.Heads(ctx, []string{c})
		if err != nil || err2 != nil || got[c] != want[c] {
			t.Errorf("head of %s: %d (%v) with read-ahead, want %d (%v)", c, got[c], err, want[c], err2)
		}
	}
}
