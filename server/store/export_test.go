package store

import (
	"bufio"
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
	return s.db.Update(func(txn *badger.Txn) error {
		return appendAudit(txn.Set, a, s.now())
	})
}
