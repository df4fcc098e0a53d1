package pgstore_test

import (
	"context"
	"testing"

	"github.com/throughcare/throughcare/server/pgstore"
	"github.com/throughcare/throughcare/server/pgstore/pgtest"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// openPostgres opens the store in the database dir names, on the test
// binary's cluster: the same dir reopens the same database.
func openPostgres(t *testing.T, dir string) store.Store {
	t.Helper()
	s := openURL(t, pgtest.Shared(t).Database(t, dir))
	return s
}

func openURL(t testing.TB, url string) *pgstore.DB {
	t.Helper()
	s, err := pgstore.Open(context.Background(), pgstore.Options{URL: url})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestPostgresConformance(t *testing.T) {
	storetest.Run(t, openPostgres)
}
