package store

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/badger/v4/y"
)

// Badger's write-ahead log (a memtable's .mem file), as its replay reads it
// (badger/v4 memtable.go logFile.iterate): a 20-byte header (the data key
// id, 0 when unencrypted, and an IV), then entries, each a header (meta,
// user meta, then key length, value length and expiry as uvarints), the
// key (ending in its version), the value and a CRC-32C of all three. The
// entries of a transaction carry walBitTxn and are closed by an entry with
// walBitFinTxn whose value is the transaction's version in decimal. Replay
// stops at the first entry that does not read back whole and valid, and
// keeps the transactions before it.
const (
	walHeaderSize = 20
	walMaxKey     = 1 << 16
	walBitTxn     = 1 << 6
	walBitFinTxn  = 1 << 7
)

// An encrypted log's header holds the id of its data key and a 12-byte
// base IV; each entry's key and value (not its header) are then encrypted
// with AES-CTR under that key with the IV base IV || the entry's offset
// (4 bytes, big-endian), and its CRC is of the encrypted bytes (memtable.go
// encodeEntry, generateIV).

// walScan is what reading one write-ahead log file the way Badger replays
// it found.
type walScan struct {
	// End is where replay stops: just after the last whole transaction.
	End int64
	// MinVersion and MaxVersion bound the versions of the whole
	// transactions (both 0 if there are none).
	MinVersion, MaxVersion uint64
	// Trailing is set if bytes other than zero follow End: entries replay
	// will drop.
	Trailing bool
	// Encrypted is set if the file is encrypted and its data key was not
	// at hand; nothing else is known then.
	Encrypted bool
}

// scanWAL reads the write-ahead log file at path, decrypting it with its
// data key from kr if it is encrypted (kr nil: the store is not).
func scanWAL(path string, kr *badger.KeyRegistry) (walScan, error) {
	var w walScan
	f, err := os.Open(path)
	if err != nil {
		return w, err
	}
	defer func() { _ = f.Close() }() // opened read-only: closing it loses nothing
	head := make([]byte, walHeaderSize)
	if _, err := io.ReadFull(f, head); err != nil {
		// Too short to hold an entry: replay keeps nothing of it.
		w.Trailing = !allZero(head)
		return w, nil
	}
	r := &walReader{r: bufio.NewReaderSize(f, 1<<16), crc: crc32.New(crc32c), off: walHeaderSize}
	if id := binary.BigEndian.Uint64(head[:8]); id != 0 {
		if kr == nil {
			w.Encrypted = true
			return w, nil
		}
		if r.key, err = kr.DataKey(id); err != nil {
			// A log whose key is not in the registry cannot be replayed
			// at all: Badger refuses it.
			return w, &DamageError{Dir: filepath.Dir(path), Kind: DamageUnreadable, Files: []string{filepath.Base(path)}, Err: err}
		}
		r.baseIV = head[8:walHeaderSize]
	}
	w.End = walHeaderSize
	var txn uint64 // the version of the transaction being read, 0 between them
	for {
		meta, key, value, ok := r.entry()
		if !ok {
			break
		}
		v := walVersion(key)
		if meta&walBitTxn != 0 {
			if txn == 0 {
				txn = v
			}
			if v != txn {
				break
			}
			continue
		}
		if meta&walBitFinTxn != 0 {
			if fin, err := strconv.ParseUint(string(value), 10, 64); err != nil || fin != txn || txn == 0 {
				break
			}
		} else if txn != 0 {
			break
		}
		if v = max(v, txn); w.MinVersion == 0 || v < w.MinVersion {
			w.MinVersion = v
		}
		w.MaxVersion = max(w.MaxVersion, v)
		w.End, txn = r.off, 0
	}
	w.Trailing, err = nonZeroFrom(f, w.End)
	return w, err
}

// walVersion is the version at the end of an entry's key.
func walVersion(key []byte) uint64 {
	if len(key) <= 8 {
		return 0
	}
	return math.MaxUint64 - binary.BigEndian.Uint64(key[len(key)-8:])
}

// walReader reads entries, counting their bytes.
type walReader struct {
	r   *bufio.Reader
	crc hash.Hash32
	off int64 // bytes read from the file
	// key and baseIV decrypt an encrypted log's entries (key nil: not
	// encrypted).
	key    *pb.DataKey
	baseIV []byte
}

func (r *walReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.off += int64(n)
	return n, err
}

func (r *walReader) ReadByte() (byte, error) {
	c, err := r.r.ReadByte()
	if err == nil {
		r.off++
		r.crc.Write([]byte{c})
	}
	return c, err
}

// entry reads the next entry; ok is false if it does not read back whole
// with a matching checksum, or is empty (the zeroes after the last one).
func (r *walReader) entry() (meta byte, key, value []byte, ok bool) {
	start := r.off
	r.crc.Reset()
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, nil, false
	}
	r.crc.Write(h[:])
	klen, err1 := binary.ReadUvarint(r)
	vlen, err2 := binary.ReadUvarint(r)
	_, err3 := binary.ReadUvarint(r)
	if errors.Join(err1, err2, err3) != nil || klen == 0 || klen > walMaxKey || vlen > math.MaxUint32 {
		return 0, nil, nil, false
	}
	kv := make([]byte, klen+vlen)
	if _, err := io.ReadFull(r, kv); err != nil {
		return 0, nil, nil, false
	}
	r.crc.Write(kv)
	var sum [4]byte
	if _, err := io.ReadFull(r, sum[:]); err != nil || binary.BigEndian.Uint32(sum[:]) != r.crc.Sum32() {
		return 0, nil, nil, false
	}
	if r.key != nil {
		iv := binary.BigEndian.AppendUint32(append(make([]byte, 0, 16), r.baseIV...), uint32(start))
		var err error
		if kv, err = y.XORBlockAllocate(kv, r.key.Data, iv); err != nil {
			return 0, nil, nil, false
		}
	}
	return h[0], kv[:klen], kv[klen:], true
}

// nonZeroFrom reports whether f holds a byte other than zero at or after
// off.
func nonZeroFrom(f *os.File, off int64) (bool, error) {
	buf := make([]byte, 1<<20)
	for {
		n, err := f.ReadAt(buf, off)
		if !allZero(buf[:n]) {
			return true, nil
		}
		off += int64(n)
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
}

var zeroes = make([]byte, 1<<20)

// allZero reports whether b, at most 1 MiB, is all zero bytes.
func allZero(b []byte) bool { return bytes.Equal(b, zeroes[:len(b)]) }
