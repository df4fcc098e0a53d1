package pgstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/pgstore/pgtest"
	"github.com/throughcare/throughcare/server/store"
)

// An audit entry appended in a bucket transaction commits with it and is
// sealed into its area's chain (the store's clock for a missing time, its
// own Seq ignored); it goes with a transaction that fails; an entry
// without an area is refused.
func TestAppendAuditCommitsWithTheTransaction(t *testing.T) {
	url := pgtest.Shared(t).Database(t, t.Name())
	at := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	s, err := Open(context.Background(), Options{URL: url, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	push := &store.Audit{AreaID: "area-1", UserID: "u", Action: store.AuditPush, Count: 3, Seq: 9}
	if err := s.Buckets(ctx, func(tx store.BucketTx) error { return tx.AppendAudit(push) }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := s.Buckets(ctx, func(tx store.BucketTx) error {
		if err := tx.AppendAudit(&store.Audit{AreaID: "area-1", Action: store.AuditPull}); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("Buckets = %v, want fn's error", err)
	}
	if err := s.Buckets(ctx, func(tx store.BucketTx) error { return tx.AppendAudit(&store.Audit{Action: store.AuditPush}) }); err == nil {
		t.Fatal("an entry without an area was appended")
	}
	chain := areaChain(t, s, "area-1")
	if len(chain) != 1 {
		t.Fatalf("the chain holds %d entries, want just the committed one", len(chain))
	}
	if e := chain[0]; e.Seq != 1 || e.Action != store.AuditPush || e.Count != 3 || !e.At.Equal(at) {
		t.Fatalf("entry = %+v, want the push, sealed as entry 1 (not the Seq it came with), at the store's clock", e)
	}
}
