package store

import (
	"encoding/binary"
	"slices"
	"sync"

	"github.com/google/uuid"
)

// A seal deletes the pending entries it moves, and Badger keeps each
// deletion as a tombstone until compaction drops it: a seal that read the
// pending table from its start walked every entry sealed since (issue 16's
// reconnect storm: a fifth of the server's CPU, and more the longer the
// server ran, in every push's seal and every directory read's). So a seal
// seeks, in each area, to a floor below which no unsealed entry can be:
//
// Pending keys end in a UUIDv7, whose first 8 bytes (time and sequence)
// strictly increase within the process. Every read-write transaction
// notes such a prefix when it begins (begin), before any key it writes is
// drawn, and drops it once its commit has succeeded or failed (end). A
// seal takes, before its snapshot, the lowest prefix of the transactions
// still open and a fresh one (mark): an entry its snapshot does not see
// was written by one of those, or by a later one, so its key is above
// that mark. After a seal that took everything it saw, the mark is the
// next seals' floor. Until the first such seal after the store opened
// (entries a previous process left), seals read the table whole.

// pendingFloor is that bookkeeping, and the areas that have had pending
// entries since the store opened (a seal seeks in each).
type pendingFloor struct {
	mu    sync.Mutex
	open  map[uint64]uint64 // a transaction in flight → its prefix when it began
	last  uint64            // the last transaction's number
	areas map[string]bool
	floor uint64 // 0: not known yet (read the table whole)
}

// v7Prefix is the first 8 bytes of a fresh UUIDv7.
func v7Prefix() uint64 {
	id := uuid.Must(uuid.NewV7())
	return binary.BigEndian.Uint64(id[:8])
}

// begin notes a read-write transaction beginning; end(id) its end.
func (f *pendingFloor) begin() (id uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.open == nil {
		f.open = map[uint64]uint64{}
	}
	f.last++
	f.open[f.last] = v7Prefix()
	return f.last
}

func (f *pendingFloor) end(id uint64) {
	f.mu.Lock()
	delete(f.open, id)
	f.mu.Unlock()
}

// noteArea records that area has a pending entry (before its key is drawn).
func (f *pendingFloor) noteArea(area string) {
	if f == nil {
		return // a read-only transaction: its writes fail
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.areas[area] {
		if f.areas == nil {
			f.areas = map[string]bool{}
		}
		f.areas[area] = true
	}
}

// mark returns the floor a seal beginning now may leave behind it, the
// floor it reads from (0: the whole table) and the areas to read.
func (f *pendingFloor) mark() (next, floor uint64, areas []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	next = v7Prefix()
	for _, p := range f.open {
		next = min(next, p)
	}
	for a := range f.areas {
		areas = append(areas, a)
	}
	slices.Sort(areas)
	return next, f.floor, areas
}

// sealedTo records a seal that took every pending entry it saw, begun at
// mark next.
func (f *pendingFloor) sealedTo(next uint64) {
	f.mu.Lock()
	f.floor = max(f.floor, next)
	f.mu.Unlock()
}
