package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/store/storetest"
)

func TestBadgerPurgeConformance(t *testing.T) {
	storetest.RunPurge(t, func(t *testing.T) storetest.PurgeStore {
		return openBadger(t, t.TempDir()).(*store.DB)
	})
}

// newPurgeWorld is storetest's purge world on a Badger store whose
// garbage collection does not run.
func newPurgeWorld(t *testing.T, contacts int) (*store.DB, *storetest.PurgeWorld) {
	t.Helper()
	s, err := store.Open(store.Options{Dir: t.TempDir(), Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, storetest.NewPurgeWorld(t, s, contacts, contacts)
}

func contains(t *testing.T, s *store.DB, word string) bool {
	t.Helper()
	found, err := s.Contains([]byte(word))
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// A purge leaves no byte of the client's notes in the store's live keys
// and values, and the other client's are still there; a purge refused on
// a stale head deletes nothing.
func TestPurgeBytes(t *testing.T) {
	tests := []struct {
		name     string
		stale    bool
		wantErr  error
		wantGone bool
		wantKept bool
	}{
		{name: "purged", wantGone: false, wantKept: true},
		{name: "refused_on_stale_head", stale: true, wantErr: store.ErrChanged, wantGone: true, wantKept: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, p := newPurgeWorld(t, 1)
			head := p.Head(t, p.Gone)
			if tt.stale {
				_, chs := p.Dev.NewContact(p.Gone, time.Now())
				if err := p.Push(chs); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.PurgeClient(context.Background(), p.Gone, head, time.Now(), p.Audit()); !errors.Is(err, tt.wantErr) {
				t.Fatalf("PurgeClient = %v, want %v", err, tt.wantErr)
			}
			if got := contains(t, s, storetest.PlantedGone); got != tt.wantGone {
				t.Errorf("the purged client's notes in the store: %v, want %v", got, tt.wantGone)
			}
			if got := contains(t, s, storetest.PlantedKept); got != tt.wantKept {
				t.Errorf("the other client's notes in the store: %v, want %v", got, tt.wantKept)
			}
		})
	}
}

// A purge interrupted after its first transaction (a crash) already hides
// the client and refuses changes to its bucket; FinishPurges deletes the
// rest, batch by batch.
func TestPurgeInterruptedFinishesLater(t *testing.T) {
	ctx := context.Background()
	store.SetPurgeBatch(t, 4)
	s, p := newPurgeWorld(t, 5)
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if err := s.PurgeStartOnly(ctx, p.Gone, p.Head(t, p.Gone), at, p.Audit()); err != nil {
		t.Fatal(err)
	}
	if !contains(t, s, storetest.PlantedGone) {
		t.Fatal("test setup: the first transaction deleted the whole bucket; want a bucket larger than a batch")
	}
	err := s.DirectoryView(ctx, func(tx store.DirTx) error {
		if _, err := tx.Client(p.Gone); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Client during an interrupted purge = %v, want ErrNotFound", err)
		}
		tomb, err := tx.PurgedClient(p.Gone)
		if err == nil && tomb.Done {
			t.Error("tombstone Done before the bucket is deleted")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	_, chs := p.Dev.NewContact(p.Gone, time.Now())
	if err := p.Push(chs); !errors.Is(err, store.ErrPurged) {
		t.Fatalf("push to a purged bucket = %v, want ErrPurged", err)
	}

	open, err := s.FinishPurges(ctx)
	if err != nil || len(open) != 1 || open[0] != p.Gone {
		t.Fatalf("FinishPurges = %v, %v; want the interrupted client", open, err)
	}
	p.CheckPurged(t, at)
	if contains(t, s, storetest.PlantedGone) || !contains(t, s, storetest.PlantedKept) {
		t.Fatal("after FinishPurges: the purged client's notes are still in the store, or the other's are gone")
	}
	if open, err := s.FinishPurges(ctx); err != nil || len(open) != 0 {
		t.Fatalf("second FinishPurges = %v, %v; want nothing to do", open, err)
	}
}
