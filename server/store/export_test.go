package store

import (
	"bufio"
	"bytes"
	"context"
	"time"

	"hash/crc32"
	"io"
	"os"

	"github.com/dgraph-io/badger/v4"
)

// WALTxnEnds returns the offset just after each whole transaction of the
// write-ahead log file at path, as replay reads it.
func WALTxnEnds(path string) ([]int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := io.CopyN(io.Discard, f, walHeaderSize); err != nil {
		return nil, err
	}
	r := &walReader{r: bufio.NewReader(f), crc: crc32.New(crc32c), off: walHeaderSize}
	var ends []int64
	for {
		meta, _, _, ok := r.entry()
		if !ok {
			return ends, nil
		}
		if meta&walBitFinTxn != 0 {
			ends = append(ends, r.off)
		}
	}
}

// LastCommit returns the number of the store's last commit.
func (s *DB) LastCommit() uint64 {
	s.commits.mu.Lock()
	defer s.commits.mu.Unlock()
	return s.commits.last
}

// RewriteAuditEntry replaces the stored bytes of an area's audit entry
// with change's edit of it, as someone with access to the data directory
// could; change nil removes the entry.
func (s *DB) RewriteAuditEntry(area string, seq uint64, change func(*Audit)) error {
	return s.db.Update(func(txn *badger.Txn) error {
		key := auditEntryKey(area, seq)
		if change == nil {
			return txn.Delete(key)
		}
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		e, err := DecodeAudit(v)
		if err != nil {
			return err
		}
		change(e)
		return txn.Set(key, e.Encode())
	})
}

// AppendPendingAudit writes an entry as an audited transaction does,
// without sealing it.
func (s *DB) AppendPendingAudit(a *Audit) error {
	id := s.audit.floor.begin()
	defer s.audit.floor.end(id)
	return s.db.Update(func(txn *badger.Txn) error {
		return appendAudit(txn.Set, &s.audit.floor, a, s.now())
	})
}

// SetPurgeBatch makes purge transactions delete at most n keys until the
// test ends.
func SetPurgeBatch(t interface{ Cleanup(func()) }, n int) {
	was := purgeBatch
	purgeBatch = n
	t.Cleanup(func() { purgeBatch = was })
}

// PurgeStartOnly runs only the first transaction of PurgeClient, as a
// purge a crash interrupted right after it.
func (s *DB) PurgeStartOnly(ctx context.Context, clientID string, head uint64, at time.Time, audit *Audit) error {
	_, err := s.purgeStart(ctx, clientID, head, at, audit)
	return err
}

// Contains reports whether any live key or value of the store holds
// needle.
func (s *DB) Contains(needle []byte) (bool, error) {
	found := false
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid() && !found; it.Next() {
			found = bytes.Contains(it.Item().Key(), needle)
			if err := it.Item().Value(func(v []byte) error {
				found = found || bytes.Contains(v, needle)
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	return found, err
}
