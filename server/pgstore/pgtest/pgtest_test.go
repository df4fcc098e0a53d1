package pgtest

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

// A database outlives its connections: the same key reopens it, another
// key is another database, and a stopped cluster leaves nothing behind.
func TestDatabasePerKey(t *testing.T) {
	c := Start(t)
	ctx := context.Background()
	exec := func(url, sql string) int {
		t.Helper()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if strings.HasPrefix(sql, "CREATE") {
			if _, err := conn.Exec(ctx, sql); err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
			return 0
		}
		var n int
		if err := conn.QueryRow(ctx, sql).Scan(&n); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return n
	}
	a := c.Database(t, "/tmp/a")
	exec(a, "CREATE TABLE kept AS SELECT 7 AS n")
	if got := exec(c.Database(t, "/tmp/a"), "SELECT n FROM kept"); got != 7 {
		t.Fatalf("reopened database holds %d, want 7", got)
	}
	if got := exec(c.Database(t, "/tmp/b"), "SELECT count(*) FROM pg_tables WHERE tablename = 'kept'"); got != 0 {
		t.Fatalf("another key's database has the table (%d)", got)
	}
	if got := exec(a, "SELECT CASE WHEN current_setting('listen_addresses') = '' THEN 1 ELSE 0 END"); got != 1 {
		t.Fatal("the cluster listens on TCP; want its socket only")
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.dir); !os.IsNotExist(err) {
		t.Fatalf("cluster directory after Stop: %v, want it gone", err)
	}
}

// The shared cluster is one per test binary.
func TestSharedIsOne(t *testing.T) {
	if a, b := Shared(t), Shared(t); a != b {
		t.Fatal("Shared started two clusters")
	}
}

// Binaries that are not there fail the start, saying what ran.
func TestStartWithoutBinaries(t *testing.T) {
	_, err := start(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "initdb") {
		t.Fatalf("start without binaries = %v, want an initdb error", err)
	}
}
