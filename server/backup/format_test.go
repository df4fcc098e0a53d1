package backup_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/backup"
)

// testKey is a store key for tests.
type testKey []byte

func (k testKey) Bytes() []byte { return k }
func (k testKey) Fingerprint() string {
	s := sha256.Sum256(k)
	return hex.EncodeToString(s[:6])
}

func newKey(seed byte) testKey { return bytes.Repeat([]byte{seed}, 32) }

// stream is n pseudo-random bytes (the stand-in for a Badger stream).
func stream(n int) []byte {
	r := rand.New(rand.NewPCG(1, uint64(n)))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func writeFile(t testing.TB, key backup.Key, plain []byte, until uint64) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := backup.NewWriter(&out, key, backup.Header{StoreID: "store-1", Since: 7, CreatedAt: time.Date(2026, 12, 7, 1, 2, 3, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	// Uneven writes, to cross chunk boundaries.
	for p := plain; len(p) > 0; {
		n := min(len(p), 1000+len(p)%7919)
		if _, err := w.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	w.AddRecords(42)
	if _, err := w.Close(until); err != nil {
		t.Fatal(err)
	}
	if int64(out.Len()) != w.Written() {
		t.Fatalf("Written = %d, file has %d bytes", w.Written(), out.Len())
	}
	return out.Bytes()
}

func TestRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, backup.ChunkSize - 1, backup.ChunkSize, backup.ChunkSize + 1, 3*backup.ChunkSize + 17} {
		plain := stream(n)
		file := writeFile(t, newKey(1), plain, 99)
		info, err := backup.Verify(bytes.NewReader(file), newKey(1))
		if err != nil {
			t.Fatalf("%d bytes: Verify: %v", n, err)
		}
		if info.StoreID != "store-1" || info.Since != 7 || info.Until != 99 || info.Records != 42 || info.KeyFingerprint != newKey(1).Fingerprint() {
			t.Fatalf("%d bytes: info = %+v", n, info)
		}
		r, err := backup.NewReader(bytes.NewReader(file), newKey(1))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("%d bytes: ReadAll: %v", n, err)
		}
		if !bytes.Equal(got, plain) {
			t.Fatalf("%d bytes: read back %d bytes that differ", n, len(got))
		}
		if r.Trailer().Until != 99 {
			t.Fatalf("trailer %+v", r.Trailer())
		}
	}
}

// The stream is not in the file in the clear.
func TestFileHoldsNoPlaintext(t *testing.T) {
	plain := bytes.Repeat([]byte("Jo Evans, NHS 943 476 5919; "), 5000)
	file := writeFile(t, newKey(1), plain, 1)
	if bytes.Contains(file, []byte("Jo Evans")) {
		t.Fatal("the backup file holds the stream in the clear")
	}
	other := writeFile(t, newKey(1), plain, 1)
	if bytes.Equal(file[len(file)-2000:len(file)-100], other[len(other)-2000:len(other)-100]) {
		t.Fatal("two files of the same stream under the same key seal it alike: the salt is not per file")
	}
}

// chunkOffsets returns where each chunk's frame starts.
func chunkOffsets(t *testing.T, file []byte) []int {
	t.Helper()
	off := 14 + int(binary.BigEndian.Uint32(file[10:14]))
	var out []int
	for {
		out = append(out, off)
		kind := file[off]
		n := int(binary.BigEndian.Uint32(file[off+1:]))
		off += 5 + n
		if kind == 'E' {
			return out
		}
	}
}

// resum recomputes the trailer's checksum, as someone tampering would.
func resum(file []byte) []byte {
	s := sha256.Sum256(file[:len(file)-32])
	return append(file[:len(file)-32:len(file)-32], s[:]...)
}

func TestDamage(t *testing.T) {
	good := writeFile(t, newKey(1), stream(3*backup.ChunkSize+100), 99)
	offs := chunkOffsets(t, good)
	clone := func() []byte { return bytes.Clone(good) }
	tests := []struct {
		name   string
		file   func() []byte
		key    backup.Key
		want   backup.Problem
		verify bool // found by Verify only (needs the key), not by Scan
	}{
		{"not a backup", func() []byte { return []byte("PK\x03\x04 a zip file, say") }, newKey(1), backup.NotBackup, false},
		{"empty", func() []byte { return nil }, newKey(1), backup.NotBackup, false},
		{"unknown version", func() []byte { f := clone(); f[9] = 9; return f }, newKey(1), backup.UnknownVersion, false},
		{"flipped byte in a chunk", func() []byte { f := clone(); f[offs[1]+100] ^= 0x01; return f }, newKey(1), backup.Checksum, false},
		{"flipped byte in the trailer's count", func() []byte { f := clone(); f[len(f)-33] ^= 0x01; return f }, newKey(1), backup.Checksum, false},
		{"flipped byte in the checksum", func() []byte { f := clone(); f[len(f)-1] ^= 0x80; return f }, newKey(1), backup.Checksum, false},
		{"truncated mid-chunk", func() []byte { return good[:offs[2]+77] }, newKey(1), backup.Truncated, false},
		{"truncated at a chunk boundary", func() []byte { return good[:offs[2]] }, newKey(1), backup.Truncated, false},
		{"truncated in the trailer", func() []byte { return good[:len(good)-5] }, newKey(1), backup.Truncated, false},
		{"bytes after the trailer", func() []byte { return append(clone(), 0) }, newKey(1), backup.Malformed, false},
		{"wrong key", clone, newKey(2), backup.WrongKey, true},
		{"chunks reordered, checksum recomputed", func() []byte {
			f := clone()
			a, b := f[offs[0]:offs[1]], f[offs[1]:offs[2]]
			out := append(append(append(append([]byte(nil), f[:offs[0]]...), b...), a...), f[offs[2]:]...)
			return resum(out)
		}, newKey(1), backup.Tampered, true},
		{"chunk dropped, checksum recomputed", func() []byte {
			f := clone()
			out := append(append([]byte(nil), f[:offs[1]]...), f[offs[2]:]...)
			return resum(out)
		}, newKey(1), backup.Tampered, true},
		{"data cut before the end chunk, checksum recomputed", func() []byte {
			f := clone()
			out := append(append([]byte(nil), f[:offs[1]]...), f[offs[len(offs)-1]:]...)
			return resum(out)
		}, newKey(1), backup.Tampered, true},
		{"trailer's count changed, checksum recomputed", func() []byte {
			f := clone()
			f[len(f)-33]++
			return resum(f)
		}, newKey(1), backup.Tampered, true},
		{"header changed, checksum recomputed", func() []byte {
			f := clone()
			i := bytes.Index(f, []byte(`"since":7`))
			f[i+8] = '8'
			return resum(f)
		}, newKey(1), backup.Tampered, true},
		{"fingerprint forged, checksum recomputed", func() []byte {
			f := bytes.Replace(clone(), []byte(newKey(1).Fingerprint()), []byte(newKey(2).Fingerprint()), 1)
			return resum(f)
		}, newKey(2), backup.Tampered, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := tt.file()
			_, scanErr := backup.Scan(bytes.NewReader(file))
			_, err := backup.Verify(bytes.NewReader(file), tt.key)
			if got := backup.ProblemOf(err); got != tt.want {
				t.Fatalf("Verify: %v (problem %v), want problem %v", err, got, tt.want)
			}
			if tt.verify != (scanErr == nil) {
				t.Fatalf("Scan: %v; want it to find the damage: %v", scanErr, !tt.verify)
			}
			if err.Error() == "" {
				t.Fatal("empty message")
			}
			// Reading it in one pass ends in an error too, never a clean EOF.
			r, err := backup.NewReader(bytes.NewReader(file), tt.key)
			if err == nil {
				_, err = io.ReadAll(r)
			}
			if err == nil {
				t.Fatal("a single read pass took the file")
			}
		})
	}
}

func TestWrongKeySize(t *testing.T) {
	if _, err := backup.NewWriter(io.Discard, testKey("short"), backup.Header{}); err == nil {
		t.Fatal("a 5-byte key was taken")
	}
}
