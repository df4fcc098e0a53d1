package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/throughcare/throughcare/server/store"
)

// Purging a client (retention), with the Badger store's semantics (see
// package store's purge.go): the directory entry and the assignments go,
// the whole bucket goes (log, record states, late index and head), the
// purge's audit entry is appended, and a store.PurgedClient tombstone
// (purged_clients) stays, so the id is never reused and a later change to
// the bucket is refused (store.ErrPurged). Devices learn of the eviction
// as they do from the Badger store: the client is on nobody's caseload any
// more.
//
// Here one serializable transaction does all of it, whatever the bucket's
// size, so a crash leaves either nothing done or everything, and the
// tombstone is written Done. FinishPurges still completes any tombstone
// that is not Done (none is written so), so it answers as Badger's does.
//
// Deleted rows stay in PostgreSQL's files until VACUUM reuses their space
// (and in backups and WAL archives taken before).

// bucketTables are the tables of a bucket's rows, by their bucket column.
var bucketTables = []string{"log_entries", "records", "late_records", "bucket_heads"}

// PurgeClient implements subject.Store: it purges a client of the
// directory if its bucket's head is still head (else store.ErrChanged,
// and nothing is done). A client not in the directory is store.ErrNotFound.
func (s *DB) PurgeClient(ctx context.Context, clientID string, head uint64, at time.Time, audit *store.Audit) error {
	if err := canonical(clientID); err != nil {
		return err
	}
	return s.Directory(ctx, func(dtx store.DirTx) error {
		tx := dtx.(*dirTx)
		c, err := tx.Client(clientID)
		if err != nil {
			return err
		}
		// Locks the head row: a push to the bucket committed first moves
		// the head (ErrChanged); one after waits and then finds the
		// tombstone (Append's ErrPurged).
		var h int64
		err = tx.tx.QueryRow(tx.ctx, "SELECT head FROM bucket_heads WHERE bucket = $1 FOR UPDATE", clientID).Scan(&h)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if uint64(h) != head {
			return store.ErrChanged
		}
		if err := tx.exec("DELETE FROM clients WHERE id = $1", []byte(clientID)); err != nil {
			return err
		}
		if err := tx.exec("DELETE FROM assignments WHERE client = $1", []byte(clientID)); err != nil {
			return err
		}
		if err := tx.AppendAudit(audit); err != nil {
			return err
		}
		if err := deleteBucket(tx, clientID); err != nil {
			return err
		}
		return tx.put(&store.PurgedClient{ID: clientID, AreaID: c.AreaID, PurgedAt: at.UTC(), Done: true},
			"INSERT INTO purged_clients (doc, id) VALUES ($1, $2)", []byte(clientID))
	})
}

// deleteBucket deletes every row of a bucket.
func deleteBucket(tx *dirTx, bucket string) error {
	for _, table := range bucketTables {
		if err := tx.exec("DELETE FROM "+table+" WHERE bucket = $1", bucket); err != nil {
			return err
		}
	}
	return nil
}

// FinishPurges implements subject.Store: it completes the purges whose
// tombstone is not Done, deleting what is left of their buckets, and
// returns their client ids (none, as PurgeClient leaves none open).
func (s *DB) FinishPurges(ctx context.Context) ([]string, error) {
	var open []string
	err := s.Directory(ctx, func(dtx store.DirTx) error {
		tx := dtx.(*dirTx)
		open = nil // the transaction may run again
		all, err := docs[store.PurgedClient](tx, "SELECT doc FROM purged_clients ORDER BY id")
		if err != nil {
			return err
		}
		for _, p := range all {
			if p.Done {
				continue
			}
			if err := canonical(p.ID); err != nil {
				return err
			}
			if err := deleteBucket(tx, p.ID); err != nil {
				return err
			}
			p.Done = true
			if err := tx.put(p, "UPDATE purged_clients SET doc = $1 WHERE id = $2", []byte(p.ID)); err != nil {
				return err
			}
			open = append(open, p.ID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return open, nil
}

// purged reports whether a bucket belongs to a purged client.
func (tx *bucketTx) purged(bucket string) (bool, error) {
	var found bool
	err := tx.tx.QueryRow(tx.ctx, "SELECT EXISTS (SELECT 1 FROM purged_clients WHERE id = $1)", []byte(bucket)).Scan(&found)
	return found, err
}
