package peer

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

// The sizes bench-workload.md gives for seed 42 (the records' JSON, without
// the newlines: with them the NDJSON is n bytes longer, which the writer
// checks too).
func TestNDJSONSizes(t *testing.T) {
	tests := []struct {
		n    int
		want int64
	}{
		{10_000, 5_590_516},
		{100_000, 55_908_839},
	}
	for _, tt := range tests {
		cw := &countingWriter{w: io.Discard}
		got, err := WriteNDJSON(cw, tt.n, DefaultSeed)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want || cw.n != tt.want+int64(tt.n) {
			t.Errorf("N=%d seed 42: %d bytes of records (%d of NDJSON), want %d (%d)", tt.n, got, cw.n, tt.want, tt.want+int64(tt.n))
		}
	}
}

// Mulberry32's first values for seed 42 (those of the reference
// implementation in JavaScript, Math.imul and >>> 0).
func TestMulberry32(t *testing.T) {
	r := NewRand(42)
	want := []uint32{2581720956, 1925393290, 3661312704, 2876485805}
	for i, w := range want {
		if got := r.Next(); got != w {
			t.Fatalf("next() #%d = %d, want %d", i+1, got, w)
		}
	}
}

func TestRecordShape(t *testing.T) {
	var b bytes.Buffer
	if _, err := WriteNDJSON(&b, 50, DefaultSeed); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 50 {
		t.Fatalf("%d lines, want 50", len(lines))
	}
	wantKeys := `{"id":"`
	for _, l := range lines {
		if !strings.HasPrefix(l, wantKeys) || !strings.Contains(l, `","client_id":"`) || !strings.HasSuffix(l, "}") {
			t.Fatalf("line %q: keys out of order", l)
		}
		var r Record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if len(r.Notes) != NotesBytes || len(r.ID) != 36 || r.ID[14] != '4' || !strings.ContainsAny(r.ID[19:20], "89ab") {
			t.Fatalf("record %+v: notes %d bytes, id %q", r, len(r.Notes), r.ID)
		}
	}
}

// A change to the generator that keeps the sizes would still show here:
// the digest of the first 1,000 records.
func TestDeterministic(t *testing.T) {
	digest := func() [32]byte {
		h := sha256.New()
		if _, err := WriteNDJSON(h, 1000, DefaultSeed); err != nil {
			t.Fatal(err)
		}
		return [32]byte(h.Sum(nil))
	}
	if a, b := digest(), digest(); a != b {
		t.Fatal("two runs of the same seed differ")
	}
	var other bytes.Buffer
	if _, err := WriteNDJSON(&other, 1, 43); err != nil {
		t.Fatal(err)
	}
	var first bytes.Buffer
	if _, err := WriteNDJSON(&first, 1, DefaultSeed); err != nil {
		t.Fatal(err)
	}
	if other.String() == first.String() {
		t.Fatal("seeds 42 and 43 give the same first record")
	}
}
