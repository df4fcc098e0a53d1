package api_test

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"connectrpc.com/connect"
	"github.com/klauspost/compress/zstd"
)

const mib = 1 << 20

// gzipBomb returns a gzip stream, a little over size/1000 bytes long, that
// inflates to size zero bytes (size a multiple of 1 MiB). It is a level-9
// deflate of zeros flushed to a byte boundary after every MiB; from the
// second MiB on, every flushed chunk is the same bytes (matches of zeros a
// short distance back), so repeating one chunk makes the stream as long as
// asked without compressing it all.
func gzipBomb(size int64) []byte {
	if size < 2*mib || size%mib != 0 {
		panic("gzip bomb: size must be a multiple of 1 MiB, at least 2 MiB")
	}
	zeros := make([]byte, mib)
	var chunks [3][]byte
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	for i := range chunks {
		w.Write(zeros)
		w.Flush()
		chunks[i] = bytes.Clone(buf.Bytes())
		buf.Reset()
	}
	w.Close()
	tail := bytes.Clone(buf.Bytes())
	if !bytes.Equal(chunks[1], chunks[2]) {
		panic("gzip bomb: deflate of zeros is not periodic after the first MiB")
	}
	out := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff} // header: deflate, no name, unknown OS
	out = append(out, chunks[0]...)
	for range size/mib - 1 {
		out = append(out, chunks[1]...)
	}
	out = append(out, tail...)
	crc := uint32(0)
	for range size / mib {
		crc = crc32.Update(crc, crc32.IEEETable, zeros)
	}
	out = binary.LittleEndian.AppendUint32(out, crc)
	return binary.LittleEndian.AppendUint32(out, uint32(size))
}

// zstdBomb returns a zstd frame that declares a window of 1<<windowLog
// bytes and decodes to size zero bytes (a multiple of 128 KiB) in RLE blocks
// of 128 KiB, each four bytes on the wire.
func zstdBomb(windowLog uint, size int64) []byte {
	const block = 128 << 10
	out := []byte{0x28, 0xb5, 0x2f, 0xfd} // magic, little-endian
	// Frame header descriptor 0: no content size, not single-segment, no
	// checksum, no dictionary; then the window descriptor (exponent only).
	out = append(out, 0, byte(windowLog-10)<<3)
	n := size / block
	for i := range n {
		hdr := uint32(block)<<3 | 1<<1 // RLE
		if i == n-1 {
			hdr |= 1 // last block
		}
		out = append(out, byte(hdr), byte(hdr>>8), byte(hdr>>16), 0)
	}
	return out
}

// gzipBomb1G inflates to 1 GiB from about 1 MB; built once per process.
var gzipBomb1G = sync.OnceValue(func() []byte { return gzipBomb(1 << 30) })

// rawCall sends body, already compressed with encoding ("" for none), to
// procedure without credentials, over the Connect protocol (POST, or GET
// with the message in the URL), or gRPC ("connect", "connect-get" or
// "grpc"), and returns the code the server answered with (0 for OK) and
// its message.
// bombToken is the session rawCall sends (newBombEnv signs it in).
const bombToken = "tca_bomb"

// rawCall is rawCallAs with bombToken.
func rawCall(tb testing.TB, hc *http.Client, url, protocol, procedure, encoding string, body []byte) (connect.Code, string) {
	tb.Helper()
	return rawCallAs(tb, hc, url, bombToken, protocol, procedure, encoding, body)
}

// rawCallAs sends body as a request of protocol with the access token (none
// if empty) and returns the answer's code and message.
func rawCallAs(tb testing.TB, hc *http.Client, url, token, protocol, procedure, encoding string, body []byte) (connect.Code, string) {
	tb.Helper()
	method := http.MethodPost
	switch protocol {
	case "grpc":
		flags := byte(0)
		if encoding != "" {
			flags = 1
		}
		prefix := binary.BigEndian.AppendUint32([]byte{flags}, uint32(len(body)))
		body = append(prefix, body...)
	case "connect-get":
		method = http.MethodGet
		url += procedure + "?connect=v1&encoding=proto&base64=1&compression=" + encoding +
			"&message=" + base64.RawURLEncoding.EncodeToString(body)
		procedure, body = "", nil
	}
	req, err := http.NewRequest(method, url+procedure, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	switch protocol {
	case "connect-get":
	case "connect":
		req.Header.Set("Content-Type", "application/proto")
		req.Header.Set("Connect-Protocol-Version", "1")
		if encoding != "" {
			req.Header.Set("Content-Encoding", encoding)
		}
	case "grpc":
		req.Header.Set("Content-Type", "application/grpc")
		req.Header.Set("Te", "trailers")
		if encoding != "" {
			req.Header.Set("Grpc-Encoding", encoding)
		}
	default:
		tb.Fatalf("unknown protocol %q", protocol)
	}
	resp, err := hc.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	payload, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	if protocol == "grpc" {
		status, msg := resp.Trailer.Get("Grpc-Status"), resp.Trailer.Get("Grpc-Message")
		if status == "" { // trailers-only response
			status, msg = resp.Header.Get("Grpc-Status"), resp.Header.Get("Grpc-Message")
		}
		code, err := strconv.Atoi(status)
		if err != nil {
			tb.Fatalf("%s: HTTP %d without a grpc-status", procedure, resp.StatusCode)
		}
		return connect.Code(code), msg
	}
	if resp.StatusCode == http.StatusOK {
		return 0, ""
	}
	var wire struct{ Code, Message string }
	if err := json.Unmarshal(payload, &wire); err != nil {
		tb.Fatalf("%s: HTTP %d with a body that is not a Connect error: %q", procedure, resp.StatusCode, payload)
	}
	var code connect.Code
	if err := code.UnmarshalText([]byte(wire.Code)); err != nil {
		tb.Fatalf("%s: unknown code %q", procedure, wire.Code)
	}
	return code, wire.Message
}

// TestBombsAreWhatTheySay checks the bombs decode, in full, to the zeros
// they promise (with a decoder that has no limits).
func TestBombsAreWhatTheySay(t *testing.T) {
	const size = 8 * mib
	zr, err := gzip.NewReader(bytes.NewReader(gzipBomb(size)))
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]io.Reader{"gzip": zr, "zstd": zstdReader(t, zstdBomb(23, size))} {
		n, err := io.Copy(zeroChecker{}, r)
		if err != nil || n != size {
			t.Errorf("%s bomb decoded to %d bytes (%v), want %d zeros", name, n, err, size)
		}
	}
}

func zstdReader(t *testing.T, b []byte) io.Reader {
	d, err := zstd.NewReader(bytes.NewReader(b), zstd.WithDecoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

type zeroChecker struct{}

func (zeroChecker) Write(p []byte) (int, error) {
	for _, c := range p {
		if c != 0 {
			return 0, errors.New("not a zero")
		}
	}
	return len(p), nil
}
