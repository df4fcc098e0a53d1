package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/servertest/fixture"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/store/storetest"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// purgeWorld is a store with two clients of area A, each with a client
// record and contacts whose notes carry a word planted for the client.
type purgeWorld struct {
	s          *store.DB
	w          *fixture.World
	dev        *sample.Device
	gone, kept string
}

func newPurgeWorld(t *testing.T, contacts int) *purgeWorld {
	t.Helper()
	s, err := store.Open(store.Options{Dir: t.TempDir(), Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	p := &purgeWorld{s: s, w: fixture.NewWorld(t, s), dev: sample.NewDevice("u", time.Now, 7)}
	p.gone = p.addClient(t, "PLANTED-GONE", contacts)
	p.kept = p.addClient(t, "PLANTED-KEPT", contacts)
	worker := fixture.NewID()
	p.w.Directory(func(tx store.DirTx) error {
		return tx.PutAssignment(&store.Assignment{ClientID: p.gone, UserID: worker, From: time.Now()})
	})
	return p
}

func (p *purgeWorld) addClient(t *testing.T, word string, contacts int) string {
	t.Helper()
	id, chs := p.dev.NewClient("Lambeth")
	for range contacts {
		contact, c := p.dev.NewContact(id, time.Now())
		chs = append(chs, c...)
		chs = append(chs, p.dev.Change("contact", contact, id, "notes", sample.Str(word), nil))
	}
	p.w.Directory(func(tx store.DirTx) error {
		return tx.PutClient(&store.Client{ID: id, AreaID: p.w.AreaA, TeamID: p.w.TeamA1, CreatedAt: time.Now()})
	})
	if err := p.push(t, chs); err != nil {
		t.Fatal(err)
	}
	return id
}

func (p *purgeWorld) push(t *testing.T, chs []*v1.Change) error {
	t.Helper()
	_, err := syncengine.Apply(context.Background(), p.s, &syncengine.Batch{UserID: "u", DeviceID: p.dev.ID, ReceivedAt: time.Now(), Changes: chs})
	return err
}

func (p *purgeWorld) head(t *testing.T, client string) uint64 {
	t.Helper()
	h, err := p.s.Heads(context.Background(), []string{client})
	if err != nil {
		t.Fatal(err)
	}
	return h[client]
}

func (p *purgeWorld) contains(t *testing.T, word string) bool {
	t.Helper()
	found, err := p.s.Contains([]byte(word))
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func (p *purgeWorld) audit() *store.Audit {
	return &store.Audit{AreaID: p.w.AreaA, Action: store.AuditRetentionPurge, ClientIDs: []string{p.gone}}
}

// A purge leaves a tombstone and nothing else of the client: no
// directory entry, index or assignment, no log, state or head, and no byte
// of their notes; the other client is untouched, and the audit entry is
// written with it.
func TestPurgeClientRemovesEverything(t *testing.T) {
	ctx := context.Background()
	p := newPurgeWorld(t, 3)
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	a := p.audit()
	if err := p.s.PurgeClient(ctx, p.gone, p.head(t, p.gone), at, a); err != nil {
		t.Fatal(err)
	}
	p.checkPurged(t, at)
	if err := p.s.DirectoryView(ctx, func(tx store.DirTx) error {
		as, err := tx.AuditOfClient(p.w.AreaA, p.gone, 0, 0)
		if err == nil && (len(as) != 1 || as[0].Action != store.AuditRetentionPurge) {
			t.Errorf("audit about the purged client: %+v, want the purge's entry", as)
		}
		return err
	}); err != nil {
		t.Fatalf("the purge's audit entry: %v", err)
	}
}

func (p *purgeWorld) checkPurged(t *testing.T, at time.Time) {
	t.Helper()
	ctx := context.Background()
	if p.contains(t, "PLANTED-GONE") {
		t.Fatal("the purged client's notes are still in the store")
	}
	if !p.contains(t, "PLANTED-KEPT") {
		t.Fatal("the other client's notes are gone")
	}
	log, err := p.s.Log(ctx, p.gone)
	if err != nil || len(log) != 0 {
		t.Fatalf("Log of the purged bucket: %d entries, %v; want none", len(log), err)
	}
	n := 0
	if err := p.s.ScanRecords(ctx, []string{p.gone}, func(string, []byte) error { n++; return nil }); err != nil || n != 0 {
		t.Fatalf("ScanRecords of the purged bucket: %d, %v", n, err)
	}
	if h := p.head(t, p.gone); h != 0 {
		t.Fatalf("purged bucket's head %d, want 0", h)
	}
	if kept, _ := p.s.Log(ctx, p.kept); len(kept) == 0 {
		t.Fatal("the other client's log is gone")
	}
	err = p.s.DirectoryView(ctx, func(tx store.DirTx) error {
		if _, err := tx.Client(p.gone); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Client(purged) = %v, want ErrNotFound", err)
		}
		if ids := tx.ClientsOfArea(p.w.AreaA); len(ids) != 1 || ids[0] != p.kept {
			t.Errorf("ClientsOfArea = %v, want only the kept client", ids)
		}
		if ids := tx.ClientsOfTeam(p.w.TeamA1); len(ids) != 1 || ids[0] != p.kept {
			t.Errorf("ClientsOfTeam = %v, want only the kept client", ids)
		}
		if as, err := tx.AssignmentsOfClient(p.gone); err != nil || len(as) != 0 {
			t.Errorf("AssignmentsOfClient(purged) = %v, %v", as, err)
		}
		tomb, err := tx.PurgedClient(p.gone)
		if err != nil {
			return err
		}
		if want := (store.PurgedClient{ID: p.gone, AreaID: p.w.AreaA, PurgedAt: at, Done: true}); *tomb != want {
			t.Errorf("tombstone %+v, want %+v", *tomb, want)
		}
		if _, err := tx.PurgedClient(p.kept); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("PurgedClient(kept) = %v, want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A purge interrupted after its first transaction (a crash) already hides
// the client and refuses changes to its bucket; FinishPurges deletes the
// rest, batch by batch.
func TestPurgeInterruptedFinishesLater(t *testing.T) {
	ctx := context.Background()
	store.SetPurgeBatch(t, 4)
	p := newPurgeWorld(t, 5)
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if err := p.s.PurgeStartOnly(ctx, p.gone, p.head(t, p.gone), at, p.audit()); err != nil {
		t.Fatal(err)
	}
	if !p.contains(t, "PLANTED-GONE") {
		t.Fatal("test setup: the first transaction deleted the whole bucket; want a bucket larger than a batch")
	}
	err := p.s.DirectoryView(ctx, func(tx store.DirTx) error {
		if _, err := tx.Client(p.gone); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Client during an interrupted purge = %v, want ErrNotFound", err)
		}
		tomb, err := tx.PurgedClient(p.gone)
		if err == nil && tomb.Done {
			t.Error("tombstone Done before the bucket is deleted")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	_, chs := p.dev.NewContact(p.gone, time.Now())
	if err := p.push(t, chs); !errors.Is(err, store.ErrPurged) {
		t.Fatalf("push to a purged bucket = %v, want ErrPurged", err)
	}

	open, err := p.s.FinishPurges(ctx)
	if err != nil || len(open) != 1 || open[0] != p.gone {
		t.Fatalf("FinishPurges = %v, %v; want the interrupted client", open, err)
	}
	p.checkPurged(t, at)
	if open, err := p.s.FinishPurges(ctx); err != nil || len(open) != 0 {
		t.Fatalf("second FinishPurges = %v, %v; want nothing to do", open, err)
	}
}

// A purge decided on a head the bucket has moved past does nothing: the
// client changed (reopened, a late contact) since it was checked.
func TestPurgeRefusedWhenBucketMoved(t *testing.T) {
	ctx := context.Background()
	p := newPurgeWorld(t, 1)
	head := p.head(t, p.gone)
	_, chs := p.dev.NewContact(p.gone, time.Now())
	if err := p.push(t, chs); err != nil {
		t.Fatal(err)
	}
	if err := p.s.PurgeClient(ctx, p.gone, head, time.Now(), p.audit()); !errors.Is(err, store.ErrChanged) {
		t.Fatalf("PurgeClient on a stale head = %v, want ErrChanged", err)
	}
	if !p.contains(t, "PLANTED-GONE") {
		t.Fatal("a refused purge deleted data")
	}
	err := p.s.DirectoryView(ctx, func(tx store.DirTx) error {
		if _, err := tx.PurgedClient(p.gone); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("refused purge left a tombstone: %v", err)
		}
		_, err := tx.Client(p.gone)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestBadgerPurgeConformance(t *testing.T) {
	storetest.RunPurge(t, func(t *testing.T) storetest.PurgeStore {
		return openBadger(t, t.TempDir()).(*store.DB)
	})
}
