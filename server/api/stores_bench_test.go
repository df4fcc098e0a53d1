package api_test

import (
	"context"
	"testing"

	"github.com/throughcare/throughcare/server"
	"github.com/throughcare/throughcare/server/pgstore"
	"github.com/throughcare/throughcare/server/pgstore/pgtest"
	"github.com/throughcare/throughcare/server/servertest"
	"github.com/throughcare/throughcare/server/store"
)

// The API benchmarks run on both stores, side by side: each is a
// sub-benchmark per store ("badger": on disk, fsynced; "postgres": a
// throwaway cluster from pgtest, fsync and synchronous_commit on), through
// the same server.New path and the same workload. THROUGHCARE_SKIP_POSTGRES=1
// skips the "postgres" ones, as it does the PostgreSQL tests.
//
// `make bench-stores` runs them and writes the comparison
// (e2e/benchstores).

// benchOnStores runs bench once per store, on a fresh server over a fresh
// store made with o (Dir and Server are set here): bench gets the server
// and its store, to seed it directly.
func benchOnStores(b *testing.B, o servertest.Options, bench func(b *testing.B, env *servertest.Env, st store.Store)) {
	b.Run("badger", func(b *testing.B) {
		o := o
		o.Dir = b.TempDir()
		env := servertest.New(b, o)
		bench(b, env, env.Store)
	})
	b.Run("postgres", func(b *testing.B) {
		db, err := pgstore.Open(context.Background(), pgstore.Options{URL: pgtest.Shared(b).Database(b, b.Name())})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			if err := db.Close(); err != nil {
				b.Error(err)
			}
		})
		o := o
		o.Server = func(c *server.Config) { c.Store = db }
		bench(b, servertest.New(b, o), db)
	})
}
