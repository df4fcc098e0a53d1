package zstdwire

import (
	"bytes"
	"io"
	"strings"
	"testing"
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
