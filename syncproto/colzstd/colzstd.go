// Package colzstd is the compression Throughcare's clients and server
// negotiate for pull pages: a protobuf message is taken apart column by
// column, by the path of field numbers that leads to each value, and the
// columns are compressed together with zstd. A page of contacts then
// compresses like a table, not like a stream of records: each record's
// ids, stamps and field names sit beside the same fields of the other
// records, repeated strings become indexes, UUIDs travel as their 16
// bytes, and long text as word tokens against the page's own vocabulary.
//
// The transform is lossless for every input, whatever its message type: a
// message it cannot take apart exactly (not protobuf, not canonical, or not
// of the shape it expects) is sent as plain zstd in the same framing. The
// receiver needs no descriptor: the columns carry the field numbers. It is
// a compression as Connect sees it, so it changes nothing above the wire:
// a client that does not offer it gets zstd or gzip, and a client that
// offers it to a server without it is answered with zstd.
//
// Frame: a version byte, then either 'z' and a zstd frame of the message,
// or 'c', the message's size (uvarint), a count of chunks (uvarint) and
// each chunk's length (uvarint) and zstd frame. The chunks decompressed
// and put end to end are the columns' directory and the columns: a large
// column is a chunk of its own, so that zstd codes its bytes by their own
// frequencies.
package colzstd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"connectrpc.com/connect"
	"github.com/klauspost/compress/zstd"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// Name is the compression's name on the wire. A change to the framing or
// the columns is a new name: a peer only ever decodes what it offered.
const Name = "tc-col1"

// DefaultMaxBytes is the largest message a decompressor from NewDecompressor
// rebuilds: the SDK's read limit.
const DefaultMaxBytes = 64 << 20

const (
	version   = 1
	modeZstd  = 'z'
	modeTable = 'c'
)

// tableMin is the smallest message sent as columns: below it (a page of
// two or three contacts) the column directory costs more than it saves,
// and the message goes as zstd.
const tableMin = 3 << 10

// ErrTooLarge: the frame would rebuild a message larger than the limit.
var ErrTooLarge = errors.New("colzstd: message larger than the limit")

// HandlerOption lets a Connect handler accept and send it, rebuilding
// request messages of at most maxBytes.
func HandlerOption(maxBytes int64) connect.HandlerOption {
	return connect.WithCompression(Name, func() connect.Decompressor { return NewDecompressorMax(maxBytes) }, NewCompressor)
}

// ClientOption lets a Connect client ask for it. Register it after the
// other compressions: connect-go prefers the last registered.
func ClientOption() connect.ClientOption {
	return connect.WithAcceptCompression(Name, NewDecompressor, NewCompressor)
}

// compressor buffers a message and writes its frame on Close. Connect
// pools compressors: the buffers, the shredder's paths and tables and the
// zstd encoder are kept from message to message.
type compressor struct {
	w   io.Writer
	buf []byte // the message
	out []byte // its frame
	enc *zstd.Encoder
	sh  shredder
	// tableMin is tableMin (tests lower it to take small messages apart).
	tableMin int
}

// NewCompressor returns a compressor for Connect. Its window is 1 MiB: the
// columns of a full page of contacts are smaller (their notes, the largest,
// 600 kB for 2,000), so its frames are those of a larger window (the golden
// test), and each encoder keeps twice its window as history: 2 MB each
// instead of 8 at 4 MiB.
func NewCompressor() connect.Compressor {
	e, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithAllLitEntropyCompression(true), zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<20))
	return &compressor{enc: e, tableMin: tableMin}
}

func (c *compressor) Write(p []byte) (int, error) {
	c.buf = append(c.buf, p...)
	return len(p), nil
}

// keepMax is the largest buffer a compressor keeps for the next message.
const keepMax = 4 << 20

func (c *compressor) Close() error {
	frame := c.frame(c.buf)
	var err error
	if c.w == nil {
		err = errors.New("colzstd: no writer")
	} else {
		_, err = c.w.Write(frame)
	}
	if cap(c.buf) > keepMax || cap(c.out) > keepMax {
		c.buf, c.out, c.sh.buf = nil, nil, nil
	}
	c.buf = c.buf[:0]
	return err
}

func (c *compressor) Reset(w io.Writer) { c.w, c.buf = w, c.buf[:0] }

// pullDescriptor is the shape the compressor takes messages apart by.
var pullDescriptor = (&v1.PullResponse{}).ProtoReflect().Descriptor()

// frame encodes msg: as columns if it takes apart exactly, else as zstd.
// The frame is the compressor's until its next one.
func (c *compressor) frame(msg []byte) []byte {
	var body []byte
	var cuts []int
	ok := len(msg) >= c.tableMin
	if ok {
		body, cuts, ok = c.sh.shred(msg, pullDescriptor)
	}
	if !ok {
		c.out = c.enc.EncodeAll(msg, append(slices.Grow(c.out[:0], len(msg)/3+16), version, modeZstd))
		return c.out
	}
	out := append(slices.Grow(c.out[:0], len(body)/2+16), version, modeTable)
	out = appendUvarint(out, uint64(len(msg)))
	out = appendUvarint(out, uint64(len(cuts)))
	start := 0
	for _, end := range cuts {
		at := len(out)
		out = append(out, make([]byte, binary.MaxVarintLen32)...)
		out = c.enc.EncodeAll(body[start:end], out)
		out = putFixedUvarint(out, at, len(out)-at-binary.MaxVarintLen32)
		start = end
	}
	c.out = out
	return out
}

// putFixedUvarint writes n as a uvarint in the MaxVarintLen32 bytes
// reserved at out[at:] and moves what follows them down to meet it.
func putFixedUvarint(out []byte, at, n int) []byte {
	var tmp [binary.MaxVarintLen32]byte
	k := binary.PutUvarint(tmp[:], uint64(n))
	copy(out[at:], tmp[:k])
	copy(out[at+k:], out[at+binary.MaxVarintLen32:])
	return out[:len(out)-binary.MaxVarintLen32+k]
}

// decompressor reads a whole frame on its first Read and serves the
// message it rebuilds.
type decompressor struct {
	r   io.Reader
	max int64
	dec *zstd.Decoder
	out []byte
	off int
	err error
	did bool
	st  decodeState
}

// decodeState is what a decompressor keeps from message to message: the
// paths and buffers of the last (Connect copies what it reads out).
type decodeState struct {
	bld  builder
	body []byte
	out  []byte
}

// NewDecompressor returns a decompressor for Connect that rebuilds
// messages of at most DefaultMaxBytes.
func NewDecompressor() connect.Decompressor { return NewDecompressorMax(DefaultMaxBytes) }

// NewDecompressorMax returns a decompressor for Connect that rebuilds
// messages of at most maxBytes: a frame declaring more is refused before
// anything is decoded, and the columns are decoded within the same bound.
func NewDecompressorMax(maxBytes int64) connect.Decompressor {
	d, _ := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxMemory(uint64(maxBytes)), zstd.WithDecoderMaxWindow(uint64(min(maxBytes, 1<<30))))
	return &decompressor{max: maxBytes, dec: d}
}

func (d *decompressor) Read(p []byte) (int, error) {
	if !d.did {
		d.did = true
		d.out, d.err = d.decode()
	}
	if d.off >= len(d.out) {
		if d.err != nil {
			return 0, d.err
		}
		return 0, io.EOF
	}
	n := copy(p, d.out[d.off:])
	d.off += n
	return n, nil
}

// decode reads the frame and rebuilds the message.
func (d *decompressor) decode() ([]byte, error) {
	if d.r == nil {
		return nil, errors.New("colzstd: no reader")
	}
	in, err := io.ReadAll(io.LimitReader(d.r, d.max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(in)) > d.max {
		return nil, tooLarge(d.max)
	}
	return d.st.decode(d.dec, in, d.max)
}

// decode rebuilds the message in frame, of at most maxBytes, with dec.
func (st *decodeState) decode(dec *zstd.Decoder, frame []byte, maxBytes int64) ([]byte, error) {
	if len(frame) < 2 || frame[0] != version {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("colzstd: not a frame of this version"))
	}
	switch frame[1] {
	case modeZstd:
		out, err := dec.DecodeAll(frame[2:], nil)
		if errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) || int64(len(out)) > maxBytes {
			return nil, tooLarge(maxBytes)
		}
		return out, err
	case modeTable:
		return st.table(dec, frame[2:], maxBytes)
	}
	return nil, errBadFrame
}

// table decodes the columns' chunks and rebuilds the message.
func (st *decodeState) table(dec *zstd.Decoder, frame []byte, maxBytes int64) ([]byte, error) {
	r := &reader{b: frame}
	size := r.uvarint()
	if size > uint64(maxBytes) {
		return nil, tooLarge(maxBytes)
	}
	chunks := r.uvarint()
	if r.bad || chunks > uint64(len(frame)) {
		return nil, errBadFrame
	}
	body := st.body[:0]
	defer func() { st.body = body[:0] }()
	for range chunks {
		z := r.take(r.uvarint())
		if r.bad {
			return nil, errBadFrame
		}
		var err error
		body, err = dec.DecodeAll(z, body)
		if errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) || int64(len(body)) > maxBytes {
			return nil, tooLarge(maxBytes)
		}
		if err != nil {
			return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("colzstd: %w", err))
		}
	}
	if r.rest() != 0 {
		return nil, errBadFrame
	}
	out, err := st.bld.build(body, int(size), st.out)
	st.out = out[:0]
	return out, err
}

var errBadFrame = connect.NewError(connect.CodeInvalidArgument, errors.New("colzstd: damaged frame"))

func tooLarge(maxBytes int64) error {
	return connect.NewError(connect.CodeResourceExhausted, fmt.Errorf("%w (%d bytes)", ErrTooLarge, maxBytes))
}

func (d *decompressor) Reset(r io.Reader) error {
	d.r, d.out, d.off, d.err, d.did = r, nil, 0, nil, false // d.out is st.out's: kept
	return nil
}

func (d *decompressor) Close() error { return nil }
