package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// AckFileName is the file, in the data directory beside Badger's own, in
// which the store records the number of the last commit it acknowledged
// (see ackFile).
const AckFileName = "ACKNOWLEDGED"

// The file holds two slots of ackSlotSize bytes, written in turn, so that
// a write torn by a power cut spoils only the slot being written and the
// other still holds the previous number. A slot is ackMagic, the commit
// number (big-endian) and a CRC-32C of both.
const (
	ackSlotSize = 32
	ackMagic    = "TCACK001"
)

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// ackFile is the acknowledgement record: outside Badger's write-ahead log,
// it says up to which commit number the store has acknowledged writes, so
// that an open can tell whether what Badger replayed falls short of it.
//
// A commit's number is recorded after Badger has synced the commit and
// before the write is acknowledged, so the record is never behind an
// acknowledged write and never ahead of a durable one. Writers waiting at
// the same time share one write and sync (group commit): each waits until
// the record holds its number or a higher one.
type ackFile struct {
	f *os.File

	mu      sync.Mutex
	cond    *sync.Cond
	want    uint64 // the highest number asked for
	done    uint64 // the highest number durably recorded
	writing bool   // a write is under way (outside mu)
	slot    int64  // the slot the next write goes to
}

// readAckFile returns the number an acknowledgement record holds; ok is
// false if dir has none. A record with no valid slot is an error.
func readAckFile(dir string) (n uint64, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, AckFileName))
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	n, _, valid := decodeAckSlots(b)
	if !valid {
		return 0, true, errors.New("no slot of it holds a valid record")
	}
	return n, true, nil
}

// decodeAckSlots returns the highest number among b's valid slots and the
// slot holding it.
func decodeAckSlots(b []byte) (n uint64, slot int64, valid bool) {
	for i := int64(0); i < 2; i++ {
		s := b[min(int64(len(b)), i*ackSlotSize):min(int64(len(b)), (i+1)*ackSlotSize)]
		if len(s) < 20 || string(s[:8]) != ackMagic || crc32.Checksum(s[:16], crc32c) != binary.BigEndian.Uint32(s[16:20]) {
			continue
		}
		if v := binary.BigEndian.Uint64(s[8:16]); !valid || v > n {
			n, slot, valid = v, i, true
		}
	}
	return n, slot, valid
}

func encodeAckSlot(n uint64) []byte {
	b := make([]byte, ackSlotSize)
	copy(b, ackMagic)
	binary.BigEndian.PutUint64(b[8:16], n)
	binary.BigEndian.PutUint32(b[16:20], crc32.Checksum(b[:16], crc32c))
	return b
}

// createAckFile writes a new record holding n into dir, replacing any
// there: it is written to a temporary file, synced, renamed into place and
// the directory synced, so a crash leaves the old record or the new one.
func createAckFile(dir string, n uint64) (*ackFile, error) {
	tmp := filepath.Join(dir, AckFileName+".tmp")
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	slot := encodeAckSlot(n)
	if _, err := f.Write(append(slot, slot...)); err != nil {
		return nil, errors.Join(err, f.Close())
	}
	if err := f.Sync(); err != nil {
		return nil, errors.Join(err, f.Close())
	}
	if err := os.Rename(tmp, filepath.Join(dir, AckFileName)); err != nil {
		return nil, errors.Join(err, f.Close())
	}
	if err := syncDir(dir); err != nil {
		return nil, errors.Join(err, f.Close())
	}
	return newAckFile(f, n, 0), nil
}

// openAckFile opens dir's record for writing, checking that it holds a
// valid slot, and returns it with the number it holds.
func openAckFile(dir string) (*ackFile, uint64, error) {
	f, err := os.OpenFile(filepath.Join(dir, AckFileName), os.O_RDWR, 0)
	if err != nil {
		return nil, 0, err
	}
	b, err := io.ReadAll(io.LimitReader(f, 2*ackSlotSize))
	if err != nil {
		return nil, 0, errors.Join(err, f.Close())
	}
	n, slot, valid := decodeAckSlots(b)
	if !valid {
		return nil, 0, errors.Join(errors.New("no slot of it holds a valid record"), f.Close())
	}
	return newAckFile(f, n, 1-slot), n, nil
}

func newAckFile(f *os.File, n uint64, next int64) *ackFile {
	a := &ackFile{f: f, want: n, done: n, slot: next}
	a.cond = sync.NewCond(&a.mu)
	return a
}

// record returns once the file durably holds n or a higher number. One
// caller writes for all who are waiting; the others wait for its write.
func (a *ackFile) record(n uint64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.want = max(a.want, n)
	for a.done < n {
		if a.writing {
			a.cond.Wait()
			continue
		}
		a.writing = true
		target, slot := a.want, a.slot
		a.mu.Unlock()
		err := a.write(slot, target)
		a.mu.Lock()
		a.writing = false
		a.cond.Broadcast()
		if err != nil {
			// The slot written may be torn; the other still holds the
			// previous number, and the next write goes to the same slot.
			return fmt.Errorf("store: recording commit %d in %s: %w", target, AckFileName, err)
		}
		a.slot = 1 - slot
		a.done = max(a.done, target)
	}
	return nil
}

func (a *ackFile) write(slot int64, n uint64) error {
	if _, err := a.f.WriteAt(encodeAckSlot(n), slot*ackSlotSize); err != nil {
		return err
	}
	return datasync(a.f)
}

// close closes the file.
func (a *ackFile) close() error { return a.f.Close() }

// syncDir syncs a directory, so that a rename in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
