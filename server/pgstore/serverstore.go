package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/throughcare/throughcare/server/backup"
	"github.com/throughcare/throughcare/server/store"
)

// What server.Store needs beyond the sync data and the directory: the
// store's id and its (refused) backups. Purges are purge.go.

var _ backup.Refuser = (*DB)(nil)

// StoreID implements backup.Source: 16 random bytes in hex, made by the
// first call on a new database (meta 'store-id') and the same for every
// server sharing it and after every restart.
func (s *DB) StoreID(ctx context.Context) (string, error) {
	if err := s.check(); err != nil {
		return "", err
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return "", err
	}
	// As the cursor key: two statements, so a concurrent first call's row
	// is seen once it commits.
	_, err := s.pool.Exec(ctx, "INSERT INTO meta (key, value) VALUES ('store-id', $1) ON CONFLICT (key) DO NOTHING", id)
	if err == nil {
		err = s.pool.QueryRow(ctx, "SELECT value FROM meta WHERE key = 'store-id'").Scan(&id)
	}
	if err != nil {
		return "", fmt.Errorf("pgstore: reading the store id: %w", s.mapErr(err))
	}
	return hex.EncodeToString(id), nil
}

// Backup implements backup.Source by refusing: a PostgreSQL database is
// backed up with PostgreSQL's own tools (pg_dump, or base backups with WAL
// archiving for point-in-time recovery), which see every table in one
// consistent snapshot. It returns backup.ErrNotSupported.
func (s *DB) Backup(context.Context, io.Writer, uint64) (store.BackupResult, error) {
	return store.BackupResult{}, backup.ErrNotSupported
}

// BackupRefused implements backup.Refuser: every backup is refused.
func (s *DB) BackupRefused() error { return backup.ErrNotSupported }
