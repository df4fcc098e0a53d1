package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/syncengine"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/store/storetest"
	"github.com/throughcare/throughcare/syncproto/sample"
)

func openBadger(t *testing.T, dir string) store.Store {
	t.Helper()
	s, err := store.Open(store.Options{Dir: dir, Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestBadgerConformance(t *testing.T) {
	storetest.Run(t, openBadger)
}

// A batch larger than one Badger transaction can hold is refused with a
// permanent error (the device must split it), and nothing of it applies.
func TestBatchTooLargeForATransaction(t *testing.T) {
	s, err := store.Open(store.Options{Dir: t.TempDir(), Logger: zerolog.Nop(), GCInterval: -1, MemTableMB: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := sample.NewDevice("u", time.Now, 1)
	client, chs := d.NewClient("Lambeth")
	for range 40 {
		contact, c := d.NewContact(client, time.Now())
		chs = append(chs, c...)
		chs = append(chs, d.Change("contact", contact, client, "notes", sample.Str(strings.Repeat("n", 40_000)), nil))
	}
	_, err = syncengine.Apply(context.Background(), s, &syncengine.Batch{UserID: "u", DeviceID: d.ID, ReceivedAt: time.Now(), Changes: chs})
	if !errors.Is(err, store.ErrBatchTooLarge) {
		t.Fatalf("Push of a %d-change, ~3 MB batch into 1.2 MB transactions = %v, want ErrBatchTooLarge", len(chs), err)
	}
	if hw, _ := s.HighWater(context.Background(), d.ID); hw != 0 {
		t.Fatalf("refused batch moved the high-water mark to %d", hw)
	}
}

// Every write is numbered, synced and recorded as acknowledged; a
// transaction that writes nothing (a read in Directory, a resend of
// changes already pushed, an eviction already noted) commits nothing, so
// it costs no sync.
func TestOnlyWritesAreCommitted(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(store.Options{Dir: t.TempDir(), Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	end := time.Unix(1_700_000_000, 0)
	for _, tt := range []struct {
		name string
		do   func() error
		want uint64 // commits it adds
	}{
		{"directory write", func() error {
			return s.Directory(ctx, func(tx store.DirTx) error { return tx.PutArea(&store.Area{ID: "a1", Name: "Leeds"}) })
		}, 1},
		{"directory read", func() error {
			return s.Directory(ctx, func(tx store.DirTx) error { _, err := tx.Area("a1"); return err })
		}, 0},
		{"push", func() error { _, err := syncengine.Apply(ctx, s, crashBatch(0)); return err }, 1},
		{"push again: every change a duplicate", func() error { _, err := syncengine.Apply(ctx, s, crashBatch(0)); return err }, 0},
		{"eviction noted", func() error { return s.NoteEvictions(ctx, "d", map[string]time.Time{crashBuckets[0]: end}) }, 1},
		{"same eviction again", func() error { return s.NoteEvictions(ctx, "d", map[string]time.Time{crashBuckets[0]: end}) }, 0},
	} {
		before := s.LastCommit()
		if err := tt.do(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := s.LastCommit() - before; got != tt.want {
			t.Errorf("%s: %d commits, want %d", tt.name, got, tt.want)
		}
	}
}
