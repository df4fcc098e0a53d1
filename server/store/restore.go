package store

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// keyRestorePrefix, followed by a time (Unix ns), holds a Restored record.
var keyRestorePrefix = []byte{tMeta, 'r', 'e', 's', 't', 'o', 'r', 'e', 'd'}

// RestoreSource is one backup stream to load: Badger's plaintext stream
// (as Backup wrote it) and the number of records it must hold.
type RestoreSource struct {
	Stream  io.Reader
	Records uint64
}

// Restored records a restore from backup, kept in the restored store.
type Restored struct {
	// At is when the restore was made.
	At time.Time
	// Commit is the number of the last commit the backups held.
	Commit uint64
	// Records is the number of records loaded, over every backup.
	Records uint64
}

// ErrNotEmpty reports a restore into a directory that holds anything.
var ErrNotEmpty = errors.New("store: a restore goes only into an empty directory")

// Restore makes a store in o.Dir, which must be empty or absent, from
// backups taken by Backup: a full one, then any incremental ones, in
// order. Each stream must hold the records it says. Then it checks the
// store as Open does (tables, write-ahead logs, metadata, the
// acknowledgement record) and replaces the cursor key, so every cursor
// issued before is refused and every device resets and sends again what
// the restore lost. The store is encrypted as o says (EncryptionKey). On
// failure the directory is emptied again.
func Restore(o Options, from []RestoreSource) (_ Restored, err error) {
	if o.InMemory || o.Dir == "" {
		return Restored{}, errors.New("store: a restore needs a data directory")
	}
	if len(from) == 0 {
		return Restored{}, errors.New("store: nothing to restore from")
	}
	if err := emptyDir(o.Dir); err != nil {
		return Restored{}, err
	}
	defer func() {
		if err != nil {
			clearDir(o.Dir)
		}
	}()
	o = o.withMemoryDefaults()
	o.GCInterval = -1
	rec, err := load(o, from)
	if err != nil {
		return Restored{}, err
	}
	ack, err := createAckFile(o.Dir, rec.Commit)
	if err != nil {
		return Restored{}, err
	}
	if err := ack.close(); err != nil {
		return Restored{}, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	rec.At = o.Now().UTC()
	s, err := Open(o) // the self-check: what Open checks, on the restored directory
	if err != nil {
		return Restored{}, fmt.Errorf("store: the restored store does not pass its checks: %w", err)
	}
	if err := s.markRestored(rec); err != nil {
		return Restored{}, errors.Join(err, s.Close())
	}
	if err := s.Close(); err != nil {
		return Restored{}, err
	}
	// And it opens again, as the server will.
	s, err = Open(o)
	if err != nil {
		return Restored{}, fmt.Errorf("store: the restored store does not reopen: %w", err)
	}
	return rec, s.Close()
}

// load loads the streams into Badger in o.Dir and returns the last commit
// number they held.
func load(o Options, from []RestoreSource) (_ Restored, err error) {
	db, err := openBadger(badgerOptions(o))
	if err != nil {
		return Restored{}, err
	}
	defer func() {
		if cerr := db.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("store: closing the restored store: %w", cerr)
		}
	}()
	var rec Restored
	for i, src := range from {
		c := &streamCounter{}
		if err := db.Load(io.TeeReader(src.Stream, c), 16); err != nil {
			return Restored{}, fmt.Errorf("store: loading backup %d: %w", i+1, err)
		}
		if c.pending() || c.records != src.Records {
			return Restored{}, fmt.Errorf("store: backup %d held %d records, its trailer says %d", i+1, c.records, src.Records)
		}
		rec.Records += c.records
	}
	if err := db.Flatten(2); err != nil {
		return Restored{}, fmt.Errorf("store: flattening the restored store: %w", err)
	}
	err = db.View(func(txn *badger.Txn) error {
		if _, err := txn.Get(keyCursorKey); err != nil {
			return fmt.Errorf("store: the backups hold no store metadata (is the first one a full backup?): %w", err)
		}
		rec.Commit, err = getUint(txn, keyCommit)
		return err
	})
	return rec, err
}

// markRestored replaces the cursor key and records the restore.
func (s *DB) markRestored(rec Restored) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	key := make([]byte, 32)
	rand.Read(key)
	err = s.update(func(txn *badger.Txn) error {
		return setAll(txn, map[string][]byte{
			string(keyCursorKey): key,
			string(append(append([]byte(nil), keyRestorePrefix...), be64(uint64(rec.At.UnixNano()))...)): b,
		})
	})
	if err != nil {
		return fmt.Errorf("store: replacing the cursor key: %w", err)
	}
	s.cursorKey = key
	return nil
}

// Restores returns every restore the store was made by, oldest first.
func (s *DB) Restores(ctx context.Context) ([]Restored, error) {
	var out []Restored
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: keyRestorePrefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var r Restored
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &r) }); err != nil {
				return err
			}
			out = append(out, r)
		}
		return ctx.Err()
	})
	return out, mapErr(err)
}

// emptyDir makes sure dir exists (private) and holds nothing.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return os.MkdirAll(dir, 0o700)
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%w: %s holds %s", ErrNotEmpty, dir, entries[0].Name())
	}
	return nil
}

// clearDir removes what a failed restore left in dir (which was empty).
func clearDir(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		_ = os.RemoveAll(filepath.Join(dir, e.Name())) // best effort: the restore failed anyway
	}
}
