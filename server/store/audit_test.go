package store_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/store/storetest"
)

// auditStore opens a durable store in dir with n entries by u1 in area a1.
func auditStore(t *testing.T, dir string, n int) *store.DB {
	t.Helper()
	s := openAt(t, dir)
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for i := range n {
		err := s.Directory(context.Background(), func(tx store.DirTx) error {
			return tx.AppendAudit(&store.Audit{AreaID: "a1", UserID: "u1", Role: "admin", Action: store.AuditViewTimeline,
				ClientIDs: []string{"c1"}, Count: uint64(i), At: at.Add(time.Duration(i) * time.Second)})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func openAt(t *testing.T, dir string) *store.DB {
	t.Helper()
	s, err := store.Open(store.Options{Dir: dir, Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func verifyAudit(t *testing.T, s *store.DB) *store.AuditReport {
	t.Helper()
	rep, err := s.VerifyAudit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func hexOf(h [32]byte) string { return hex.EncodeToString(h[:]) }

func TestVerifyAuditFindsWhereTheChainBreaks(t *testing.T) {
	dir := t.TempDir()
	s := auditStore(t, dir, 5)
	rep := verifyAudit(t, s)
	if !rep.OK() || len(rep.Chains) != 1 || rep.Chains[0].Entries != 5 || rep.Pending != 0 {
		t.Fatalf("intact store: %+v, want one whole chain of 5", rep)
	}
	var all []*store.Audit
	s.DirectoryView(context.Background(), func(tx store.DirTx) error {
		all, _ = tx.AuditOfArea("a1", 0, 0)
		return nil
	})
	forged := all[2].Prev
	forged[0] ^= 1
	for name, tc := range map[string]struct {
		seq     uint64
		change  func(*store.Audit)
		at      uint64
		problem string
		want    string // the break's Found, if set
	}{
		"an entry's user changed":     {2, func(a *store.Audit) { a.UserID = "u2" }, 3, "previous-entry hash does not match entry 2", hexOf(all[1].Hash())},
		"an entry's hash link forged": {3, func(a *store.Audit) { a.Prev = forged }, 3, "previous-entry hash does not match entry 2", hexOf(forged)},
		"an entry removed":            {4, nil, 4, "entry missing", "entry 5 next"},
		"the last entry changed":      {5, func(a *store.Audit) { a.Count = 99 }, 5, "chain head does not match the last entry (5)", ""},
		"an entry's number changed":   {2, func(a *store.Audit) { a.Seq = 7 }, 2, "entry holds another sequence number", "7"},
	} {
		t.Run(name, func(t *testing.T) {
			c := openAt(t, storetest.CopyDir(t, dir))
			if err := c.RewriteAuditEntry("a1", tc.seq, tc.change); err != nil {
				t.Fatal(err)
			}
			rep := verifyAudit(t, c)
			b := rep.Chains[0].Break
			if rep.OK() || b == nil {
				t.Fatalf("tampered store verifies: %+v", rep)
			}
			if b.Seq != tc.at || !strings.HasPrefix(b.Problem, tc.problem) || (tc.want != "" && b.Found != tc.want) {
				t.Errorf("break = %s; want at entry %d, %q, found %s", b, tc.at, tc.problem, tc.want)
			}
		})
	}
	if rep := verifyAudit(t, s); !rep.OK() {
		t.Errorf("original store after tampering with copies: %s", rep.Chains[0].Break)
	}
}

// An entry committed with its operation but not sealed (a seal that
// failed, a crash between commit and seal) is sealed by the next one.
func TestPendingEntriesAreSealedNext(t *testing.T) {
	s := auditStore(t, t.TempDir(), 1)
	if err := s.AppendPendingAudit(&store.Audit{AreaID: "a1", UserID: "u9", Action: store.AuditSignIn}); err != nil {
		t.Fatal(err)
	}
	if rep := verifyAudit(t, s); rep.Pending != 1 || !rep.OK() {
		t.Fatalf("report = %+v, want 1 pending and the chain whole", rep)
	}
	err := s.Directory(context.Background(), func(tx store.DirTx) error {
		return tx.AppendAudit(&store.Audit{AreaID: "a1", UserID: "u1", Action: store.AuditSignIn})
	})
	if err != nil {
		t.Fatal(err)
	}
	rep := verifyAudit(t, s)
	if rep.Pending != 0 || !rep.OK() || rep.Chains[0].Entries != 3 {
		t.Fatalf("report = %+v, want 3 entries sealed", rep)
	}
}

func TestAuditEncodingRoundTripsAndRefusesJunk(t *testing.T) {
	a := &store.Audit{Seq: 9, Prev: [32]byte{1, 2, 3}, At: time.Date(2026, 3, 2, 9, 0, 0, 5, time.UTC), AreaID: "a", UserID: "u", Role: "admin",
		Action: store.AuditPush, DeviceID: "d", Address: "2001:db8::1", ClientIDs: []string{"c1", "c2"}, RecordID: "r", TeamID: "t", Count: 12,
		From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	b := a.Encode()
	got, err := store.DecodeAudit(b)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Encode()) != string(b) || got.Hash() != a.Hash() || !got.To.IsZero() || !got.From.Equal(a.From) {
		t.Errorf("round trip: %+v, want %+v", got, a)
	}
	for _, junk := range [][]byte{nil, []byte("tca1"), b[:len(b)-1], append(append([]byte{}, b...), 0), []byte(strings.Replace(string(b), "tca1", "tca2", 1))} {
		if _, err := store.DecodeAudit(junk); err == nil {
			t.Errorf("DecodeAudit(%x) succeeded", junk)
		}
	}
	for a := store.AuditSignIn; a.Valid(); a++ {
		if store.ParseAuditAction(a.String()) != a {
			t.Errorf("ParseAuditAction(%q) != %d", a, a)
		}
	}
}

// Pushes append their entries in their own bucket transactions and do not
// wait for the seal; concurrent ones still make one chain, which any
// directory transaction begun after they returned reads whole.
func TestConcurrentBucketAppendsMakeOneChain(t *testing.T) {
	s := openAt(t, t.TempDir())
	const writers, each = 8, 20
	errs := make(chan error, writers*each)
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				errs <- s.Buckets(context.Background(), func(tx store.BucketTx) error {
					return tx.AppendAudit(&store.Audit{AreaID: "a1", UserID: fmt.Sprintf("u%d", g), Action: store.AuditPush, Count: uint64(i)})
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var got []*store.Audit
	if err := s.DirectoryView(context.Background(), func(tx store.DirTx) error {
		var err error
		got, err = tx.AuditOfArea("a1", 0, 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != writers*each {
		t.Fatalf("%d entries read after the pushes returned, want %d", len(got), writers*each)
	}
	rep := verifyAudit(t, s)
	if !rep.OK() || rep.Pending != 0 || rep.Chains[0].Entries != writers*each {
		t.Fatalf("report = %+v, want one whole chain of %d", rep, writers*each)
	}
	last := map[string]int{}
	for _, a := range got {
		if int(a.Count) < last[a.UserID] {
			t.Fatalf("%s's entries out of order at entry %d", a.UserID, a.Seq)
		}
		last[a.UserID] = int(a.Count)
	}
}
