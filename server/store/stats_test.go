package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/store"
)

// Sessions counts the sessions held: put ones count, deleted ones do not.
func TestSessionsCounted(t *testing.T) {
	s, err := store.Open(store.Options{InMemory: true, Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	ctx := context.Background()
	count := func() int {
		t.Helper()
		n, err := s.Sessions()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := count(); got != 0 {
		t.Fatalf("a new store holds %d sessions, want 0", got)
	}
	now := time.Now()
	for _, id := range []string{"s1", "s2", "s3"} {
		sess := &store.Session{ID: id, UserID: "u", DeviceID: "d-" + id, AccessHash: []byte("a" + id), RefreshHash: []byte("r" + id),
			CreatedAt: now, LastUsedAt: now, AccessExpiresAt: now.Add(time.Hour), RefreshExpiresAt: now.Add(time.Hour), AbsoluteExpiresAt: now.Add(time.Hour)}
		if err := s.Directory(ctx, func(tx store.DirTx) error { return tx.PutSession(sess) }); err != nil {
			t.Fatal(err)
		}
	}
	if got := count(); got != 3 {
		t.Errorf("after three sign-ins: %d sessions, want 3", got)
	}
	if err := s.Directory(ctx, func(tx store.DirTx) error { return tx.DeleteSession("s2") }); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != 2 {
		t.Errorf("after one ended: %d sessions, want 2", got)
	}
}
