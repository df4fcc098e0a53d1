package store

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"hash/fnv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/rs/zerolog"
)

// Reading a store leaves its tables' pages resident; ReleaseTablePages
// hands them back, and the store reads the same afterwards.
func TestReleaseTablePages(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, Logger: zerolog.Nop(), GCInterval: -1, MemTableMB: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n, size = 12_000, 2000 // 24 MB: tables on disk, beyond the memtables
	for i := 0; i < n; i += 400 {
		if err := s.db.Update(func(txn *badger.Txn) error {
			for j := i; j < i+400; j++ {
				v := make([]byte, size)
				rand.Read(v)
				if err := txn.Set(testKey(j), v); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.db.Flatten(1); err != nil { // the memtables' contents, into tables
		t.Fatal(err)
	}
	sum := func() []byte {
		t.Helper()
		h := fnv.New128a()
		err := s.db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte("k")})
			defer it.Close()
			for it.Rewind(); it.Valid(); it.Next() {
				h.Write(it.Item().Key())
				if err := it.Item().Value(func(v []byte) error {
					h.Write(v)
					return nil
				}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return h.Sum(nil)
	}
	want := sum()
	before := residentTables(t, dir)
	if before < 4<<20 {
		t.Fatalf("after reading the store %d bytes of its tables are resident; the test needs them mapped and read", before)
	}
	advised, err := s.ReleaseTablePages()
	if err != nil {
		t.Fatal(err)
	}
	after := residentTables(t, dir)
	if advised < before || after > before/10 {
		t.Fatalf("ReleaseTablePages advised %d bytes; resident tables %d bytes before, %d after (want under a tenth)", advised, before, after)
	}
	if got := sum(); !bytes.Equal(got, want) {
		t.Fatalf("the store reads %x after releasing its pages, %x before", got, want)
	}
}

// A store in memory has no tables to release.
func TestReleaseTablePagesInMemory(t *testing.T) {
	s, err := Open(Options{InMemory: true, Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := s.ReleaseTablePages(); n != 0 || err != nil {
		t.Fatalf("ReleaseTablePages in memory = %d, %v; want 0, nil", n, err)
	}
}

func TestTableMapping(t *testing.T) {
	tests := []struct {
		line string
		want mapping
		ok   bool
	}{
		{"7f0000000000-7f0000200000 r--s 00000000 fd:01 123 /data/000001.sst", mapping{0x7f0000000000, 0x7f0000200000}, true},
		{"7f0000000000-7f0000200000 r--s 00000000 fd:01 123 /data/00001.mem", mapping{}, false},
		{"7f0000000000-7f0000200000 r--s 00000000 fd:01 123 /other/000001.sst", mapping{}, false},
		{"7f0000000000-7f0000200000 r--s 00000000 fd:01 123 /data/sub/000001.sst", mapping{}, false},
		{"7f0000000000-7f0000200000 rw-p 00000000 00:00 0", mapping{}, false},
		{"zz-7f0000200000 r--s 00000000 fd:01 123 /data/000001.sst", mapping{}, false},
	}
	for _, tt := range tests {
		got, ok := tableMapping(tt.line, "/data")
		if got != tt.want || ok != tt.ok {
			t.Errorf("tableMapping(%q) = %v, %v; want %v, %v", tt.line, got, ok, tt.want, tt.ok)
		}
	}
}

// residentTables is how many bytes of dir's mapped tables are resident
// (their mappings' Rss in /proc/self/smaps).
func residentTables(t *testing.T, dir string) int64 {
	t.Helper()
	dir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var total int64
	table := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if f := strings.Fields(line); len(f) > 0 && !strings.HasSuffix(f[0], ":") {
			_, table = tableMapping(line, dir) // a mapping's first line
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok && k == "Rss" && table {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			total += kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return total
}

func testKey(i int) []byte { return []byte("k" + strconv.Itoa(1_000_000+i)) }
