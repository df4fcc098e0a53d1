package pgstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/throughcare/throughcare/server/pgstore/pgtest"
	"github.com/throughcare/throughcare/server/store"
)

// An audit entry appended in a bucket transaction commits with it, pending
// (Seq and Prev zero, the store's clock for a missing time), and goes with
// a transaction that fails; an entry without an area is refused.
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
	rows, err := s.pool.Query(ctx, "SELECT area, entry FROM audit_pending")
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ area, entry []byte }
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		return x, r.Scan(&x.area, &x.entry)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || string(got[0].area) != "area-1" {
		t.Fatalf("pending entries = %d, want just the committed one in area-1", len(got))
	}
	e, err := store.DecodeAudit(got[0].entry)
	if err != nil {
		t.Fatal(err)
	}
	if e.Seq != 0 || e.Action != store.AuditPush || e.Count != 3 || !e.At.Equal(at) {
		t.Fatalf("pending entry = %+v, want the push, unsealed, at the store's clock", e)
	}
}
