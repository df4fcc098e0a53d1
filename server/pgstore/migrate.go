package pgstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The schema is versioned: migrations/NNNN_name.sql are applied in order,
// each once, and schema_migrations lists those applied. Open migrates
// under an advisory lock, in one transaction, so servers opening one
// database at once migrate it once, and a migration that fails leaves
// nothing. A database migrated by a newer server (a version this one does
// not know) is refused.

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrateLock names the advisory lock held while migrating.
const migrateLock = 0x7468726f75676863 // "throughc"

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order, which must
// run 1, 2, … without gaps.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for i, name := range names { // fs.Glob sorts
		base := strings.TrimSuffix(path.Base(name), ".sql")
		num, label, _ := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if err != nil || v != i+1 {
			return nil, fmt.Errorf("pgstore: migration %s is not number %d", name, i+1)
		}
		b, err := migrationFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: label, sql: string(b)})
	}
	return out, nil
}

// migrate applies the migrations of list the database lacks and returns
// the schema version it now has.
func migrate(ctx context.Context, pool *pgxpool.Pool, list []migration) (int, error) {
	var version int
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrateLock)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&version); err != nil {
			return err
		}
		if version > len(list) {
			return fmt.Errorf("pgstore: the database's schema is version %d, newer than this server knows (%d): "+
				"run the server that migrated it", version, len(list))
		}
		for _, m := range list[version:] {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("pgstore: migration %d (%s): %w", m.version, m.name, err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name); err != nil {
				return err
			}
			version = m.version
		}
		return nil
	})
	return version, err
}
