package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/store"
)

// An entry whose key was drawn before a seal, but whose transaction
// committed after it (a push slow to commit while others were sealed), is
// sealed by the next seal, though that seal reads the pending table from
// the floor the first one left (auditfloor.go), and a directory
// transaction after the push returned reads it in the chain.
func TestAuditSealTakesAnEntryCommittedAfterAnEarlierSeal(t *testing.T) {
	ctx := context.Background()
	s := auditStore(t, t.TempDir(), 1) // a first seal: the floor is known
	drawn, release, slow := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		slow <- s.Buckets(ctx, func(tx store.BucketTx) error {
			if err := tx.AppendAudit(&store.Audit{AreaID: "a1", UserID: "slow", Action: store.AuditPush}); err != nil {
				return err
			}
			close(drawn) // its pending key is drawn; the commit waits
			<-release
			return nil
		})
	}()
	<-drawn
	for i := range 3 { // later entries, committed and sealed meanwhile
		if err := s.Buckets(ctx, func(tx store.BucketTx) error {
			return tx.AppendAudit(&store.Audit{AreaID: "a1", UserID: fmt.Sprint("quick", i), Action: store.AuditPush})
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Directory(ctx, func(store.DirTx) error { return nil }); err != nil { // seals what is pending
		t.Fatal(err)
	}
	if rep := verifyAudit(t, s); rep.Pending != 0 || rep.Chains[0].Entries != 4 {
		t.Fatalf("before the slow push commits: %+v, want 4 entries sealed and none pending", rep)
	}
	close(release)
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
	var of []*store.Audit
	err := s.Directory(ctx, func(tx store.DirTx) error {
		var err error
		of, err = tx.AuditOfUser("a1", "slow", 0, 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(of) != 1 {
		t.Errorf("entries of the slow push in the chain = %d, want 1", len(of))
	}
	if rep := verifyAudit(t, s); rep.Pending != 0 || !rep.OK() || rep.Chains[0].Entries != 5 {
		t.Errorf("after: %+v, want 5 entries sealed, none pending, the chain whole", rep)
	}
}

// Entries of an area that first appears after the floor is known are
// sealed too, each area in its own chain.
func TestAuditSealTakesANewAreaAfterTheFloor(t *testing.T) {
	ctx := context.Background()
	s := auditStore(t, t.TempDir(), 2)
	for _, area := range []string{"a0", "a2", "a1"} {
		if err := s.Buckets(ctx, func(tx store.BucketTx) error {
			return tx.AppendAudit(&store.Audit{AreaID: area, UserID: "u", Action: store.AuditPush})
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Directory(ctx, func(store.DirTx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	rep := verifyAudit(t, s)
	got := map[string]int{}
	for _, c := range rep.Chains {
		got[c.Area] = int(c.Entries)
	}
	want := map[string]int{"a0": 1, "a1": 3, "a2": 1}
	if rep.Pending != 0 || !rep.OK() || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("chains = %v, pending %d, want %v and none pending", got, rep.Pending, want)
	}
}

// BenchmarkAuditSealAfterMany: the seal of one push's entry after many
// were sealed (their pending keys deleted, tombstones until compaction).
// Reading the pending table from its start walked them all: its cost grew
// with the entries sealed since the store opened.
func BenchmarkAuditSealAfterMany(b *testing.B) {
	for _, before := range []int{500, 5_000} {
		b.Run(fmt.Sprint(before), func(b *testing.B) {
			ctx := context.Background()
			s, err := store.Open(store.Options{Dir: b.TempDir(), Logger: zerolog.Nop(), GCInterval: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			push := func() {
				if err := s.Buckets(ctx, func(tx store.BucketTx) error {
					return tx.AppendAudit(&store.Audit{AreaID: "a1", UserID: "u", Action: store.AuditPush})
				}); err != nil {
					b.Fatal(err)
				}
			}
			seal := func() {
				if err := s.Directory(ctx, func(store.DirTx) error { return nil }); err != nil {
					b.Fatal(err)
				}
			}
			for range before {
				push()
				seal()
			}
			b.ResetTimer()
			for range b.N {
				push()
				seal()
			}
		})
	}
}
