package api

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"

	"connectrpc.com/connect"

	"github.com/throughcare/throughcare/syncproto/zstdwire"
)

// FuzzLimitedDecompressor checks, for any input and limit, that a limited
// decompressor hands out what its codec decodes as long as that fits the
// limit, refuses with ResourceExhausted (having read at most one byte past
// the limit) when it does not, and always gives its slot back.
func FuzzLimitedDecompressor(f *testing.F) {
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(b)
		w.Close()
		return buf.Bytes()
	}
	zs := func(b []byte) []byte {
		var buf bytes.Buffer
		c := zstdwire.NewCompressor()
		c.Reset(&buf)
		c.Write(b)
		c.Close()
		return buf.Bytes()
	}
	msg := bytes.Repeat([]byte("contact logged; "), 400)
	for _, limit := range []uint16{0, 1, 100, 6400, 6401, 60000} {
		f.Add(false, limit, gz(msg))
		f.Add(true, limit, zs(msg))
	}
	f.Add(false, uint16(10), []byte("not gzip"))
	f.Add(true, uint16(10), []byte("\x28\xb5\x2f\xfd not zstd"))
	codecs := map[bool]func() connect.Decompressor{
		false: func() connect.Decompressor { return new(gzip.Reader) },
		true:  zstdwire.NewDecompressor,
	}
	f.Fuzz(func(t *testing.T, isZstd bool, limit uint16, data []byte) {
		// What the codec alone makes of data, up to two bytes past the limit.
		raw := codecs[isZstd]()
		var want []byte
		wantErr := raw.Reset(bytes.NewReader(data))
		if wantErr == nil {
			want, wantErr = io.ReadAll(io.LimitReader(raw, int64(limit)+2))
		}

		dc := newDecompression(1, nil)
		d := dc.codec("fuzz", int64(limit), codecs[isZstd])()
		if err := d.Reset(bytes.NewReader(data)); err != nil {
			return // connect-go answers InvalidArgument; nothing was decoded
		}
		var got bytes.Buffer
		_, err := got.ReadFrom(d)
		switch {
		case got.Len() > int(limit)+1:
			t.Fatalf("handed out %d bytes with a limit of %d", got.Len(), limit)
		case len(want) > int(limit):
			if connect.CodeOf(err) != connect.CodeResourceExhausted {
				t.Fatalf("a message over the limit of %d ended with %v, want resource_exhausted", limit, err)
			}
		case wantErr == nil:
			if err != nil || !bytes.Equal(got.Bytes(), want) {
				t.Fatalf("a message within the limit came out as %d bytes (%v), want the codec's %d", got.Len(), err, len(want))
			}
		case err == nil:
			t.Fatalf("the codec fails (%v) but the limited one did not", wantErr)
		}
		if _, err2 := d.Read(make([]byte, 1)); err2 == nil {
			t.Fatal("read on after the end of the message")
		}
		d.Close()
		if len(dc.slots) != 0 {
			t.Fatal("the slot was not given back")
		}
	})
}

type panickyCodec struct{ connect.Decompressor }

func (panickyCodec) Read([]byte) (int, error) { panic("codec bug") }

func TestCodecPanicGivesTheSlotBack(t *testing.T) {
	dc := newDecompression(1, func(_ string, d connect.Decompressor) connect.Decompressor { return panickyCodec{d} })
	d := dc.codec("gzip", 100, func() connect.Decompressor { return new(gzip.Reader) })()
	var buf bytes.Buffer
	gzip.NewWriter(&buf).Close()
	if err := d.Reset(&buf); err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the codec's panic was swallowed")
			}
		}()
		d.Read(make([]byte, 10))
	}()
	if len(dc.slots) != 0 {
		t.Fatal("a codec that panicked kept its slot")
	}
}
