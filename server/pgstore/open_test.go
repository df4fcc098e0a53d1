package pgstore

import (
	"context"
	"errors"
	"testing"

	"github.com/throughcare/throughcare/server/pgstore/pgtest"
	"github.com/throughcare/throughcare/server/store"
)

// A push is durable when acknowledged even on a database whose default is
// not to wait for the flush: the store's connections commit synchronously.
func TestCommitsAreSynchronous(t *testing.T) {
	url := pgtest.Shared(t).Database(t, t.Name())
	pool := newPool(t, url)
	if _, err := pool.Exec(context.Background(), "ALTER DATABASE "+pool.Config().ConnConfig.Database+" SET synchronous_commit = off"); err != nil {
		t.Fatal(err)
	}
	s := open(t, url)
	var got string
	if err := s.pool.QueryRow(context.Background(), "SHOW synchronous_commit").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != "on" {
		t.Fatalf("synchronous_commit = %q on the store's connections, want on", got)
	}
}

// A closed store refuses every call with store.ErrClosed.
func TestClosedStore(t *testing.T) {
	s := open(t, pgtest.Shared(t).Database(t, t.Name()))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	bucket := "0190c1d2-0000-7000-8000-000000000000"
	for name, call := range map[string]func() error{
		"Buckets":   func() error { return s.Buckets(ctx, func(store.BucketTx) error { return nil }) },
		"Pull":      func() error { _, err := s.Pull(ctx, store.PullQuery{From: map[string]uint64{bucket: 0}}); return err },
		"Heads":     func() error { _, err := s.Heads(ctx, []string{bucket}); return err },
		"HighWater": func() error { _, err := s.HighWater(ctx, "d"); return err },
		"Log":       func() error { _, err := s.Log(ctx, bucket); return err },
	} {
		if err := call(); !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s on a closed store = %v, want ErrClosed", name, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("a second Close = %v", err)
	}
}
