package store

import (
	"bytes"
	"testing"
)

func TestRecordArenaCopiesStayApart(t *testing.T) {
	var a recordArena
	src := []byte("first")
	first := a.copy(src)
	src[0] = 'X' // the copy does not follow its source
	second := a.copy([]byte("second"))
	// Appending to one copy must not write over the next.
	_ = append(first, "!!!!!!"...)
	if string(first) != "first" || string(second) != "second" {
		t.Fatalf("copies = %q, %q; want \"first\", \"second\"", first, second)
	}
	big := bytes.Repeat([]byte{7}, arenaChunk/4+1)
	if got := a.copy(big); !bytes.Equal(got, big) || &got[0] == &big[0] {
		t.Fatal("a large record is not copied")
	}
	// A chunk that is full starts another; earlier copies keep their bytes.
	var copies [][]byte
	for i := range 2 * arenaChunk / 1000 {
		copies = append(copies, a.copy(bytes.Repeat([]byte{byte(i)}, 1000)))
	}
	for i, c := range copies {
		if len(c) != 1000 || c[0] != byte(i) || c[999] != byte(i) {
			t.Fatalf("copy %d changed", i)
		}
	}
}
