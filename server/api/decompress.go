package api

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"runtime"

	"connectrpc.com/connect"

	"github.com/throughcare/throughcare/syncproto/colzstd"
	"github.com/throughcare/throughcare/syncproto/zstdwire"
)

// Decompression runs before authentication: connect-go decodes a request
// message before any interceptor sees it, so a caller with no session
// chooses what the server decompresses. Three bounds keep that cheap:
//
//   - every decompressor stops as soon as it has produced more than the
//     message limit and the request is refused with ResourceExhausted
//     (connect-go, left to itself, reads an oversized message to its end
//     only to report its size: a third of a second of CPU for a 1 MB gzip
//     bomb of 1 GiB, a second for a 32 KB zstd one);
//   - a bounded number of decompressions run at once (MaxDecompressions);
//   - the procedures a caller reaches without a session (sign-in,
//     enrolment, refresh, health, reflection) take messages of at most
//     PublicMaxBytes, compressed or not: connect-go applies the read limit
//     to the body as sent and to the decompressed message, and the
//     decompressor stops at the same limit.
//
// zstdwire caps zstd's window, so a frame cannot make the decoder hold more
// than 8 MiB however little of it is read.

// PublicMaxBytes bounds a request message, compressed or not, on the
// procedures callers reach without a session: room for the largest
// credential the ceremonies take (64 KiB, refused by the handler with its
// own message beyond that) and the rest of the message. Real ones (a
// WebAuthn ceremony without attestation, a refresh token) are a few KB.
const PublicMaxBytes = authMaxCredentialJSON + 64<<10

// DefaultMaxDecompressions is the number of request messages decompressed at
// once when Config.MaxDecompressions is zero: twice the CPUs Go uses, and
// at least 4.
func DefaultMaxDecompressions() int { return max(4, 2*runtime.GOMAXPROCS(0)) }

// decompressorProbe wraps a codec's decompressor inside the limits (tests
// use it to count what the codec produces).
type decompressorProbe func(codec string, d connect.Decompressor) connect.Decompressor

// decompression makes the request decompressors of every handler. Its
// slots are shared by all of them.
type decompression struct {
	slots chan struct{}
	probe decompressorProbe
}

func newDecompression(maxAtOnce int, probe decompressorProbe) *decompression {
	if maxAtOnce <= 0 {
		maxAtOnce = DefaultMaxDecompressions()
	}
	return &decompression{slots: make(chan struct{}, maxAtOnce), probe: probe}
}

// options bounds messages at maxBytes, as received and once decompressed,
// and registers gzip (replacing connect-go's, which reads on to the end of
// an oversized message), zstd and colzstd (pull pages column by column,
// for the clients that offer it) with decompressors that stop there.
func (dc *decompression) options(maxBytes int64) connect.HandlerOption {
	return connect.WithHandlerOptions(
		connect.WithReadMaxBytes(int(maxBytes)),
		connect.WithCompression("gzip", dc.codec("gzip", maxBytes, func() connect.Decompressor { return new(gzip.Reader) }),
			func() connect.Compressor { return gzip.NewWriter(io.Discard) }),
		connect.WithCompression(zstdwire.Name, dc.codec(zstdwire.Name, maxBytes, zstdwire.NewDecompressor), zstdwire.NewCompressor),
		connect.WithCompression(colzstd.Name, dc.codec(colzstd.Name, maxBytes, func() connect.Decompressor {
			return colzstd.NewDecompressorMax(maxBytes)
		}), colzstd.NewCompressor),
	)
}

func (dc *decompression) codec(name string, maxBytes int64, newCodec func() connect.Decompressor) func() connect.Decompressor {
	return func() connect.Decompressor {
		codec := newCodec()
		if dc.probe != nil {
			codec = dc.probe(name, codec)
		}
		return &limitedDecompressor{codec: codec, limit: maxBytes, slots: dc.slots}
	}
}

// limitedDecompressor lets its codec produce at most limit+1 bytes per
// message, then fails every read with ResourceExhausted (so connect-go's
// read to the end stops at once). It holds a slot from its first read to
// the end of the message, and refuses the message if none is free: the
// Decompressor interface carries no request context to wait on, and a
// client that compresses can retry or send uncompressed.
//
// The codec itself decodes at most one block ahead of what it has been
// asked for: flate a 32 KiB window, zstd one block of at most 128 KiB.
type limitedDecompressor struct {
	codec    connect.Decompressor
	limit    int64
	slots    chan struct{}
	produced int64
	holding  bool
	err      error // the end of this message: io.EOF, the codec's error or a limit
}

func (d *limitedDecompressor) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	if !d.holding {
		select {
		case d.slots <- struct{}{}:
			d.holding = true
		default:
			d.err = connect.NewError(connect.CodeResourceExhausted,
				errors.New("the server is decompressing too many requests at once; retry shortly, or send the request uncompressed"))
			return 0, d.err
		}
	}
	if room := d.limit + 1 - d.produced; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := d.readCodec(p)
	d.produced += int64(n)
	if d.produced > d.limit {
		err = connect.NewError(connect.CodeResourceExhausted,
			fmt.Errorf("request message is larger than %d bytes once decompressed", d.limit))
	}
	if err != nil {
		d.err = err
		d.release()
	}
	return n, err
}

// readCodec reads from the codec and gives the slot back if the codec
// panics (a hostile message may find a bug in it): the panic goes on, but
// the slot is not lost with the pooled decompressor.
func (d *limitedDecompressor) readCodec(p []byte) (int, error) {
	returned := false
	defer func() {
		if !returned {
			d.release()
		}
	}()
	n, err := d.codec.Read(p)
	returned = true
	return n, err
}

func (d *limitedDecompressor) Reset(r io.Reader) error {
	d.release()
	d.produced, d.err = 0, nil
	return d.codec.Reset(r)
}

func (d *limitedDecompressor) Close() error {
	d.release()
	return d.codec.Close()
}

func (d *limitedDecompressor) release() {
	if d.holding {
		d.holding = false
		<-d.slots
	}
}
