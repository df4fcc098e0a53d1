package pgstore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/throughcare/throughcare/server/pgstore/pgtest"
)

func newPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func open(t *testing.T, url string) *DB {
	t.Helper()
	s, err := Open(context.Background(), Options{URL: url})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// schema describes a database's tables, columns and indexes, to compare two.
func schema(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `
		SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable FROM information_schema.columns
		WHERE table_schema = 'public' AND table_name <> 'schema_migrations'
		UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

type applied struct {
	version int
	name    string
	at      string
}

func appliedMigrations(t *testing.T, pool *pgxpool.Pool) []applied {
	t.Helper()
	rows, err := pool.Query(context.Background(), "SELECT version, name, applied_at::text FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (applied, error) {
		var a applied
		return a, r.Scan(&a.version, &a.name, &a.at)
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Open migrates a database from every earlier schema version (an empty one
// included) to the same schema as a new one, and reopening changes
// nothing.
func TestMigrateFromEveryVersion(t *testing.T) {
	list, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	cluster := pgtest.Shared(t)
	fresh := cluster.Database(t, "fresh")
	open(t, fresh).Close()
	want := schema(t, newPool(t, fresh))
	if !strings.Contains(want, "records_position") {
		t.Fatalf("the migrated schema lacks the pull index:\n%s", want)
	}
	for from := 0; from <= len(list); from++ {
		url := cluster.Database(t, fmt.Sprintf("from-%d", from))
		pool := newPool(t, url)
		if v, err := migrate(context.Background(), pool, list[:from]); err != nil || v != from {
			t.Fatalf("migrating to version %d = %d, %v", from, v, err)
		}
		open(t, url).Close()
		got := appliedMigrations(t, pool)
		if len(got) != len(list) || got[len(got)-1].version != len(list) {
			t.Fatalf("from version %d: applied %v, want versions 1 to %d", from, got, len(list))
		}
		if s := schema(t, pool); s != want {
			t.Fatalf("from version %d the schema is\n%s\nwant\n%s", from, s, want)
		}
		open(t, url).Close()
		if again := appliedMigrations(t, pool); !equal(again, got) {
			t.Fatalf("reopening applied migrations again: %v, then %v", got, again)
		}
	}
}

func equal(a, b []applied) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A database migrated by a newer server is refused, not written to.
func TestNewerSchemaRefused(t *testing.T) {
	url := pgtest.Shared(t).Database(t, "newer")
	open(t, url).Close()
	list, _ := migrations()
	pool := newPool(t, url)
	if _, err := pool.Exec(context.Background(), "INSERT INTO schema_migrations (version, name) VALUES ($1, 'future')", len(list)+1); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(context.Background(), Options{URL: url}); err == nil || !strings.Contains(err.Error(), "newer") {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open of a newer schema = %v, want it refused", err)
	}
}

// Servers opening a new database at once migrate it once and share one
// cursor key.
func TestConcurrentOpens(t *testing.T) {
	url := pgtest.Shared(t).Database(t, "concurrent")
	const n = 4
	keys := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s, err := Open(context.Background(), Options{URL: url})
			if err != nil {
				t.Error(err)
				return
			}
			keys[i] = string(s.CursorKey())
			s.Close()
		})
	}
	wg.Wait()
	for i := range keys {
		if keys[i] == "" || keys[i] != keys[0] {
			t.Fatalf("cursor keys differ across concurrent opens")
		}
	}
	list, _ := migrations()
	if got := appliedMigrations(t, newPool(t, url)); len(got) != len(list) {
		t.Fatalf("applied %v, want each migration once", got)
	}
}
