package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/servertest/fixture"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// PurgeStore is a store that purges clients for retention (what
// subject.Store asks of it beside the reads).
type PurgeStore interface {
	store.Store
	store.DirectoryStore
	// PurgeClient purges a client whose bucket is still at head (else
	// store.ErrChanged); a client not in the directory is
	// store.ErrNotFound. audit is written with the purge.
	PurgeClient(ctx context.Context, clientID string, head uint64, at time.Time, audit *store.Audit) error
	// FinishPurges completes interrupted purges and returns their ids.
	FinishPurges(ctx context.Context) ([]string, error)
}

// PurgeOpener opens an empty store.
type PurgeOpener func(t *testing.T) PurgeStore

// RunPurge runs the purge conformance suite against the stores open
// makes.
func RunPurge(t *testing.T, open PurgeOpener) {
	tests := []struct {
		name string
		fn   func(*testing.T, *PurgeWorld)
	}{
		{"purge_removes_client_bucket_and_assignments", testPurgeRemoves},
		{"purge_refused_when_bucket_moved", testPurgeChanged},
		{"purge_of_unknown_client_is_not_found", testPurgeNotFound},
		{"push_to_purged_bucket_refused", testPurgeThenPush},
		{"finish_purges_has_nothing_left", testFinishPurges},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, NewPurgeWorld(t, open(t), 3, 1))
		})
	}
}

// The words planted in the notes of the purged (Gone) and the kept
// client's contacts, for a store's own tests that look for their bytes.
const (
	PlantedGone = "PLANTED-GONE"
	PlantedKept = "PLANTED-KEPT"
)

// PurgeWorld is a store with two clients of area A, each with a client
// record and contacts whose notes carry the client's planted word; Gone
// has Worker assigned.
type PurgeWorld struct {
	S                  PurgeStore
	W                  *fixture.World
	Dev                *sample.Device
	Gone, Kept, Worker string
	keptContacts       int
}

// NewPurgeWorld seeds s with the purge world: Gone with gone contacts,
// Kept with kept.
func NewPurgeWorld(t *testing.T, s PurgeStore, gone, kept int) *PurgeWorld {
	t.Helper()
	p := &PurgeWorld{S: s, W: fixture.NewWorld(t, s), Dev: newDevice("u", 7), keptContacts: kept}
	p.Gone, p.Kept = p.addClient(t, PlantedGone, gone), p.addClient(t, PlantedKept, kept)
	p.Worker = fixture.NewID()
	p.W.Directory(func(tx store.DirTx) error {
		return tx.PutAssignment(&store.Assignment{ClientID: p.Gone, UserID: p.Worker, From: epoch})
	})
	return p
}

func (p *PurgeWorld) addClient(t *testing.T, word string, contacts int) string {
	t.Helper()
	id, chs := p.Dev.NewClient("Lambeth")
	for range contacts {
		contact, c := p.Dev.NewContact(id, epoch)
		chs = append(chs, c...)
		chs = append(chs, p.Dev.Change("contact", contact, id, "notes", sample.Str(word), nil))
	}
	p.W.Directory(func(tx store.DirTx) error {
		return tx.PutClient(&store.Client{ID: id, AreaID: p.W.AreaA, TeamID: p.W.TeamA1, CreatedAt: epoch})
	})
	if err := p.Push(chs); err != nil {
		t.Fatal(err)
	}
	return id
}

// Push applies chs as the world's device.
func (p *PurgeWorld) Push(chs []*v1.Change) error {
	_, err := syncengine.Apply(context.Background(), p.S, &syncengine.Batch{UserID: "u", DeviceID: p.Dev.ID, ReceivedAt: epoch, Changes: chs})
	return err
}

// Head is client's bucket head.
func (p *PurgeWorld) Head(t *testing.T, client string) uint64 {
	t.Helper()
	h, err := p.S.Heads(context.Background(), []string{client})
	if err != nil {
		t.Fatal(err)
	}
	return h[client]
}

// Audit is the retention purge's audit entry about Gone.
func (p *PurgeWorld) Audit() *store.Audit {
	return &store.Audit{AreaID: p.W.AreaA, Action: store.AuditRetentionPurge, ClientIDs: []string{p.Gone}}
}

// records counts a bucket's current records and log entries.
func (p *PurgeWorld) records(t *testing.T, bucket string) (states, entries int) {
	t.Helper()
	ctx := context.Background()
	if err := p.S.ScanRecords(ctx, []string{bucket}, func(string, []byte) error { states++; return nil }); err != nil {
		t.Fatal(err)
	}
	log, err := p.S.Log(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	return states, len(log)
}

// A purge leaves a tombstone (Done) and nothing else of the client: no
// directory entry, index or assignment, no log, state or head; the other
// client is untouched, and the audit entry is written with it.
func testPurgeRemoves(t *testing.T, p *PurgeWorld) {
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if err := p.S.PurgeClient(context.Background(), p.Gone, p.Head(t, p.Gone), at, p.Audit()); err != nil {
		t.Fatal(err)
	}
	p.CheckPurged(t, at)
}

// CheckPurged checks that Gone was purged whole at at (what
// testPurgeRemoves asks) and Kept is untouched.
func (p *PurgeWorld) CheckPurged(t *testing.T, at time.Time) {
	t.Helper()
	if st, n := p.records(t, p.Gone); st != 0 || n != 0 {
		t.Errorf("purged bucket: %d states, %d log entries; want none", st, n)
	}
	if h := p.Head(t, p.Gone); h != 0 {
		t.Errorf("purged bucket's head %d, want 0", h)
	}
	if st, n := p.records(t, p.Kept); st != 1+p.keptContacts || n == 0 {
		t.Errorf("other bucket: %d states, %d log entries; want %d and its log", st, n, 1+p.keptContacts)
	}
	if err := p.S.DirectoryView(context.Background(), func(tx store.DirTx) error {
		p.checkPurgedDirectory(t, tx, at)
		as, err := tx.AuditOfClient(p.W.AreaA, p.Gone, 0, 0)
		if err == nil && (len(as) != 1 || as[0].Action != store.AuditRetentionPurge) {
			t.Errorf("audit about the purged client: %+v, want the purge's entry", as)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func (p *PurgeWorld) checkPurgedDirectory(t *testing.T, tx store.DirTx, at time.Time) {
	t.Helper()
	if _, err := tx.Client(p.Gone); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Client(purged) = %v, want ErrNotFound", err)
	}
	if ids := tx.ClientsOfArea(p.W.AreaA); len(ids) != 1 || ids[0] != p.Kept {
		t.Errorf("ClientsOfArea = %v, want only the kept client", ids)
	}
	if ids := tx.ClientsOfTeam(p.W.TeamA1); len(ids) != 1 || ids[0] != p.Kept {
		t.Errorf("ClientsOfTeam = %v, want only the kept client", ids)
	}
	if as, err := tx.AssignmentsOfClient(p.Gone); err != nil || len(as) != 0 {
		t.Errorf("AssignmentsOfClient(purged) = %v, %v; want none", as, err)
	}
	if as, err := tx.AssignmentsOfUser(p.Worker); err != nil || len(as) != 0 {
		t.Errorf("AssignmentsOfUser(worker) = %v, %v; want none", as, err)
	}
	tomb, err := tx.PurgedClient(p.Gone)
	if err != nil {
		t.Errorf("PurgedClient(purged) = %v, want its tombstone", err)
	} else if want := (store.PurgedClient{ID: p.Gone, AreaID: p.W.AreaA, PurgedAt: at, Done: true}); *tomb != want {
		t.Errorf("tombstone %+v, want %+v", *tomb, want)
	}
	if _, err := tx.PurgedClient(p.Kept); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PurgedClient(kept) = %v, want ErrNotFound", err)
	}
}

// A purge decided on a head the bucket has moved past does nothing.
func testPurgeChanged(t *testing.T, p *PurgeWorld) {
	ctx := context.Background()
	head := p.Head(t, p.Gone)
	_, chs := p.Dev.NewContact(p.Gone, epoch)
	if err := p.Push(chs); err != nil {
		t.Fatal(err)
	}
	if err := p.S.PurgeClient(ctx, p.Gone, head, epoch, p.Audit()); !errors.Is(err, store.ErrChanged) {
		t.Fatalf("PurgeClient on a stale head = %v, want ErrChanged", err)
	}
	if st, _ := p.records(t, p.Gone); st != 5 {
		t.Errorf("after a refused purge: %d states, want 5", st)
	}
	err := p.S.DirectoryView(ctx, func(tx store.DirTx) error {
		if _, err := tx.PurgedClient(p.Gone); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a refused purge left a tombstone: %v", err)
		}
		if as, err := tx.AuditOfClient(p.W.AreaA, p.Gone, 0, 0); err != nil || len(as) != 0 {
			t.Errorf("a refused purge's audit: %v, %v; want none", as, err)
		}
		_, err := tx.Client(p.Gone)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A client the directory does not hold (never added, or already purged)
// is ErrNotFound.
func testPurgeNotFound(t *testing.T, p *PurgeWorld) {
	ctx := context.Background()
	if err := p.S.PurgeClient(ctx, fixture.NewID(), 0, epoch, p.Audit()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PurgeClient(unknown) = %v, want ErrNotFound", err)
	}
	if err := p.S.PurgeClient(ctx, p.Gone, p.Head(t, p.Gone), epoch, p.Audit()); err != nil {
		t.Fatal(err)
	}
	if err := p.S.PurgeClient(ctx, p.Gone, 0, epoch, p.Audit()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PurgeClient(purged) = %v, want ErrNotFound", err)
	}
}

// A change to a purged client's bucket is refused (ErrPurged) and
// writes nothing.
func testPurgeThenPush(t *testing.T, p *PurgeWorld) {
	ctx := context.Background()
	if err := p.S.PurgeClient(ctx, p.Gone, p.Head(t, p.Gone), epoch, p.Audit()); err != nil {
		t.Fatal(err)
	}
	_, chs := p.Dev.NewContact(p.Gone, epoch)
	if err := p.Push(chs); !errors.Is(err, store.ErrPurged) {
		t.Fatalf("push to a purged bucket = %v, want ErrPurged", err)
	}
	if st, n := p.records(t, p.Gone); st != 0 || n != 0 {
		t.Errorf("after a refused push: %d states, %d log entries; want none", st, n)
	}
}

// With no purge interrupted, FinishPurges has nothing to do, before a
// purge and after.
func testFinishPurges(t *testing.T, p *PurgeWorld) {
	ctx := context.Background()
	if open, err := p.S.FinishPurges(ctx); err != nil || len(open) != 0 {
		t.Fatalf("FinishPurges on a store without purges = %v, %v; want nothing", open, err)
	}
	if err := p.S.PurgeClient(ctx, p.Gone, p.Head(t, p.Gone), epoch, p.Audit()); err != nil {
		t.Fatal(err)
	}
	if open, err := p.S.FinishPurges(ctx); err != nil || len(open) != 0 {
		t.Fatalf("FinishPurges after a whole purge = %v, %v; want nothing", open, err)
	}
}
