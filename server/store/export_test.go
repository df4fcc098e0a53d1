package store

import (
	"bufio"
	"hash/crc32"
	"io"
	"os"
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
