package zstdwire

import (
	"bytes"
	"io"
	"runtime"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/klauspost/compress/zstd"
)

func TestRoundTripWithReusedCodecs(t *testing.T) {
	c, d := NewCompressor(), NewDecompressor()
	for _, msg := range []string{"", "short", strings.Repeat("housing status settled; ", 10000)} {
		var buf bytes.Buffer
		c.Reset(&buf)
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if len(msg) > 1000 && buf.Len() > len(msg)/10 {
			t.Errorf("%d bytes compressed to %d", len(msg), buf.Len())
		}
		if err := d.Reset(&buf); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(d)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != msg {
			t.Fatalf("round trip changed a %d-byte message", len(msg))
		}
	}
	if err := d.Reset(strings.NewReader("not zstd at all")); err == nil {
		if _, err := io.ReadAll(d); err == nil {
			t.Fatal("garbage decompressed without an error")
		}
	}
}

// encode compresses n zeros as a stream with the zstd encoder and opts (not
// ours: frames a hostile peer could send).
func encode(t *testing.T, n int, opts ...zstd.EOption) []byte {
	t.Helper()
	var buf bytes.Buffer
	e, err := zstd.NewWriter(&buf, append([]zstd.EOption{zstd.WithEncoderConcurrency(1)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Write(make([]byte, n)); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// encodeSingle compresses n zeros as one single-segment frame, whose window
// is its content size.
func encodeSingle(t *testing.T, n int) []byte {
	t.Helper()
	e, err := zstd.NewWriter(nil, zstd.WithSingleSegment(true))
	if err != nil {
		t.Fatal(err)
	}
	return e.EncodeAll(make([]byte, n), nil)
}

func TestWindowIsCapped(t *testing.T) {
	for _, tc := range []struct {
		name   string
		frame  []byte
		refuse bool
	}{
		{"1 MiB window", encode(t, 1<<20, zstd.WithWindowSize(1<<20)), false},
		{"8 MiB window", encode(t, 1<<20, zstd.WithWindowSize(8<<20)), false},
		{"16 MiB window", encode(t, 1<<20, zstd.WithWindowSize(16<<20)), true},
		{"64 MiB window", encode(t, 1<<20, zstd.WithWindowSize(64<<20)), true},
		{"single segment of 8 MiB", encodeSingle(t, 8<<20), false},
		{"single segment of 9 MiB", encodeSingle(t, 9<<20), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecompressor()
			if err := d.Reset(bytes.NewBuffer(tc.frame)); err != nil {
				t.Fatal(err)
			}
			n, err := io.Copy(io.Discard, d)
			switch {
			case tc.refuse && connect.CodeOf(err) != connect.CodeResourceExhausted:
				t.Fatalf("decoded %d bytes, err %v; want resource_exhausted before decoding", n, err)
			case tc.refuse && n != 0:
				t.Fatalf("refused after decoding %d bytes, want before any", n)
			case !tc.refuse && err != nil:
				t.Fatalf("refused a frame within the cap: %v", err)
			}
		})
	}
}

func TestResetDecodesNothingUpFront(t *testing.T) {
	// A few KB that expand to 32 MiB: the decoder must not expand them in
	// Reset (it does by default for a *bytes.Buffer under 128 KiB).
	frame := encode(t, 32<<20, zstd.WithWindowSize(1<<20))
	d := NewDecompressor()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := d.Reset(bytes.NewBuffer(frame)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(d, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	// One 1 MiB window with its block ring, and the decoder's tables.
	if got := after.TotalAlloc - before.TotalAlloc; got > 4<<20 {
		t.Fatalf("Reset and a one-byte read of a %d-byte frame allocated %d bytes", len(frame), got)
	}
}

func TestCompressorFramesFitTheCap(t *testing.T) {
	c, d := NewCompressor(), NewDecompressor()
	msg := bytes.Repeat([]byte("caseload page; "), (12<<20)/15) // past both window sizes
	var buf bytes.Buffer
	c.Reset(&buf)
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Reset(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(d)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("a 12 MiB message did not round trip (%v)", err)
	}
}
