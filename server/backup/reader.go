package backup

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash"
	"io"
	"strconv"
)

// frames reads a backup file's framing: the header, each chunk as sealed,
// the trailer, hashing every byte. It decrypts nothing.
type frames struct {
	r         *bufio.Reader
	sum       hash.Hash
	off       int64
	index     uint64
	header    Header
	headerSum [sha256.Size]byte
	trailer   Trailer
	buf       []byte
}

// full reads len(p) bytes, hashing them; a short read is Truncated.
func (f *frames) full(p []byte, hashed bool) error {
	n, err := io.ReadFull(f.r, p)
	if hashed {
		f.sum.Write(p[:n])
	}
	f.off += int64(n)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return problem(Truncated, f.off, -1, "")
	}
	return err
}

func readFrames(r io.Reader) (*frames, error) {
	f := &frames{r: bufio.NewReaderSize(r, 64<<10), sum: sha256.New()}
	var fixed [14]byte
	if err := f.full(fixed[:8], true); err != nil {
		if ProblemOf(err) == Truncated {
			return nil, problem(NotBackup, 0, -1, "too short")
		}
		return nil, err
	}
	if !bytes.Equal(fixed[:8], magic[:]) {
		return nil, problem(NotBackup, 0, -1, "")
	}
	if err := f.full(fixed[8:], true); err != nil {
		return nil, err
	}
	if v := binary.BigEndian.Uint16(fixed[8:10]); v != Version {
		return nil, problem(UnknownVersion, 8, -1, "version "+strconv.Itoa(int(v)))
	}
	n := binary.BigEndian.Uint32(fixed[10:14])
	if n > maxHeader {
		return nil, problem(BadHeader, 10, -1, "header too long")
	}
	body := make([]byte, n)
	if err := f.full(body, true); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(body, &f.header); err != nil {
		return nil, problem(BadHeader, 14, -1, err.Error())
	}
	if len(f.header.Salt) != saltSize {
		return nil, problem(BadHeader, 14, -1, "no salt")
	}
	h := sha256.New()
	h.Write(fixed[:])
	h.Write(body)
	copy(f.headerSum[:], h.Sum(nil))
	return f, nil
}

// next returns the next chunk, sealed. After the end chunk it has read and
// checked the trailer (its checksum, and that nothing follows it).
func (f *frames) next() (kind byte, sealed []byte, err error) {
	at := f.off
	var frame [5]byte
	if err := f.full(frame[:1], true); err != nil {
		return 0, nil, err
	}
	kind = frame[0]
	if kind != kindData && kind != kindEnd {
		return 0, nil, problem(Malformed, at, int64(f.index), "unknown chunk kind")
	}
	if err := f.full(frame[1:], true); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(frame[1:])
	if n < tagSize || n > ChunkSize+tagSize || (kind == kindEnd && n != endPayload+tagSize) {
		return 0, nil, problem(Malformed, at, int64(f.index), "impossible chunk length")
	}
	if cap(f.buf) < int(n) {
		f.buf = make([]byte, n)
	}
	f.buf = f.buf[:n]
	if err := f.full(f.buf, true); err != nil {
		return 0, nil, err
	}
	f.index++
	if kind == kindEnd {
		if err := f.readTrailer(); err != nil {
			return 0, nil, err
		}
	}
	return kind, f.buf, nil
}

func (f *frames) readTrailer() error {
	at := f.off
	var t [32]byte
	if err := f.full(t[:24], true); err != nil {
		return err
	}
	if !bytes.Equal(t[:8], trailerMagic[:]) {
		return problem(Malformed, at, -1, "no trailer after the end chunk")
	}
	f.trailer.Until = binary.BigEndian.Uint64(t[8:16])
	f.trailer.Records = binary.BigEndian.Uint64(t[16:24])
	want := f.sum.Sum(nil)
	if err := f.full(f.trailer.Sum[:], false); err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(want, f.trailer.Sum[:]) != 1 {
		return problem(Checksum, -1, -1, "")
	}
	if _, err := f.r.ReadByte(); !errors.Is(err, io.EOF) {
		return problem(Malformed, f.off, -1, "bytes after the trailer")
	}
	return nil
}

// Scan reads a whole backup file without the key and checks its framing
// and its checksum. It is what a file can be checked for without the key;
// Verify also authenticates every chunk.
func Scan(r io.Reader) (Info, error) {
	f, err := readFrames(r)
	if err != nil {
		return Info{}, err
	}
	for {
		kind, _, err := f.next()
		if err != nil {
			return Info{Header: f.header}, err
		}
		if kind == kindEnd {
			return Info{Header: f.header, Trailer: f.trailer}, nil
		}
	}
}

// Reader reads the Badger backup stream out of a backup file, returning
// each chunk's bytes only once the chunk is authenticated, and io.EOF only
// once the end chunk and the trailer are checked. An incomplete or altered
// file ends in an *Error: a caller that must not act on part of a file
// checks it with Verify first.
type Reader struct {
	f     *frames
	s     *sealer
	plain []byte
	rest  []byte
	err   error
}

// NewReader reads the header of a backup file and returns a Reader for its
// stream. It fails with WrongKey if the file is sealed with another key.
func NewReader(r io.Reader, key Key) (*Reader, error) {
	f, err := readFrames(r)
	if err != nil {
		return nil, err
	}
	if f.header.KeyFingerprint != key.Fingerprint() {
		return nil, problem(WrongKey, -1, -1, "the file's key is "+f.header.KeyFingerprint+", the key given is "+key.Fingerprint())
	}
	s, err := newSealer(key.Bytes(), f.header.Salt, f.headerSum)
	if err != nil {
		return nil, err
	}
	return &Reader{f: f, s: s}, nil
}

// Header returns the file's header.
func (r *Reader) Header() Header { return r.f.header }

// Trailer returns the file's trailer, once Read has returned io.EOF.
func (r *Reader) Trailer() Trailer { return r.f.trailer }

func (r *Reader) Read(p []byte) (int, error) {
	for len(r.rest) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		r.err = r.chunk()
	}
	n := copy(p, r.rest)
	r.rest = r.rest[n:]
	return n, nil
}

// chunk opens the next chunk into rest.
func (r *Reader) chunk() error {
	index := r.f.index
	kind, sealed, err := r.f.next()
	if err != nil {
		return err
	}
	r.plain, err = r.s.open(r.plain[:0], index, kind, sealed)
	if err != nil {
		return problem(Tampered, -1, int64(index), "")
	}
	if kind == kindData {
		r.rest = r.plain
		return nil
	}
	t := r.f.trailer
	if binary.BigEndian.Uint64(r.plain[:8]) != t.Until || binary.BigEndian.Uint64(r.plain[8:]) != t.Records {
		return problem(Tampered, -1, int64(index), "the trailer's numbers differ from the sealed ones")
	}
	return io.EOF
}

// Verify reads a whole backup file twice, checking its framing and
// checksum and then authenticating every chunk with key, and returns what
// it describes. A damaged file is reported as damaged (Checksum,
// Truncated) before any chunk is opened.
func Verify(r io.ReadSeeker, key Key) (Info, error) {
	info, err := Scan(r)
	if err != nil {
		return info, err
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return info, err
	}
	br, err := NewReader(r, key)
	if err != nil {
		return info, err
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return info, err
	}
	return info, nil
}
