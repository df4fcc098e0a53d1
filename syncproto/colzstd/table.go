package colzstd

import (
	"bytes"
	"encoding/binary"
)

// table numbers byte strings in the order they are added: the message's
// text runs, and each path's dictionary. It is a map from bytes to number
// without Go's map costs on the hot path: no string conversion, open
// addressing, a string of up to eight bytes compared as one word, and
// strings kept as slices of the message being encoded, so adding one
// allocates nothing. It is reused message after message.
type table struct {
	slots []slot
	vals  [][]byte
}

// slot is one place in the table: for a string of up to eight bytes its
// bytes as a word, else its hash; its length; its number+1 (0: empty).
type slot struct {
	k  uint64
	n  uint32
	id uint32
}

// tableMinSlots is a table's first size.
const tableMinSlots = 16

func (t *table) reset() {
	// A table grown for one large message is not kept at that size for
	// every small one after it.
	if len(t.slots) > 1024 && 8*len(t.vals) < len(t.slots) {
		t.slots = nil
	}
	clear(t.slots)
	t.vals = t.vals[:0]
}

func (t *table) len() int { return len(t.vals) }

// find returns v's number if it is in the table, else where add puts it.
// The place stays good until the next add.
func (t *table) find(v []byte) (id uint32, found bool, at int) {
	if len(t.slots) < 2*(len(t.vals)+1) {
		t.grow()
	}
	n := uint32(len(v))
	var k, h uint64
	if n <= 8 {
		k = pack(v)
		h = mix(k, n)
	} else {
		h = hashBytes(v)
		k = h
	}
	mask := len(t.slots) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.id == 0 {
			return 0, false, i
		}
		if s.k == k && s.n == n && (n <= 8 || bytes.Equal(t.vals[s.id-1], v)) {
			return s.id - 1, true, i
		}
	}
}

// add puts v, which find did not find, at the place it returned, and
// returns its number.
func (t *table) add(v []byte, at int) uint32 {
	k, _ := key(v)
	t.vals = append(t.vals, v)
	t.slots[at] = slot{k: k, n: uint32(len(v)), id: uint32(len(t.vals))}
	return uint32(len(t.vals) - 1)
}

// id returns v's number, and whether it was new (then it is added).
func (t *table) id(v []byte) (uint32, bool) {
	id, found, at := t.find(v)
	if found {
		return id, false
	}
	return t.add(v, at), true
}

func (t *table) grow() {
	old := t.slots
	n := max(tableMinSlots, 2*len(old))
	t.slots = make([]slot, n)
	mask := n - 1
	for _, s := range old {
		if s.id == 0 {
			continue
		}
		i := int(slotHash(s.k, s.n)) & mask
		for t.slots[i].id != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = s
	}
}

// key is v's word (its bytes, if it has at most eight, else its hash)
// and its hash.
func key(v []byte) (k, h uint64) {
	if len(v) > 8 {
		h = hashBytes(v)
		return h, h
	}
	k = pack(v)
	return k, mix(k, uint32(len(v)))
}

func slotHash(k uint64, n uint32) uint64 {
	if n > 8 {
		return k
	}
	return mix(k, n)
}

// pack is the at most eight bytes of v as a little-endian word.
func pack(v []byte) uint64 {
	n := len(v)
	if cap(v) >= 8 {
		w := binary.LittleEndian.Uint64(v[:8])
		if n == 8 {
			return w
		}
		return w & (1<<(8*uint(n)) - 1)
	}
	var w uint64
	for i, c := range v {
		w |= uint64(c) << (8 * i)
	}
	return w
}

const golden64 = 0x9e3779b97f4a7c15

func mix(k uint64, n uint32) uint64 {
	h := (k + uint64(n)) * golden64
	return h ^ h>>29
}

// hashBytes mixes b eight bytes at a time.
func hashBytes(b []byte) uint64 {
	h := uint64(len(b)) * golden64
	for len(b) >= 8 {
		h = (h ^ binary.LittleEndian.Uint64(b)) * golden64
		h ^= h >> 29
		b = b[8:]
	}
	h = (h ^ pack(b)) * golden64
	return h ^ h>>32
}
