package pgstore

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/pgstore/pgtest"
	"github.com/throughcare/throughcare/server/store"
)

// areaChain reads an area's whole chain and checks it is numbered 1, 2, …
// with each entry holding the hash of the one before.
func areaChain(t *testing.T, s *DB, area string) []*store.Audit {
	t.Helper()
	var got []*store.Audit
	if err := s.DirectoryView(context.Background(), func(tx store.DirTx) (err error) {
		got, err = tx.AuditOfArea(area, 0, 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var prev [32]byte
	for i, e := range got {
		if e.Seq != uint64(i+1) || e.Prev != prev {
			t.Fatalf("entry %d: Seq %d Prev %x, want Seq %d Prev %x (a fork or a gap)", i, e.Seq, e.Prev, i+1, prev)
		}
		prev = e.Hash()
	}
	return got
}

// Two servers on one database append to one area's chain at once: their
// sealers take turns on the head row, so the chain is one, whole.
func TestTwoServersMakeOneChain(t *testing.T) {
	url := pgtest.Shared(t).Database(t, t.Name())
	servers := []*DB{open(t, url), open(t, url)}
	const writers, each = 4, 20
	var wg sync.WaitGroup
	errs := make(chan error, len(servers)*writers*each)
	for si, s := range servers {
		for g := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					errs <- s.Directory(context.Background(), func(tx store.DirTx) error {
						return tx.AppendAudit(&store.Audit{AreaID: "a1", UserID: fmt.Sprintf("u%d-%d", si, g),
							Action: store.AuditSignIn, Count: uint64(i)})
					})
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range servers {
		if got := len(areaChain(t, s, "a1")); got != len(servers)*writers*each {
			t.Fatalf("the chain holds %d entries, want %d", got, len(servers)*writers*each)
		}
		if n := s.audit.failed.Load(); n != 0 {
			t.Errorf("server %d: %d seals failed, want none (sealers must take turns)", i, n)
		}
	}
	var pending int
	if err := servers[0].pool.QueryRow(context.Background(), "SELECT count(*) FROM audit_pending").Scan(&pending); err != nil {
		t.Fatal(err)
	}
	if pending != 0 {
		t.Errorf("%d entries left pending, want none", pending)
	}
}

// The entries pushes append are sealed into their area's chain: a read of
// the trail after the push returned finds them, after the directory's own
// entries, in order.
func TestPushAuditIsSealed(t *testing.T) {
	url := pgtest.Shared(t).Database(t, t.Name())
	at := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	s, err := Open(context.Background(), Options{URL: url, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Directory(ctx, func(tx store.DirTx) error {
		return tx.AppendAudit(&store.Audit{AreaID: "a1", UserID: "u1", Action: store.AuditSignIn})
	}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := s.Buckets(ctx, func(tx store.BucketTx) error {
			return tx.AppendAudit(&store.Audit{AreaID: "a1", UserID: "u1", Action: store.AuditPush,
				ClientIDs: []string{"c1"}, Count: uint64(i)})
		}); err != nil {
			t.Fatal(err)
		}
	}
	chain := areaChain(t, s, "a1")
	if len(chain) != 4 {
		t.Fatalf("the chain holds %d entries, want the sign-in and 3 pushes", len(chain))
	}
	for i, e := range chain[1:] {
		if e.Action != store.AuditPush || e.Count != uint64(i) || !e.At.Equal(at) {
			t.Errorf("entry %d = %v count %d at %v, want push %d at the store's clock", e.Seq, e.Action, e.Count, e.At, i)
		}
	}
	var byClient []*store.Audit
	if err := s.DirectoryView(ctx, func(tx store.DirTx) (err error) {
		byClient, err = tx.AuditOfClient("a1", "c1", 0, 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(byClient) != 3 {
		t.Errorf("AuditOfClient(c1) holds %d entries, want the 3 pushes", len(byClient))
	}
}

// Entries a server left pending (it stopped before sealing them) are
// sealed by the next server to open the database.
func TestPendingSealedOnOpen(t *testing.T) {
	url := pgtest.Shared(t).Database(t, t.Name())
	s := open(t, url)
	e, err := store.PendingAudit(&store.Audit{AreaID: "a1", UserID: "u1", Action: store.AuditPush}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(context.Background(), "INSERT INTO audit_pending (id, area, entry) VALUES (gen_random_uuid(), $1, $2)",
		[]byte("a1"), e.Encode()); err != nil {
		t.Fatal(err)
	}
	if got := len(areaChain(t, open(t, url), "a1")); got != 1 {
		t.Fatalf("after a reopen the chain holds %d entries, want the one left pending", got)
	}
}
