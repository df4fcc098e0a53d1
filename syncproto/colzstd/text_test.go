package colzstd

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// TestTextRunsOfEveryLength: texts whose word and separator runs have
// every length from one to forty bytes (either side of the sizes copied
// a word at a time), at the end of a message too, come back byte for
// byte.
func TestTextRunsOfEveryLength(t *testing.T) {
	var b strings.Builder
	for n := 1; n <= 40; n++ {
		b.WriteString(strings.Repeat(string(rune('a'+n%26)), n))
		b.WriteString(strings.Repeat(" ,"[n%2:n%2+1], 1+n%20))
		b.WriteString(strings.Repeat("é", n/2))
		b.WriteString(" ")
	}
	text := b.String()
	c, d := NewCompressor(), NewDecompressor()
	c.(*compressor).tableMin = 0
	for cut := range 64 {
		if !utf8.ValidString(text[cut:]) || !utf8.ValidString(text[:len(text)-cut]) {
			continue // not at a character's start
		}
		rec := &v1.RecordState{RecordId: "r", Fields: []*v1.FieldState{
			{Field: "notes", Value: sample.Str(text[cut:])},
			{Field: "again", Value: sample.Str(text[:len(text)-cut])},
		}}
		msg := marshal(t, &v1.PullResponse{Buckets: []*v1.BucketUpdate{{ClientId: "c", Records: []*v1.RecordState{rec}}}})
		frame := compressWith(t, c, msg)
		got, err := decompress(d, frame)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("cut %d: rebuilt %d bytes (%v), want the %d sent", cut, len(got), err, len(msg))
		}
		if frame[1] != modeTable {
			t.Fatalf("cut %d: sent as %q, want columns", cut, frame[1])
		}
	}
}
