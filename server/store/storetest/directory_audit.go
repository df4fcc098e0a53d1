package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/store"
)

// auditOf reads an area's entries by a user or about a client.
func (w *dirWorld) auditOf(byUser bool, area, id string, after uint64, limit int) []*store.Audit {
	w.t.Helper()
	var out []*store.Audit
	w.view(func(tx store.DirTx) error {
		var err error
		if byUser {
			out, err = tx.AuditOfUser(area, id, after, limit)
		} else {
			out, err = tx.AuditOfClient(area, id, after, limit)
		}
		return err
	})
	return out
}

// wantChain checks that entries are the whole chain from Seq 1, each
// linked to the one before by its hash.
func wantChain(t *testing.T, entries []*store.Audit) {
	t.Helper()
	var prev [32]byte
	for i, e := range entries {
		if e.Seq != uint64(i+1) {
			t.Fatalf("entry %d has Seq %d, want %d (a gap or a fork)", i, e.Seq, i+1)
		}
		if e.Prev != prev {
			t.Fatalf("entry %d's Prev = %x, want the hash of entry %d, %x", e.Seq, e.Prev, i, prev)
		}
		prev = e.Hash()
	}
}

func seqs(entries []*store.Audit) []uint64 {
	out := make([]uint64, len(entries))
	for i, e := range entries {
		out[i] = e.Seq
	}
	return out
}

func testAuditAppend(t *testing.T, w *dirWorld) {
	at := w.clk.Now()
	in := []*store.Audit{
		{AreaID: "a1", UserID: "u1", Role: "worker", Action: store.AuditSignIn, DeviceID: "d1", Address: "192.0.2.1", At: at},
		{AreaID: "a1", UserID: "u2", Role: "supervisor", Action: store.AuditViewTimeline, ClientIDs: []string{"c1"}, Count: 7, At: at.Add(time.Second)},
		{AreaID: "a2", UserID: "u9", Role: "admin", Action: store.AuditSignIn, At: at},
		{AreaID: "a1", UserID: "u1", Role: "worker", Action: store.AuditPush, ClientIDs: []string{"c1", "c2"}, Count: 3, DeviceID: "d1", At: at.Add(2 * time.Second)},
	}
	w.update(func(tx store.DirTx) error { return tx.AppendAudit(in[0]) })
	w.update(func(tx store.DirTx) error {
		for _, a := range in[1:] {
			if err := tx.AppendAudit(a); err != nil {
				return err
			}
		}
		return nil
	})
	u1 := w.auditOf(true, "a1", "u1", 0, 0)
	if got := seqs(u1); !slices.Equal(got, []uint64{1, 3}) {
		t.Fatalf("AuditOfUser(a1, u1) seqs = %v, want [1 3] (area a1's chain, in order)", got)
	}
	want := *in[3]
	want.Seq, want.Prev = 3, w.auditOf(true, "a1", "u2", 0, 0)[0].Hash()
	sameJSON(t, "AuditOfUser(a1, u1)[1]", u1[1], &want)
	if got := seqs(w.auditOf(false, "a1", "c1", 0, 0)); !slices.Equal(got, []uint64{2, 3}) {
		t.Errorf("AuditOfClient(a1, c1) seqs = %v, want [2 3]", got)
	}
	if got := seqs(w.auditOf(false, "a1", "c2", 0, 0)); !slices.Equal(got, []uint64{3}) {
		t.Errorf("AuditOfClient(a1, c2) seqs = %v, want [3]", got)
	}
	if got := seqs(w.auditOf(true, "a2", "u9", 0, 0)); !slices.Equal(got, []uint64{1}) {
		t.Errorf("AuditOfUser(a2, u9) seqs = %v, want [1]: each area has its own chain", got)
	}
	if got := w.auditOf(true, "a2", "u1", 0, 0); len(got) != 0 {
		t.Errorf("AuditOfUser(a2, u1) = %v, want none: areas do not mix", seqs(got))
	}
	// The three entries of a1 are its whole chain, linked.
	all := append(w.auditOf(true, "a1", "u1", 0, 0), w.auditOf(true, "a1", "u2", 0, 0)...)
	slices.SortFunc(all, func(a, b *store.Audit) int { return int(a.Seq) - int(b.Seq) })
	wantChain(t, all)
	// Paging: after and limit.
	if got := seqs(w.auditOf(true, "a1", "u1", 1, 0)); !slices.Equal(got, []uint64{3}) {
		t.Errorf("AuditOfUser(after 1) = %v, want [3]", got)
	}
	if got := seqs(w.auditOf(false, "a1", "c1", 0, 1)); !slices.Equal(got, []uint64{2}) {
		t.Errorf("AuditOfClient(limit 1) = %v, want [2]", got)
	}
}

func testAuditNoOverwrite(t *testing.T, w *dirWorld) {
	first := &store.Audit{AreaID: "a1", UserID: "u1", Action: store.AuditSignIn, At: w.clk.Now()}
	w.update(func(tx store.DirTx) error { return tx.AppendAudit(first) })
	stored := w.auditOf(true, "a1", "u1", 0, 0)[0]
	// An entry that claims the first one's place (its Seq and Prev) is
	// appended after it, never over it.
	forged := *stored
	forged.Action, forged.UserID = store.AuditExportContacts, "u1"
	w.update(func(tx store.DirTx) error { return tx.AppendAudit(&forged) })
	w.update(func(tx store.DirTx) error { return tx.AppendAudit(first) })
	got := w.auditOf(true, "a1", "u1", 0, 0)
	if len(got) != 3 {
		t.Fatalf("after three appends AuditOfUser holds %d entries, want 3", len(got))
	}
	sameJSON(t, "entry 1 after later appends", got[0], stored)
	if got[1].Seq != 2 || got[1].Action != store.AuditExportContacts {
		t.Errorf("the forged entry is %d %v, want appended as entry 2", got[1].Seq, got[1].Action)
	}
	wantChain(t, got)
}

func testAuditInvalid(t *testing.T, w *dirWorld) {
	for _, bad := range []*store.Audit{
		{UserID: "u1", Action: store.AuditSignIn},
		{AreaID: "a1", UserID: "u1"},
		{AreaID: "a1", UserID: "u1", Action: 999},
		{AreaID: "a1", UserID: "u\x001", Action: store.AuditSignIn},
	} {
		err := w.d.Directory(context.Background(), func(tx store.DirTx) error { return tx.AppendAudit(bad) })
		if err == nil {
			t.Errorf("AppendAudit(%+v) succeeded, want an error (area, known action, ids without 0 bytes)", bad)
		}
	}
	if got := w.auditOf(true, "a1", "u1", 0, 0); len(got) != 0 {
		t.Errorf("refused entries were stored: %v", seqs(got))
	}
	// A zero At takes the store's clock.
	w.update(func(tx store.DirTx) error {
		return tx.AppendAudit(&store.Audit{AreaID: "a1", UserID: "u1", Action: store.AuditSignIn})
	})
	if got := w.auditOf(true, "a1", "u1", 0, 0); len(got) != 1 || !got[0].At.Equal(w.clk.Now()) {
		t.Errorf("entry without At = %+v, want At = the store's clock %v", got, w.clk.Now())
	}
}

func testAuditConcurrent(t *testing.T, w *dirWorld) {
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				errs <- w.d.Directory(context.Background(), func(tx store.DirTx) error {
					return tx.AppendAudit(&store.Audit{AreaID: "a1", UserID: "u1", Action: store.AuditPush,
						ClientIDs: []string{fmt.Sprintf("c%d", g)}, Count: uint64(i)})
				})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent AppendAudit: %v", err)
		}
	}
	got := w.auditOf(true, "a1", "u1", 0, 0)
	if len(got) != writers*each {
		t.Fatalf("%d entries in the chain, want %d", len(got), writers*each)
	}
	wantChain(t, got)
	for g := range writers {
		c := w.auditOf(false, "a1", fmt.Sprintf("c%d", g), 0, 0)
		for i, e := range c {
			if e.Count != uint64(i) {
				t.Fatalf("client c%d's entries out of order: entry %d has Count %d, want %d", g, e.Seq, e.Count, i)
			}
		}
	}
}
