package colzstd

import (
	"fmt"
	"strings"
	"testing"
)

// TestTable: strings are numbered in the order they are first added,
// whatever their length (a word's bytes or a hash), through growth and
// reuse; strings alike but for trailing zero bytes or length stay apart.
func TestTable(t *testing.T) {
	var keys [][]byte
	for _, s := range []string{"", "a", "a\x00", "a\x00\x00", "abcdefgh", "abcdefg", "abcdefghi", "abcdefgh\x00"} {
		keys = append(keys, []byte(s))
	}
	for i := range 5000 {
		keys = append(keys, fmt.Appendf(nil, "%0*d", 1+i%40, i))
	}
	// Slices with no room past their end (read byte by byte).
	keys = append(keys, []byte("xy")[:2:2], []byte("0123456789")[:10:10])
	var tb table
	for round := range 3 {
		for i, k := range keys {
			id, added := tb.id(k)
			if id != uint32(i) || !added {
				t.Fatalf("round %d: %q got %d (added %v), want %d, added", round, k, id, added, i)
			}
		}
		for i, k := range keys {
			if id, added := tb.id([]byte(string(k))); id != uint32(i) || added {
				t.Fatalf("round %d: %q again got %d (added %v), want %d", round, k, id, added, i)
			}
		}
		if _, found, _ := tb.find([]byte("not there")); found {
			t.Errorf("round %d: found a string never added", round)
		}
		tb.reset()
	}
	// A small message after a large one: the next reset lets go of the
	// large table.
	big := len(tb.slots)
	tb.id([]byte("small"))
	tb.reset()
	if len(tb.slots) != 0 || big < 8192 {
		t.Errorf("a table grown to %d slots for one message keeps %d after one of a single string", big, len(tb.slots))
	}
}

func TestParseUUID(t *testing.T) {
	const good = "0123abcd-4567-89ef-a0b1-c2d3e4f5a6b7"
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{good, true},
		{"00000000-0000-0000-0000-000000000000", true},
		{"ffffffff-ffff-ffff-ffff-ffffffffffff", true},
		{strings.ToUpper(good), false},
		{"0123abcd-4567-89ef-a0b1-c2d3e4f5a6bg", false},
		{"0123abcd-4567-89ef-a0b1-c2d3e4f5a6b", false},
		{"0123abcd-4567-89ef-a0b1-c2d3e4f5a6b70", false},
		{"0123abcd04567-89ef-a0b1-c2d3e4f5a6b7", false},
		{"0123abcd-4567-89ef-a0b1-c2d3e4f5a6/7", false},
		{"0123abcd-4567-89ef-a0b1-c2d3e4f5a6:7", false},
		{"0123abcd-4567-89ef-a0b1-c2d3e4f5a6`7", false},
		{"0123abcd-4567-89ef-a0b1-c2d3e4f5a6\xe97", false},
		{"", false},
	} {
		raw, ok := parseUUID([]byte(tt.in))
		if ok != tt.want {
			t.Errorf("parseUUID(%q) ok %v, want %v", tt.in, ok, tt.want)
			continue
		}
		if ok {
			if got := string(formatUUID(nil, raw[:])); got != tt.in {
				t.Errorf("parseUUID(%q) formats back as %q", tt.in, got)
			}
		}
	}
}

// TestCompressorReusesItsState: a pooled compressor framing page after
// page allocates nothing per page (its buffers, paths and tables are
// kept).
func TestCompressorReusesItsState(t *testing.T) {
	page := peerPage(t, 201)
	c := NewCompressor()
	var w discard
	c.Reset(w)
	allocs := testing.AllocsPerRun(20, func() {
		c.Reset(w)
		if _, err := c.Write(page); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Errorf("%.1f allocations a page, want none", allocs)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
