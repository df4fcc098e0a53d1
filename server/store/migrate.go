package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/ristretto/v2/z"
	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/storekey"
)

// The directories Encrypt writes beside the data directory dir.
const (
	// encryptingSuffix: the encrypted copy being written.
	encryptingSuffix = ".encrypting"
	// PlaintextBackupSuffix: the unencrypted store, kept once the
	// encrypted copy has taken its place, until the operator shreds it.
	PlaintextBackupSuffix = ".plaintext-backup"
)

// Encrypted is what Encrypt did.
type Encrypted struct {
	// Keys is how many keys the store holds (the same in both copies).
	Keys int
	// Digest is the SHA-256 of every key and value, in order, which both
	// copies gave.
	Digest [32]byte
	// PlaintextBackup is where the unencrypted store now is.
	PlaintextBackup string
}

// Encrypt turns the unencrypted, closed store in dir into one encrypted
// with key, offline: it opens the store (with every check Open makes),
// streams every key into a new store dir.encrypting written with key,
// opens that one (with the same checks) and checks that it holds the same
// keys and values (the same count and digest), then moves dir to
// dir.plaintext-backup and the new store to dir. The unencrypted copy is
// left for the operator to shred once the encrypted store has started.
//
// An Encrypt stopped before the swap leaves dir as it was (a later one
// starts the copy again); one stopped between the two renames is finished
// by the next.
func Encrypt(ctx context.Context, dir string, key storekey.Key, log zerolog.Logger) (Encrypted, error) {
	dir = filepath.Clean(dir)
	tmp, backup := dir+encryptingSuffix, dir+PlaintextBackupSuffix
	res := Encrypted{PlaintextBackup: backup}
	if key.IsZero() {
		return res, errors.New("store: Encrypt needs a key")
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) && exists(tmp) && exists(backup) {
		// Stopped between the renames: the copy was checked already.
		log.Warn().Str("data", dir).Msg("finishing an encryption stopped after the unencrypted store was moved aside")
		if err := os.Rename(tmp, dir); err != nil {
			return res, err
		}
		return res, syncDir(filepath.Dir(dir))
	}
	if exists(backup) {
		return res, fmt.Errorf("store: %s already exists (an earlier encryption's unencrypted copy?): shred or move it first", backup)
	}
	if err := os.RemoveAll(tmp); err != nil { // a copy an earlier run left unfinished
		return res, err
	}
	src, err := Open(Options{Dir: dir, Logger: log, GCInterval: -1})
	if err != nil {
		return res, err
	}
	n, sum, err := copyEncrypted(ctx, src, tmp, key)
	if cerr := src.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return res, errors.Join(err, os.RemoveAll(tmp))
	}
	dst, err := Open(Options{Dir: tmp, Logger: log, GCInterval: -1, EncryptionKey: key})
	if err != nil {
		return res, fmt.Errorf("store: the encrypted copy in %s does not open: %w", tmp, err)
	}
	n2, sum2, err := dst.digest(ctx)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return res, err
	}
	if n2 != n || sum2 != sum {
		return res, fmt.Errorf("store: the encrypted copy in %s holds %d keys, the store %d, or not the same ones: %s left as it was", tmp, n2, n, dir)
	}
	res.Keys, res.Digest = n, sum
	if err := os.Rename(dir, backup); err != nil {
		return res, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return res, err
	}
	return res, syncDir(filepath.Dir(dir))
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// copyEncrypted writes every key of src into a new store in dir encrypted
// with key, with src's acknowledgement number and a record of the key,
// and returns how many keys src holds and their digest.
func copyEncrypted(ctx context.Context, src *DB, dir string, key storekey.Key) (int, [32]byte, error) {
	var sum [32]byte
	n, sum, err := src.digest(ctx)
	if err != nil {
		return 0, sum, err
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return 0, sum, err
	}
	if err := writeEncryptionRecord(dir, recordFor(key)); err != nil {
		return 0, sum, err
	}
	o := Options{Dir: dir, EncryptionKey: key, Logger: zerolog.Nop()}.withMemoryDefaults()
	db, err := openBadger(badgerOptions(o))
	if err != nil {
		return 0, sum, err
	}
	sw := db.NewStreamWriter()
	err = sw.Prepare()
	if err == nil {
		stream := src.db.NewStream()
		stream.LogPrefix = "store.Encrypt"
		stream.Send = func(buf *z.Buffer) error { return sw.Write(buf) }
		err = stream.Orchestrate(ctx)
	}
	if err == nil {
		err = sw.Flush()
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, sum, fmt.Errorf("store: copying into %s: %w", dir, err)
	}
	src.commits.mu.Lock()
	last := src.commits.last
	src.commits.mu.Unlock()
	a, err := createAckFile(dir, last)
	if err != nil {
		return 0, sum, err
	}
	return n, sum, a.close()
}

// digest counts the store's keys and hashes every key and value, in key
// order.
func (s *DB) digest(ctx context.Context) (n int, sum [32]byte, err error) {
	h := sha256.New()
	err = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(item.Key()))))
			h.Write(item.Key())
			if err := item.Value(func(v []byte) error {
				h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(v))))
				h.Write(v)
				return nil
			}); err != nil {
				return err
			}
			n++
			if n%4096 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
		}
		return nil
	})
	copy(sum[:], h.Sum(nil))
	return n, sum, mapErr(err)
}
