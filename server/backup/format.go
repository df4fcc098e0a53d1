// Package backup owns Throughcare's backup file: its format (a header, the
// store's Badger backup stream sealed in AES-256-GCM chunks, a trailer with
// a checksum), writing one, verifying one and reading one back; and the
// taking of a backup from the live store for AdminService.StreamBackup.
//
// # Format (version 1)
//
//	magic   "TCBACKUP" (8 bytes)
//	version uint16 big-endian (1)
//	hlen    uint32 big-endian, then hlen bytes: the header, JSON (Header)
//	chunks  each: kind(1) length(uint32) sealed(length bytes)
//	          kind 'D' holds up to ChunkSize bytes of the stream;
//	          kind 'E' (exactly one, last) holds until(8) records(8)
//	trailer "TCBKEND\n" until(uint64) records(uint64) sha256(32)
//
// Every number is big-endian. The chunk key is HKDF-SHA256 of the store key
// with the header's random salt, so no two files share a key, and chunk i's
// nonce is i (96 bits): nonces never repeat under one key. Each chunk's
// additional data is the SHA-256 of the magic, version and header, its
// index and its kind, so a chunk cannot be moved, dropped, or taken from
// another file, and the header cannot be altered, without the chunk
// failing. The 'E' chunk seals the trailer's numbers, so the end cannot be
// cut off or its counts changed undetected. The trailer's SHA-256 covers
// every byte before it: it tells damage from tampering without the key.
//
// The header and the trailer's numbers are in the clear (no personal data:
// ids, versions, times and the key's fingerprint), so a file can be
// described, and an incremental backup started from it, without the key.
package backup

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Version is the format version this package writes and reads.
const Version = 1

// ChunkSize is the most stream bytes one chunk holds.
const ChunkSize = 64 << 10

const (
	kindData = 'D'
	kindEnd  = 'E'

	keySize    = 32
	saltSize   = 32
	tagSize    = 16
	maxHeader  = 16 << 10
	endPayload = 16
)

var (
	magic        = [8]byte{'T', 'C', 'B', 'A', 'C', 'K', 'U', 'P'}
	trailerMagic = [8]byte{'T', 'C', 'B', 'K', 'E', 'N', 'D', '\n'}
	hkdfInfo     = "throughcare backup v1 chunk key"
)

// Header describes a backup. It is written in the clear.
type Header struct {
	// StoreID names the store the backup was taken from; an incremental
	// backup only restores onto backups of the same store.
	StoreID string `json:"store_id"`
	// Since is the first Badger version the backup holds (0: a full
	// backup); an incremental one holds the versions from Since on.
	Since uint64 `json:"since"`
	// KeyFingerprint names the store key the backup is sealed with.
	KeyFingerprint string `json:"key_fingerprint"`
	// CreatedAt is when the backup was started (UTC).
	CreatedAt time.Time `json:"created_at"`
	// Salt makes the file's chunk key unique (random, saltSize bytes).
	Salt []byte `json:"salt"`
}

// Trailer is what the end of a backup says.
type Trailer struct {
	// Until is the last Badger version the backup holds; the next
	// incremental backup starts at Until+1.
	Until uint64
	// Records is the number of key versions (Badger KVs) in the stream.
	Records uint64
	// Sum is the SHA-256 of every byte before it.
	Sum [sha256.Size]byte
}

// Info is a backup's header and trailer, read without the key.
type Info struct {
	Header
	Trailer
}

// Full reports whether the backup holds the whole store.
func (h Header) Full() bool { return h.Since == 0 }

// Problem says what is wrong with a backup file.
type Problem int

// The problems a reader reports.
const (
	// NotBackup: the file does not start with the magic: it is not a backup.
	NotBackup Problem = iota + 1
	// UnknownVersion: a format version this server does not read.
	UnknownVersion
	// BadHeader: the header cannot be read.
	BadHeader
	// Truncated: the file ends early.
	Truncated
	// Malformed: the framing is broken (an unknown chunk kind, an
	// impossible length, bytes after the trailer).
	Malformed
	// Checksum: the bytes do not match the trailer's SHA-256: the file was
	// damaged (a flipped bit, a bad copy).
	Checksum
	// WrongKey: the file is sealed with another key than the one given.
	WrongKey
	// Tampered: the checksum matches but a chunk fails authentication
	// (chunks moved, dropped or replaced, or the header or trailer
	// altered, with the checksum recomputed).
	Tampered
)

func (p Problem) String() string {
	switch p {
	case NotBackup:
		return "not a Throughcare backup file"
	case UnknownVersion:
		return "a backup format this server does not read"
	case BadHeader:
		return "its header cannot be read"
	case Truncated:
		return "it ends early (truncated)"
	case Malformed:
		return "its framing is broken"
	case Checksum:
		return "its checksum does not match (the file is damaged)"
	case WrongKey:
		return "it is sealed with a different store key"
	case Tampered:
		return "a chunk fails authentication (the file was altered)"
	}
	return "it is unreadable"
}

// Error reports a backup file that cannot be trusted. Nothing of such a
// file is ever restored.
type Error struct {
	Problem Problem
	// Offset is the byte where the problem was found (-1: the whole file).
	Offset int64
	// Chunk is the chunk concerned (-1: none).
	Chunk int64
	// Detail adds what was found, if anything.
	Detail string
}

func (e *Error) Error() string {
	msg := "backup: " + e.Problem.String()
	if e.Chunk >= 0 {
		msg += fmt.Sprintf(" (chunk %d)", e.Chunk)
	}
	if e.Offset >= 0 {
		msg += fmt.Sprintf(" at byte %d", e.Offset)
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Is matches another *Error with the same Problem, so callers can write
// errors.Is(err, &backup.Error{Problem: backup.Checksum}).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Problem == e.Problem
}

// ProblemOf returns the problem err reports (0 if it is not an *Error).
func ProblemOf(err error) Problem {
	var e *Error
	if errors.As(err, &e) {
		return e.Problem
	}
	return 0
}

func problem(p Problem, offset, chunk int64, detail string) *Error {
	return &Error{Problem: p, Offset: offset, Chunk: chunk, Detail: detail}
}

// sealer holds a file's chunk cipher and the additional data's prefix.
type sealer struct {
	aead   cipher.AEAD
	header [sha256.Size]byte // SHA-256 of magic, version and header
}

func newSealer(key, salt []byte, headerSum [sha256.Size]byte) (*sealer, error) {
	if len(key) != keySize {
		return nil, fmt.Errorf("backup: the store key must be %d bytes, not %d", keySize, len(key))
	}
	ck, err := hkdf.Key(sha256.New, key, salt, hkdfInfo, keySize)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(ck)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead, header: headerSum}, nil
}

func (s *sealer) nonce(index uint64) []byte {
	n := make([]byte, s.aead.NonceSize())
	binary.BigEndian.PutUint64(n[len(n)-8:], index)
	return n
}

func (s *sealer) aad(index uint64, kind byte) []byte {
	a := append(s.header[:0:0], s.header[:]...)
	a = binary.BigEndian.AppendUint64(a, index)
	return append(a, kind)
}

func (s *sealer) seal(dst []byte, index uint64, kind byte, plain []byte) []byte {
	return s.aead.Seal(dst, s.nonce(index), plain, s.aad(index, kind))
}

func (s *sealer) open(dst []byte, index uint64, kind byte, sealed []byte) ([]byte, error) {
	return s.aead.Open(dst, s.nonce(index), sealed, s.aad(index, kind))
}
