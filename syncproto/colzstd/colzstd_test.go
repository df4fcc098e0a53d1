package colzstd

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/sample"
	"github.com/throughcare/throughcare/syncproto/sample/peer"
)

// peerPage is a pull page of n of the peers' contacts, as the server
// sends them: the record's stamp and author shared by its fields. The
// same n gives the same bytes (the golden frames depend on it).
func peerPage(t testing.TB, n int) []byte {
	t.Helper()
	g := peer.New(42)
	ids := peer.NewRand(7)
	users := make([]string, peer.Workers)
	devices := make([]string, peer.Workers)
	for i := range users {
		users[i], devices[i] = ids.UUID(), ids.UUID()
	}
	buckets := map[int]*v1.BucketUpdate{}
	resp := &v1.PullResponse{Cursor: []byte("cursor-bytes"), HasMore: true, ServerTime: timestamppb.New(time.Unix(1765000000, 5)), SchemaVersion: 4}
	for i := range n {
		c := g.NextContact()
		bu := buckets[c.Client]
		if bu == nil {
			bu = &v1.BucketUpdate{ClientId: g.Clients[c.Client], Action: v1.BucketAction_BUCKET_ACTION_SNAPSHOT}
			buckets[c.Client] = bu
			resp.Buckets = append(resp.Buckets, bu)
		}
		rec := &v1.RecordState{RecordId: c.ID, RecordType: "contact", Position: uint64(i + 1),
			Stamp:  &v1.Stamp{Time: uint64(1765000000000+i*37) << 16, Replica: devices[c.Worker]},
			Author: &v1.Author{UserId: users[c.Worker], DeviceId: devices[c.Worker]}}
		for _, f := range c.Fields(users[c.Worker]) {
			rec.Fields = append(rec.Fields, &v1.FieldState{Field: f.Name, Value: f.Value})
		}
		bu.Records = append(bu.Records, rec)
		bu.Position = uint64(i + 1)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// compress frames msg through the Connect interface, with a new
// compressor.
func compress(t testing.TB, msg []byte) []byte {
	t.Helper()
	return compressWith(t, NewCompressor(), msg)
}

// compressWith frames msg with c, which may have framed others before.
func compressWith(t testing.TB, c connect.Compressor, msg []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	c.Reset(&buf)
	// Connect may write a message in pieces.
	for len(msg) > 0 {
		n := min(len(msg), 1000)
		if _, err := c.Write(msg[:n]); err != nil {
			t.Fatal(err)
		}
		msg = msg[n:]
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// decompress reads frame back through the Connect interface, a little at
// a time.
func decompress(d connect.Decompressor, frame []byte) ([]byte, error) {
	if err := d.Reset(bytes.NewReader(frame)); err != nil {
		return nil, err
	}
	var out []byte
	p := make([]byte, 777)
	for {
		n, err := d.Read(p)
		out = append(out, p[:n]...)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

func TestRoundTrip(t *testing.T) {
	page := peerPage(t, 2000)
	stamped := &v1.PullResponse{Buckets: []*v1.BucketUpdate{{ClientId: "c", Records: []*v1.RecordState{{
		RecordId: "r", RecordType: "appointment",
		Fields: []*v1.FieldState{
			{Field: "at", Value: sample.Time(time.Unix(1765000000, 0)), Stamp: &v1.Stamp{Time: 9, Replica: "d"}, Author: &v1.Author{UserId: "u"}},
			{Field: "note", Value: sample.Str("  Leading, trailing and,, doubled   spaces; ÜNICODE wörds, and 1,234 numbers. ")},
			{Field: "n", Value: sample.Int(-5)},
			{Field: "d", Value: sample.Date(2026, 12, 7)},
		},
		Conflicts: []*v1.Conflict{{}},
	}}}}}
	stampedBytes, err := proto.Marshal(stamped)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		msg      []byte
		wantMode byte
	}{
		{"a page of the peers' contacts", page, modeTable},
		{"odd text, stamps, authors, numbers, dates", bytes.Repeat(stampedBytes, 20), modeTable},
		{"a small page", stampedBytes, modeZstd},
		{"an empty message", nil, modeTable},
		{"not protobuf", []byte("\xff\xff\xff\xff not a message"), modeZstd},
		{"a non-minimal varint", []byte{0x18, 0x81, 0x00}, modeZstd},
		{"a non-minimal length", []byte{0x12, 0x81, 0x00, 'x'}, modeZstd},
		{"a group", []byte{0x0b, 0x0c}, modeZstd},
		{"a message field that is not a message", []byte{0x0a, 0x03, 0xff, 0xff, 0xff}, modeZstd},
	}
	d := NewDecompressor()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCompressor()
			if tt.name != "a small page" {
				c.(*compressor).tableMin = 0 // every message is tried as columns
			}
			frame := compressWith(t, c, tt.msg)
			if frame[1] != tt.wantMode {
				t.Errorf("mode %q, want %q", frame[1], tt.wantMode)
			}
			got, err := decompress(d, frame)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.msg) {
				t.Fatalf("rebuilt %d bytes, want the %d sent", len(got), len(tt.msg))
			}
		})
	}
}

// TestSmallerThanZstd: the reason for the package. A page of the peers'
// contacts is at least 40% smaller than zstd makes it at the same level.
func TestSmallerThanZstd(t *testing.T) {
	page := peerPage(t, 2000)
	frame := compress(t, page)
	c := NewCompressor().(*compressor)
	plain := c.enc.EncodeAll(page, nil)
	if len(frame) > len(plain)*6/10 {
		t.Errorf("columns: %d bytes, zstd alone %d: want at most 60%%", len(frame), len(plain))
	}
	t.Logf("page %d bytes: zstd %d, columns %d (%.0f%%)", len(page), len(plain), len(frame), 100*float64(len(frame))/float64(len(plain)))
}

// TestNeverMuchLargerThanZstd: from one contact to a full page, the frame
// is at most a few bytes over plain zstd's.
func TestNeverMuchLargerThanZstd(t *testing.T) {
	c := NewCompressor().(*compressor)
	for _, n := range []int{1, 2, 3, 4, 5, 10, 50, 500} {
		page := peerPage(t, n)
		frame, plain := c.frame(page), c.enc.EncodeAll(page, nil)
		if len(frame) > len(plain)+2 {
			t.Errorf("%d contacts (%d bytes): %d bytes framed, zstd alone %d", n, len(page), len(frame), len(plain))
		}
	}
}

// randomMessage is a random pull page, of any shape the generated types
// allow, drawn from r alone (the same r gives the same message).
func randomMessage(t testing.TB, r *rand.Rand) []byte {
	t.Helper()
	words := strings.Fields("housing rent, arrears. Landlord émigré 12 ;; x")
	str := func() string {
		var b strings.Builder
		for range r.IntN(20) {
			b.WriteString(words[r.IntN(len(words))])
			b.WriteString([]string{" ", "  ", "", "\n", ", "}[r.IntN(5)])
		}
		return b.String()
	}
	id := func() string {
		var b [16]byte
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return uuid.UUID(b).String()
	}
	resp := &v1.PullResponse{HasMore: r.IntN(2) == 0, Cursor: []byte(str()), SchemaVersion: r.Uint32()}
	for range r.IntN(4) {
		bu := &v1.BucketUpdate{ClientId: id(), Action: v1.BucketAction(r.IntN(4)), Position: r.Uint64()}
		for range r.IntN(6) {
			rec := &v1.RecordState{RecordId: []string{id(), strings.ToUpper(id()), str()}[r.IntN(3)],
				RecordType: str(), Position: r.Uint64(), Stamp: &v1.Stamp{Time: r.Uint64(), Replica: str()}}
			for range r.IntN(5) {
				v := []*v1.Value{sample.Str(str()), sample.Int(r.Int64() - r.Int64()), sample.Bool(r.IntN(2) == 0), sample.Date(2000+r.IntN(50), 1+r.IntN(12), 1+r.IntN(28)), {}}[r.IntN(5)]
				rec.Fields = append(rec.Fields, &v1.FieldState{Field: str(), Value: v})
			}
			bu.Records = append(bu.Records, rec)
		}
		resp.Buckets = append(resp.Buckets, bu)
	}
	msg, err := proto.MarshalOptions{Deterministic: true}.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// TestRandomMessages: random pull pages, of every shape the generated
// types allow, come back byte for byte.
func TestRandomMessages(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	c, d := NewCompressor(), NewDecompressor() // each used for every message, as Connect's pools do
	c.(*compressor).tableMin = 0               // small ones too
	for i := range 300 {
		msg := randomMessage(t, r)
		got, err := decompress(d, compressWith(t, c, msg))
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("message %d: rebuilt %d bytes (%v), want the %d sent", i, len(got), err, len(msg))
		}
	}
}

func TestLimits(t *testing.T) {
	page := peerPage(t, 200)
	frame := compress(t, page)
	_, err := decompress(NewDecompressorMax(int64(len(page)-1)), frame)
	if connect.CodeOf(err) != connect.CodeResourceExhausted || !errors.Is(err, ErrTooLarge) {
		t.Errorf("a page one byte over the limit: %v, want ResourceExhausted", err)
	}
	if got, err := decompress(NewDecompressorMax(int64(len(page))), frame); err != nil || !bytes.Equal(got, page) {
		t.Errorf("a page exactly at the limit: %v", err)
	}
	// A frame that claims a small size but rebuilds more is refused.
	lie := append([]byte{version, modeTable}, appendUvarint(nil, 10)...)
	lie = append(lie, frame[2+len(appendUvarint(nil, uint64(len(page)))):]...)
	if _, err := decompress(NewDecompressor(), lie); connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Errorf("a frame under-stating its size: %v, want InvalidArgument", err)
	}
	for _, bad := range [][]byte{nil, {9, modeTable}, {version, 'q'}, {version, modeTable, 0x80}, {version, modeZstd, 1, 2, 3}} {
		if _, err := decompress(NewDecompressor(), bad); err == nil {
			t.Errorf("frame %x: no error", bad)
		}
	}
}

func FuzzRoundTrip(f *testing.F) {
	f.Add(peerPage(f, 3))
	f.Add([]byte{0x0a, 0x00})
	c, d := NewCompressor(), NewDecompressor() // reused, as Connect's pools do
	c.(*compressor).tableMin = 0
	f.Fuzz(func(t *testing.T, msg []byte) {
		got, err := decompress(d, compressWith(t, c, msg))
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("rebuilt %x (%v), want %x", got, err, msg)
		}
	})
}

func FuzzDecode(f *testing.F) {
	f.Add(compress(f, peerPage(f, 3)))
	f.Add(compress(f, []byte("plain")))
	const limit = 1 << 16
	d := NewDecompressorMax(limit)
	f.Fuzz(func(t *testing.T, frame []byte) {
		got, err := decompress(d, frame)
		if err == nil && len(got) > limit {
			t.Fatalf("rebuilt %d bytes past the %d limit", len(got), limit)
		}
	})
}
