package backup

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash"
	"io"
)

// Key is the store key a backup is sealed with: its bytes (32, AES-256)
// and a fingerprint that names it and is safe to print (storekey.Key is
// one).
type Key interface {
	Bytes() []byte
	Fingerprint() string
}

// Writer seals a Badger backup stream into a backup file. Write the stream
// to it, count its records with AddRecords, then Close it with the last
// version the stream held.
type Writer struct {
	w       io.Writer
	sum     hash.Hash
	s       *sealer
	buf     []byte
	sealed  []byte
	index   uint64
	records uint64
	written int64
	err     error
	closed  bool
}

// NewWriter writes h's header to w and returns a Writer for the stream.
// The key's fingerprint and a fresh salt go into the header (h's own are
// ignored); a zero CreatedAt is left zero.
func NewWriter(w io.Writer, key Key, h Header) (*Writer, error) {
	h.KeyFingerprint = key.Fingerprint()
	h.Salt = make([]byte, saltSize)
	if _, err := rand.Read(h.Salt); err != nil {
		return nil, err
	}
	h.CreatedAt = h.CreatedAt.UTC()
	body, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	var head bytes.Buffer
	head.Write(magic[:])
	_ = binary.Write(&head, binary.BigEndian, uint16(Version))
	_ = binary.Write(&head, binary.BigEndian, uint32(len(body)))
	head.Write(body)
	s, err := newSealer(key.Bytes(), h.Salt, sha256.Sum256(head.Bytes()))
	if err != nil {
		return nil, err
	}
	bw := &Writer{w: w, sum: sha256.New(), s: s, buf: make([]byte, 0, ChunkSize)}
	bw.emit(head.Bytes())
	return bw, bw.err
}

// emit writes raw file bytes, hashing them; the first error sticks.
func (w *Writer) emit(p []byte) {
	if w.err != nil {
		return
	}
	w.sum.Write(p)
	n, err := w.w.Write(p)
	w.written += int64(n)
	w.err = err
}

// Write adds stream bytes, sealing each full chunk.
func (w *Writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, errors.New("backup: write after close")
	}
	n := len(p)
	for len(p) > 0 && w.err == nil {
		take := min(len(p), ChunkSize-len(w.buf))
		w.buf = append(w.buf, p[:take]...)
		p = p[take:]
		if len(w.buf) == ChunkSize {
			w.chunk(kindData, w.buf)
			w.buf = w.buf[:0]
		}
	}
	if w.err != nil {
		return 0, w.err
	}
	return n, nil
}

func (w *Writer) chunk(kind byte, plain []byte) {
	w.sealed = w.s.seal(w.sealed[:0], w.index, kind, plain)
	w.index++
	var frame [5]byte
	frame[0] = kind
	binary.BigEndian.PutUint32(frame[1:], uint32(len(w.sealed)))
	w.emit(frame[:])
	w.emit(w.sealed)
}

// AddRecords counts records (Badger KVs) of the stream written so far.
func (w *Writer) AddRecords(n int) { w.records += uint64(n) }

// Records returns the records counted so far.
func (w *Writer) Records() uint64 { return w.records }

// Written returns the file bytes written so far.
func (w *Writer) Written() int64 { return w.written }

// Close seals what is buffered, the end chunk and the trailer, with until
// the last version the stream held. It does not close the underlying
// writer.
func (w *Writer) Close(until uint64) (Trailer, error) {
	if w.closed {
		return Trailer{}, errors.New("backup: closed twice")
	}
	w.closed = true
	if len(w.buf) > 0 {
		w.chunk(kindData, w.buf)
	}
	var end [endPayload]byte
	binary.BigEndian.PutUint64(end[:8], until)
	binary.BigEndian.PutUint64(end[8:], w.records)
	w.chunk(kindEnd, end[:])
	w.emit(trailerMagic[:])
	w.emit(end[:])
	t := Trailer{Until: until, Records: w.records}
	copy(t.Sum[:], w.sum.Sum(nil))
	if w.err == nil {
		n, err := w.w.Write(t.Sum[:])
		w.written += int64(n)
		w.err = err
	}
	return t, w.err
}
