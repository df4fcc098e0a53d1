package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/store"
)

func TestDirectoryIndexesFollowChanges(t *testing.T) {
	s, err := store.Open(store.Options{InMemory: true, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	err = s.Directory(ctx, func(tx *store.DirTx) error {
		if err := tx.PutClient(&store.Client{ID: "c1", AreaID: "a", TeamID: "t1"}); err != nil {
			return err
		}
		return tx.PutClient(&store.Client{ID: "c1", AreaID: "a", TeamID: "t2"})
	})
	if err != nil {
		t.Fatal(err)
	}
	s.DirectoryView(ctx, func(tx *store.DirTx) error {
		if got := tx.ClientsOfTeam("t1"); len(got) != 0 {
			t.Errorf("client still listed under its old team: %v", got)
		}
		if got := tx.ClientsOfTeam("t2"); !slices.Equal(got, []string{"c1"}) {
			t.Errorf("ClientsOfTeam(t2) = %v", got)
		}
		return nil
	})
	// An invite past its expiry is gone even before Badger's TTL reaps it.
	err = s.Directory(ctx, func(tx *store.DirTx) error {
		return tx.PutInvite(&store.Invite{Hash: []byte("h"), ExpiresAt: time.Now().Add(-time.Second)})
	})
	if err != nil {
		t.Fatal(err)
	}
	s.DirectoryView(ctx, func(tx *store.DirTx) error {
		if _, err := tx.Invite([]byte("h")); err != store.ErrNotFound {
			t.Errorf("expired invite = %v, want ErrNotFound", err)
		}
		return nil
	})
}
