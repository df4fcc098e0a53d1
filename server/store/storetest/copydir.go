package storetest

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// CopyDir copies the data directory dir into a new one and returns it,
// keeping the holes of Badger's preallocated files. A copy of the directory
// of a store that is open, and idle, is the directory as a kill -9 would
// leave it: Badger's writes are in memory-mapped files, which the copy
// reads through the page cache.
func CopyDir(t testing.TB, dir string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			copySparse(t, filepath.Join(dir, e.Name()), filepath.Join(dst, e.Name()))
		}
	}
	return dst
}

func copySparse(t testing.TB, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = src.Close() }() // opened read-only: closing it loses nothing
	info, err := src.Stat()
	if err != nil {
		t.Fatal(err)
	}
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		// The copy is written: a failed close may have lost some of it.
		if err := dst.Close(); err != nil {
			t.Errorf("closing %s: %v", to, err)
		}
	}()
	const seekData, seekHole = 3, 4 // lseek whences (Linux, the BSDs, Solaris)
	if _, err := src.Seek(0, seekData); err != nil {
		// No holes to keep here (or none to find): copy it all.
		if _, err := io.Copy(dst, src); err != nil {
			t.Fatal(err)
		}
		return
	}
	for off := int64(0); off < info.Size(); {
		data, err := src.Seek(off, seekData)
		if err != nil { // no data after off
			break
		}
		hole, err := src.Seek(data, seekHole)
		if err != nil {
			hole = info.Size()
		}
		if _, err := src.Seek(data, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		if _, err := dst.Seek(data, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		if _, err := io.CopyN(dst, src, hole-data); err != nil && !errors.Is(err, io.EOF) {
			t.Fatal(err)
		}
		off = hole
	}
	if err := dst.Truncate(info.Size()); err != nil {
		t.Fatal(err)
	}
}
