package colzstd

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// The frames this package writes are its wire format: a change to them,
// however it is made, must still decode with the decoders already in the
// field. testdata/frames.golden holds the SHA-256 of the frame (and of the
// columns' body before zstd, which says which half changed) of each of a
// set of inputs, as the encoder wrote them when the format was released
// (klauspost/compress v1.20.3). A faster encoder writes the same bytes.
// A new zstd release may change the zstd half; then regenerate with
// -update-golden and say so in the commit.

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/frames.golden from the current encoder")

const goldenFile = "testdata/frames.golden"

// goldenInput is one message and how it is framed.
type goldenInput struct {
	name     string
	msg      []byte
	tableMin int // the compressor's tableMin (0: every message as columns)
}

func goldenInputs(t testing.TB) []goldenInput {
	in := []goldenInput{
		{"peer-1", peerPage(t, 1), tableMin},
		{"peer-1-columns", peerPage(t, 1), 0},
		{"peer-3-columns", peerPage(t, 3), 0},
		{"peer-201", peerPage(t, 201), tableMin},
		{"peer-2000", peerPage(t, 2000), tableMin},
		{"empty", nil, 0},
		{"empty-message-field", []byte{0x0a, 0x00}, 0},
		{"not-protobuf", []byte("\xff\xff\xff\xff not a message"), 0},
		{"non-minimal-varint", []byte{0x18, 0x81, 0x00}, 0},
		{"non-minimal-length", []byte{0x12, 0x81, 0x00, 'x'}, 0},
		{"group", []byte{0x0b, 0x0c}, 0},
		{"message-field-not-a-message", []byte{0x0a, 0x03, 0xff, 0xff, 0xff}, 0},
		{"plain", []byte("plain"), tableMin},
	}
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 40 {
		in = append(in, goldenInput{fmt.Sprintf("random-%02d", i), randomMessage(t, r), 0})
	}
	in = append(in, goldenInput{"many-runs", manyRuns(t), 0}, goldenInput{"dict-overflow", dictOverflow(t), 0})
	var long bytes.Buffer
	long.Write(peerPage(t, 50))
	for i := range 3000 {
		fmt.Fprintf(&long, "%c", 0x2000+i) // not a valid message: sent as zstd
	}
	in = append(in, goldenInput{"not-a-message-large", long.Bytes(), tableMin})
	return in
}

// manyRuns is a page whose texts have thousands of distinct runs (the run
// table grows past its first size) and odd separators.
func manyRuns(t testing.TB) []byte {
	r := rand.New(rand.NewPCG(5, 6))
	rec := &v1.RecordState{RecordId: "r", RecordType: "note"}
	for i := range 40 {
		var b strings.Builder
		for range 200 {
			fmt.Fprintf(&b, "w%x%s", r.IntN(1<<16), []string{" ", " ", " ", "  ", ", ", "\t", "—", " é"}[r.IntN(8)])
		}
		rec.Fields = append(rec.Fields, &v1.FieldState{Field: fmt.Sprint("f", i%7), Value: sample.Str(b.String())})
	}
	return marshal(t, &v1.PullResponse{Buckets: []*v1.BucketUpdate{{ClientId: "c", Records: []*v1.RecordState{rec}}}})
}

// dictOverflow is a page with more distinct values on one path than its
// dictionary holds.
func dictOverflow(t testing.TB) []byte {
	bu := &v1.BucketUpdate{ClientId: "c"}
	for i := range maxDict + 500 {
		bu.Records = append(bu.Records, &v1.RecordState{RecordType: fmt.Sprint("t", i%(maxDict+300))})
	}
	return marshal(t, &v1.PullResponse{Buckets: []*v1.BucketUpdate{bu}})
}

func marshal(t testing.TB, m proto.Message) []byte {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// goldenFrames frames every input, with one compressor per input (fresh)
// or one for all in turn (as Connect's pool reuses them): the two must
// agree.
func goldenFrames(t *testing.T, in []goldenInput) (frames, bodies [][]byte) {
	shared := NewCompressor().(*compressor)
	for _, g := range in {
		fresh := NewCompressor().(*compressor)
		fresh.tableMin, shared.tableMin = g.tableMin, g.tableMin
		f := compressWith(t, fresh, g.msg)
		if again := compressWith(t, shared, g.msg); !bytes.Equal(again, f) {
			t.Errorf("%s: a reused compressor writes another frame than a fresh one", g.name)
		}
		var body []byte
		if len(g.msg) >= g.tableMin {
			b, ends, ok := fresh.sh.shred(g.msg, pullDescriptor)
			if ok {
				// The body and where its large columns start and end (the
				// chunks' ends but the last, the body's end).
				body = fmt.Appendf(append([]byte(nil), b...), "%v", ends[:len(ends)-1])
			}
		}
		frames, bodies = append(frames, f), append(bodies, body)
	}
	return frames, bodies
}

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

// TestGoldenFrames: the encoder writes, byte for byte, the frames it
// wrote when the format was released, and they decode to their input.
func TestGoldenFrames(t *testing.T) {
	in := goldenInputs(t)
	frames, bodies := goldenFrames(t, in)
	if *updateGolden {
		var b strings.Builder
		for i, g := range in {
			fmt.Fprintf(&b, "%s %d %s %s\n", g.name, len(frames[i]), sum(frames[i]), sum(bodies[i]))
		}
		if err := os.WriteFile(goldenFile, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := readGolden(t)
	d := NewDecompressor()
	for i, g := range in {
		got := fmt.Sprintf("%d %s %s", len(frames[i]), sum(frames[i]), sum(bodies[i]))
		if got != want[g.name] {
			t.Errorf("%s: frame %s, want %s (length, frame hash, body hash)", g.name, got, want[g.name])
		}
		if back, err := decompress(d, frames[i]); err != nil || !bytes.Equal(back, g.msg) {
			t.Errorf("%s: rebuilt %d bytes (%v), want the %d sent", g.name, len(back), err, len(g.msg))
		}
	}
	if len(want) != len(in) {
		t.Errorf("%d golden frames, %d inputs", len(want), len(in))
	}
}

func readGolden(t *testing.T) map[string]string {
	f, err := os.Open(goldenFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, _ := strings.Cut(sc.Text(), " ")
		want[name] = rest
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return want
}
