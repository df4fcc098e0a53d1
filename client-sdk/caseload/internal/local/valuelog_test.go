//go:build linux

package local

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// vlogResident is how many kB of dir's value log files the process holds
// resident (its mappings' Rss in /proc/self/smaps).
func vlogResident(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/smaps")
	must(t, err)
	abs, err := filepath.Abs(dir)
	must(t, err)
	kb, in := 0, false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":"):
			in = len(f) == 6 && filepath.Dir(f[5]) == abs && filepath.Ext(f[5]) == ".vlog"
		case in && len(f) == 3 && f[0] == "Rss:":
			n, err := strconv.Atoi(f[1])
			must(t, err)
			kb += n
		}
	}
	return kb
}

func value(i, size int) []byte {
	v := bytes.Repeat([]byte{byte(i)}, size)
	copy(v, fmt.Sprintf("%08d", i))
	return v
}

// write sets n keys to values of size bytes, in a batch, and syncs.
func write(t *testing.T, db *DB, n, size int, prefix string) {
	t.Helper()
	b := db.NewBatch()
	for i := range n {
		must(t, b.Set([]byte(fmt.Sprintf("%s%06d", prefix, i)), value(i, size)))
	}
	must(t, b.Flush())
	must(t, db.Sync())
}

func check(t *testing.T, db *DB, n, size int, prefix string) {
	t.Helper()
	must(t, db.View(func(txn *Txn) error {
		for i := range n {
			v, ok, err := txn.Get([]byte(fmt.Sprintf("%s%06d", prefix, i)))
			if err != nil || !ok || !bytes.Equal(v, value(i, size)) {
				t.Fatalf("%s%06d: %d bytes, %v, %v", prefix, i, len(v), ok, err)
			}
		}
		return nil
	}))
}

// Values from ValueThreshold up go to the value log (the process maps
// what it writes there), smaller ones stay in the LSM tree; ReleaseMapped
// drops the mapped pages without losing a byte, and does nothing while a
// batch is running.
func TestValueLogAndReleaseMapped(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, key(1), false)
	must(t, err)
	defer db.Close()

	write(t, db, 4000, ValueThreshold-100, "s") // 1.6 MB inline
	small := vlogResident(t, dir)
	write(t, db, 4000, 2*ValueThreshold, "l") // 4 MB to the value log
	large := vlogResident(t, dir)
	if small > 512 || large-small < 3500 {
		t.Fatalf("value log resident: %d kB after small values, %d after large; want < 512 and 3,500 more", small, large)
	}

	b := db.NewBatch()
	must(t, db.ReleaseMapped())
	if got := vlogResident(t, dir); got < large-100 {
		t.Errorf("ReleaseMapped with a batch running: %d kB resident, want still %d", got, large)
	}
	b.Cancel()

	must(t, db.ReleaseMapped())
	if got := vlogResident(t, dir); got > 256 {
		t.Errorf("after ReleaseMapped: %d kB resident, want < 256", got)
	}
	check(t, db, 4000, 2*ValueThreshold, "l")
	check(t, db, 4000, ValueThreshold-100, "s")
	write(t, db, 100, 2*ValueThreshold, "m") // and writes go on
	check(t, db, 100, 2*ValueThreshold, "m")
}

// CollectGarbage reclaims the value log files that overwritten values
// left (once a compaction has counted them: Badger keeps no other count),
// and the values moved out of them survive a reopen.
func TestCollectGarbage(t *testing.T) {
	dir := t.TempDir()
	small := func(o badger.Options) badger.Options {
		return o.WithValueLogFileSize(1 << 20).WithMemTableSize(1 << 20).WithNumLevelZeroTables(1)
	}
	db, err := open(dir, key(1), false, small)
	must(t, err)
	const n, size = 4000, 1024
	reopen := func() { // the memtable flushed to a table
		must(t, db.Close())
		db, err = open(dir, key(1), false, small)
		must(t, err)
	}
	write(t, db, n, size, "k")
	reopen()
	write(t, db, n, size+1, "k") // every value of the first 4 MB is garbage
	reopen()
	must(t, db.db.Flatten(1)) // the compaction that counts it
	before := vlogFiles(t, dir)
	after := before
	for range 4 { // each call rewrites a few files: as many syncs
		must(t, db.CollectGarbage())
		after = vlogFiles(t, dir)
	}
	if after > before-2 {
		t.Errorf("value log files: %d before CollectGarbage, %d after; want at least 2 fewer", before, after)
	}
	must(t, db.Close())

	db, err = open(dir, key(1), false, small)
	must(t, err)
	defer db.Close()
	check(t, db, n, size+1, "k")
}

func vlogFiles(t *testing.T, dir string) int {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.vlog"))
	must(t, err)
	return len(m)
}

// A store written with the options before the value log (every value
// inline, tables compressed with Snappy, 32 MB memtables) opens with
// today's and keeps its data, and one written with today's opens with the
// old: an SDK update or downgrade keeps the tablet's store.
func TestOldOptionsStore(t *testing.T) {
	dir := t.TempDir()
	old := func(o badger.Options) badger.Options {
		return o.WithValueThreshold(1 << 20).WithCompression(options.Snappy).WithMemTableSize(32 << 20)
	}
	db, err := open(dir, key(1), false, old)
	must(t, err)
	write(t, db, 2000, 2*ValueThreshold, "o")
	must(t, db.Close())

	db, err = Open(dir, key(1), false)
	must(t, err)
	check(t, db, 2000, 2*ValueThreshold, "o")
	write(t, db, 2000, 2*ValueThreshold, "n")
	must(t, db.Close())

	db, err = open(dir, key(1), false, old)
	must(t, err)
	defer db.Close()
	check(t, db, 2000, 2*ValueThreshold, "o")
	check(t, db, 2000, 2*ValueThreshold, "n")
}
