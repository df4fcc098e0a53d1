package colzstd

import (
	"bytes"
	"encoding/binary"
)

// runTable numbers the text runs of one message. It is a map from run to
// number without Go's map costs on the hot path (a text is forty-odd runs):
// a cheap hash, open addressing, and runs kept as slices of the message
// being encoded, so adding one allocates nothing.
type runTable struct {
	slots []uint32 // number+1 of the run hashed there; 0: empty
	runs  [][]byte
}

func (t *runTable) reset() {
	clear(t.slots)
	t.runs = t.runs[:0]
}

// id returns run's number, and whether it was new (then it is added).
func (t *runTable) id(run []byte) (uint32, bool) {
	if len(t.slots) < 2*(len(t.runs)+1) {
		t.grow()
	}
	mask := uint64(len(t.slots) - 1)
	for i := hashRun(run) & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == 0 {
			t.runs = append(t.runs, run)
			t.slots[i] = uint32(len(t.runs))
			return uint32(len(t.runs) - 1), true
		}
		if bytes.Equal(t.runs[s-1], run) {
			return s - 1, false
		}
	}
}

func (t *runTable) grow() {
	n := max(256, 2*len(t.slots))
	t.slots = make([]uint32, n)
	mask := uint64(n - 1)
	for j, r := range t.runs {
		i := hashRun(r) & mask
		for t.slots[i] != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = uint32(j + 1)
	}
}

// hashRun mixes b eight bytes at a time.
func hashRun(b []byte) uint64 {
	const m = 0x9e3779b97f4a7c15
	h := uint64(len(b)) * m
	for len(b) >= 8 {
		h = (h ^ binary.LittleEndian.Uint64(b)) * m
		h ^= h >> 29
		b = b[8:]
	}
	var tail uint64
	for i, c := range b {
		tail |= uint64(c) << (8 * i)
	}
	h = (h ^ tail) * m
	return h ^ h>>32
}
