package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

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
	_, err = s.Push(context.Background(), &store.Batch{UserID: "u", DeviceID: d.ID, ReceivedAt: time.Now(), Changes: chs})
	if !errors.Is(err, store.ErrBatchTooLarge) {
		t.Fatalf("Push of a %d-change, ~3 MB batch into 1.2 MB transactions = %v, want ErrBatchTooLarge", len(chs), err)
	}
	if hw, _ := s.HighWater(context.Background(), d.ID); hw != 0 {
		t.Fatalf("refused batch moved the high-water mark to %d", hw)
	}
}
