package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/pgstore"
	"github.com/throughcare/throughcare/server/pgstore/pgtest"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/store/storetest"
)

// openDirectory opens a store on a new database of the test binary's
// cluster, with the given clock.
func openDirectory(t *testing.T, now func() time.Time) store.DirectoryStore {
	t.Helper()
	s, err := pgstore.Open(context.Background(), pgstore.Options{URL: pgtest.Shared(t).Database(t, t.Name()), Now: now})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestPostgresDirectory(t *testing.T) {
	storetest.RunDirectory(t, openDirectory)
}
