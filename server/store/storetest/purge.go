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
		fn   func(*testing.T, *purgeWorld)
	}{
		{"purge_removes_client_bucket_and_assignments", testPurgeRemoves},
		{"purge_refused_when_bucket_moved", testPurgeChanged},
		{"purge_of_unknown_client_is_not_found", testPurgeNotFound},
		{"push_to_purged_bucket_refused", testPurgeThenPush},
		{"finish_purges_has_nothing_left", testFinishPurges},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			p := &purgeWorld{s: s, w: fixture.NewWorld(t, s), dev: newDevice("u", 7)}
			p.gone, p.kept = p.addClient(t, 3), p.addClient(t, 1)
			p.worker = fixture.NewID()
			p.w.Directory(func(tx store.DirTx) error {
				return tx.PutAssignment(&store.Assignment{ClientID: p.gone, UserID: p.worker, From: epoch})
			})
			tt.fn(t, p)
		})
	}
}

// purgeWorld is a store with two clients of area A, each with a client
// record and contacts; gone has a worker assigned.
type purgeWorld struct {
	s                  PurgeStore
	w                  *fixture.World
	dev                *sample.Device
	gone, kept, worker string
}

func (p *purgeWorld) addClient(t *testing.T, contacts int) string {
	t.Helper()
	id, chs := p.dev.NewClient("Lambeth")
	for range contacts {
		_, c := p.dev.NewContact(id, epoch)
		chs = append(chs, c...)
	}
	p.w.Directory(func(tx store.DirTx) error {
		return tx.PutClient(&store.Client{ID: id, AreaID: p.w.AreaA, TeamID: p.w.TeamA1, CreatedAt: epoch})
	})
	if err := p.push(chs); err != nil {
		t.Fatal(err)
	}
	return id
}

func (p *purgeWorld) push(chs []*v1.Change) error {
	_, err := syncengine.Apply(context.Background(), p.s, &syncengine.Batch{UserID: "u", DeviceID: p.dev.ID, ReceivedAt: epoch, Changes: chs})
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

func (p *purgeWorld) audit() *store.Audit {
	return &store.Audit{AreaID: p.w.AreaA, Action: store.AuditRetentionPurge, ClientIDs: []string{p.gone}}
}

// records counts a bucket's current records and log entries.
func (p *purgeWorld) records(t *testing.T, bucket string) (states, entries int) {
	t.Helper()
	ctx := context.Background()
	if err := p.s.ScanRecords(ctx, []string{bucket}, func(string, []byte) error { states++; return nil }); err != nil {
		t.Fatal(err)
	}
	log, err := p.s.Log(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	return states, len(log)
}

// A purge leaves a tombstone (Done) and nothing else of the client: no
// directory entry, index or assignment, no log, state or head; the other
// client is untouched, and the audit entry is written with it.
func testPurgeRemoves(t *testing.T, p *purgeWorld) {
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if err := p.s.PurgeClient(ctx, p.gone, p.head(t, p.gone), at, p.audit()); err != nil {
		t.Fatal(err)
	}
	if st, n := p.records(t, p.gone); st != 0 || n != 0 {
		t.Errorf("purged bucket: %d states, %d log entries; want none", st, n)
	}
	if h := p.head(t, p.gone); h != 0 {
		t.Errorf("purged bucket's head %d, want 0", h)
	}
	if st, n := p.records(t, p.kept); st != 2 || n == 0 {
		t.Errorf("other bucket: %d states, %d log entries; want 2 and its log", st, n)
	}
	err := p.s.DirectoryView(ctx, func(tx store.DirTx) error {
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
			t.Errorf("AssignmentsOfClient(purged) = %v, %v; want none", as, err)
		}
		if as, err := tx.AssignmentsOfUser(p.worker); err != nil || len(as) != 0 {
			t.Errorf("AssignmentsOfUser(worker) = %v, %v; want none", as, err)
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
		as, err := tx.AuditOfClient(p.w.AreaA, p.gone, 0, 0)
		if err == nil && (len(as) != 1 || as[0].Action != store.AuditRetentionPurge) {
			t.Errorf("audit about the purged client: %+v, want the purge's entry", as)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A purge decided on a head the bucket has moved past does nothing.
func testPurgeChanged(t *testing.T, p *purgeWorld) {
	ctx := context.Background()
	head := p.head(t, p.gone)
	_, chs := p.dev.NewContact(p.gone, epoch)
	if err := p.push(chs); err != nil {
		t.Fatal(err)
	}
	if err := p.s.PurgeClient(ctx, p.gone, head, epoch, p.audit()); !errors.Is(err, store.ErrChanged) {
		t.Fatalf("PurgeClient on a stale head = %v, want ErrChanged", err)
	}
	if st, _ := p.records(t, p.gone); st != 5 {
		t.Errorf("after a refused purge: %d states, want 5", st)
	}
	err := p.s.DirectoryView(ctx, func(tx store.DirTx) error {
		if _, err := tx.PurgedClient(p.gone); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a refused purge left a tombstone: %v", err)
		}
		if as, err := tx.AuditOfClient(p.w.AreaA, p.gone, 0, 0); err != nil || len(as) != 0 {
			t.Errorf("a refused purge's audit: %v, %v; want none", as, err)
		}
		_, err := tx.Client(p.gone)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A client the directory does not hold (never added, or already purged)
// is ErrNotFound.
func testPurgeNotFound(t *testing.T, p *purgeWorld) {
	ctx := context.Background()
	if err := p.s.PurgeClient(ctx, fixture.NewID(), 0, epoch, p.audit()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PurgeClient(unknown) = %v, want ErrNotFound", err)
	}
	if err := p.s.PurgeClient(ctx, p.gone, p.head(t, p.gone), epoch, p.audit()); err != nil {
		t.Fatal(err)
	}
	if err := p.s.PurgeClient(ctx, p.gone, 0, epoch, p.audit()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PurgeClient(purged) = %v, want ErrNotFound", err)
	}
}

// A change to a purged client's bucket is refused (ErrPurged) and
// writes nothing.
func testPurgeThenPush(t *testing.T, p *purgeWorld) {
	ctx := context.Background()
	if err := p.s.PurgeClient(ctx, p.gone, p.head(t, p.gone), epoch, p.audit()); err != nil {
		t.Fatal(err)
	}
	_, chs := p.dev.NewContact(p.gone, epoch)
	if err := p.push(chs); !errors.Is(err, store.ErrPurged) {
		t.Fatalf("push to a purged bucket = %v, want ErrPurged", err)
	}
	if st, n := p.records(t, p.gone); st != 0 || n != 0 {
		t.Errorf("after a refused push: %d states, %d log entries; want none", st, n)
	}
}

// With no purge interrupted, FinishPurges has nothing to do, before a
// purge and after.
func testFinishPurges(t *testing.T, p *purgeWorld) {
	ctx := context.Background()
	if open, err := p.s.FinishPurges(ctx); err != nil || len(open) != 0 {
		t.Fatalf("FinishPurges on a store without purges = %v, %v; want nothing", open, err)
	}
	if err := p.s.PurgeClient(ctx, p.gone, p.head(t, p.gone), epoch, p.audit()); err != nil {
		t.Fatal(err)
	}
	if open, err := p.s.FinishPurges(ctx); err != nil || len(open) != 0 {
		t.Fatalf("FinishPurges after a whole purge = %v, %v; want nothing", open, err)
	}
}
