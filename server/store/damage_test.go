package store_test

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/syncengine"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/store/storetest"
	"github.com/throughcare/throughcare/server/storekey"
)

// damageFixture is a real data directory, made by the store, and what was
// acknowledged into it.
type damageFixture struct {
	dir       string
	acked     int // batches 0..acked-1 were acknowledged
	cursorKey []byte
	key       storekey.Key // the store's encryption key (none: not encrypted)
}

func damageOpts(dir string, key storekey.Key) store.Options {
	return store.Options{Dir: dir, Logger: zerolog.Nop(), GCInterval: -1, EncryptionKey: key}
}

// closedFixture: batches pushed and the store closed, so everything is in
// a table (.sst) and no write-ahead log is left.
func closedFixture(t *testing.T, batches int, key storekey.Key) damageFixture {
	t.Helper()
	dir := t.TempDir()
	s, err := store.Open(damageOpts(dir, key))
	if err != nil {
		t.Fatal(err)
	}
	for k := range batches {
		if _, err := syncengine.Apply(context.Background(), s, crashBatch(k)); err != nil {
			t.Fatal(err)
		}
	}
	cursorKey := slices.Clone(s.CursorKey())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return damageFixture{dir: dir, acked: batches, cursorKey: cursorKey, key: key}
}

// closedAgain: a copy of f opened again, more batches pushed and closed
// again, so there are two tables, each listed by its own MANIFEST record.
func closedAgain(t *testing.T, f damageFixture, more int) damageFixture {
	t.Helper()
	f.dir = storetest.CopyDir(t, f.dir)
	s, err := store.Open(damageOpts(f.dir, f.key))
	if err != nil {
		t.Fatal(err)
	}
	for k := f.acked; k < f.acked+more; k++ {
		if _, err := syncengine.Apply(context.Background(), s, crashBatch(k)); err != nil {
			t.Fatal(err)
		}
	}
	must(t, s.Close())
	f.acked += more
	return f
}

// killedFixture: a child process (see TestCrashRecovery) pushes batches
// into f's directory and is killed with SIGKILL once it has acknowledged
// at least more of them, so the newest writes are in a write-ahead log
// (.mem) only.
func killedFixture(t *testing.T, f damageFixture, more int) damageFixture {
	t.Helper()
	r := startCrashChild(t, f.dir, f.key)
	deadline := time.Now().Add(2 * time.Minute) // a safety net only
	for {
		r.mu.Lock()
		n := len(r.acks)
		r.mu.Unlock()
		if n >= more {
			break
		}
		select {
		case <-r.eof:
			r.wait()
			t.Fatalf("child exited after %d acks: %s", n, r.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("child acknowledged only %d batches", n)
		}
	}
	r.cmd.Process.Kill()
	r.wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	f.acked += len(r.acks)
	if f.cursorKey == nil {
		f.cursorKey = cursorKeyOf(t, f.dir, f.key)
	}
	return f
}

// cursorKeyOf opens a copy of dir and returns its cursor key.
func cursorKeyOf(t *testing.T, dir string, key storekey.Key) []byte {
	t.Helper()
	cp := storetest.CopyDir(t, dir)
	s, err := store.Open(damageOpts(cp, key))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	return slices.Clone(s.CursorKey())
}

// newestWAL returns the path of dir's newest write-ahead log file.
func newestWAL(t *testing.T, dir string) string {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, "*.mem"))
	if len(names) == 0 {
		t.Fatalf("no write-ahead log in %s", dir)
	}
	slices.Sort(names)
	return names[len(names)-1]
}

// walEnd is where the entries of a write-ahead log end.
func walEnd(t *testing.T, path string) int64 {
	t.Helper()
	ends, err := store.WALTxnEnds(path)
	if err != nil || len(ends) < 4 {
		t.Fatalf("%s: %d transactions (%v), want several", path, len(ends), err)
	}
	return ends[len(ends)-1]
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := []byte{0}
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xa5
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// splitWAL makes the newest write-ahead log two, as Badger leaves them when
// it is killed while a full memtable is being flushed: the older holding
// the first half of the transactions, the newer the rest. It returns the
// older's path.
func splitWAL(t *testing.T, dir string) string {
	t.Helper()
	path := newestWAL(t, dir)
	ends, err := store.WALTxnEnds(path)
	if err != nil || len(ends) < 4 {
		t.Fatalf("%s: %d transactions (%v)", path, len(ends), err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	mid, end := ends[len(ends)/2-1], ends[len(ends)-1]
	newer := append(slices.Clone(b[:20]), b[mid:end]...) // 20: the log's header
	older := strings.TrimSuffix(path, filepath.Base(path)) + "00001.mem"
	must(t, os.Remove(path))
	must(t, os.WriteFile(older, b[:mid], 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "00002.mem"), newer, 0o600))
	return older
}

// tableLeftByFlush leaves in dir the table Badger writes when it flushes
// the newest write-ahead log, unlisted, as a kill before the MANIFEST
// listed it leaves it: the log is still there.
func tableLeftByFlush(t *testing.T, dir string, key storekey.Key) {
	t.Helper()
	flushed := storetest.CopyDir(t, dir)
	s, err := store.Open(damageOpts(flushed, key))
	must(t, err)
	must(t, s.Close())
	b, err := os.ReadFile(filepath.Join(flushed, "000002.sst"))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, "000002.sst"), b, 0o600))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func rm(name string) func(t *testing.T, dir string, _ storekey.Key) {
	return func(t *testing.T, dir string, _ storekey.Key) { must(t, os.Remove(filepath.Join(dir, name))) }
}

func truncateTo(name string, size func(int64) int64) func(t *testing.T, dir string, _ storekey.Key) {
	return func(t *testing.T, dir string, _ storekey.Key) {
		p := filepath.Join(dir, name)
		info, err := os.Stat(p)
		must(t, err)
		must(t, os.Truncate(p, size(info.Size())))
	}
}

func touch(name string) func(t *testing.T, dir string, _ storekey.Key) {
	return func(t *testing.T, dir string, _ storekey.Key) {
		must(t, os.WriteFile(filepath.Join(dir, name), nil, 0o600))
	}
}

// damageFn damages the data directory dir of a store encrypted with key.
type damageFn func(t *testing.T, dir string, key storekey.Key)

// damageCase is a kind of damage done to a copy of a fixture and the
// outcome Open must give: a refusal of that kind, or, for kind 0, an open
// with every acknowledged batch present. With AcceptDataLoss, a refused
// directory opens if accept is set, and is otherwise refused again, with
// acceptWant (default: want).
//
// Cases marked plainOnly move a log's entries to other offsets, which an
// encrypted log's entries cannot be (each is encrypted under an IV made
// of its offset).
type damageCase struct {
	name       string
	fixture    string
	damage     damageFn
	plainOnly  bool
	want       store.DamageKind
	accept     bool
	acceptWant store.DamageKind
}

var damageCases = []damageCase{
	{name: "intact after a kill", fixture: "killed"},
	{name: "intact after a close", fixture: "closed"},
	{name: "newest write-ahead log: bytes flipped", fixture: "killed", want: store.DamageShortfall, accept: true,
		damage: func(t *testing.T, dir string, _ storekey.Key) { p := newestWAL(t, dir); flipByte(t, p, walEnd(t, p)/2) }},
	{name: "newest write-ahead log: truncated", fixture: "killed", want: store.DamageShortfall, accept: true,
		damage: func(t *testing.T, dir string, _ storekey.Key) {
			p := newestWAL(t, dir)
			must(t, os.Truncate(p, walEnd(t, p)/2))
		}},
	{name: "newest write-ahead log: deleted", fixture: "killed", want: store.DamageShortfall, accept: true,
		damage: func(t *testing.T, dir string, _ storekey.Key) { must(t, os.Remove(newestWAL(t, dir))) }},
	{name: "newest write-ahead log: deleted, no table yet", fixture: "killed, new", want: store.DamageNoMetadata,
		damage: func(t *testing.T, dir string, _ storekey.Key) { must(t, os.Remove(newestWAL(t, dir))) }},
	{name: "two write-ahead logs, intact", fixture: "killed", plainOnly: true,
		damage: func(t *testing.T, dir string, _ storekey.Key) { splitWAL(t, dir) }},
	{name: "older of two write-ahead logs: bytes flipped", fixture: "killed", want: store.DamageWAL, accept: true, plainOnly: true,
		damage: func(t *testing.T, dir string, _ storekey.Key) { p := splitWAL(t, dir); flipByte(t, p, walEnd(t, p)/2) }},
	// The store's metadata is in the table the cut MANIFEST no longer
	// lists: accepting the loss leaves no store.
	{name: "MANIFEST: cut", fixture: "killed", want: store.DamageTablesUnrecorded, acceptWant: store.DamageNoMetadata,
		damage: truncateTo("MANIFEST", func(n int64) int64 { return max(8, n/2) })},
	{name: "MANIFEST: cut, after a close", fixture: "closed", want: store.DamageTablesUnrecorded, acceptWant: store.DamageNoMetadata,
		damage: truncateTo("MANIFEST", func(n int64) int64 { return max(8, n/2) })},
	{name: "MANIFEST: last record cut, after two closes", fixture: "closed twice", want: store.DamageTablesUnrecorded, accept: true,
		damage: truncateTo("MANIFEST", func(n int64) int64 { return n - 3 })},
	{name: "MANIFEST: cut, no table yet", fixture: "killed, new",
		damage: truncateTo("MANIFEST", func(n int64) int64 { return n - 3 })},
	{name: "table left by a kill while flushing", fixture: "killed", damage: tableLeftByFlush},
	{name: "table left by a kill while compacting", fixture: "killed",
		damage: func(t *testing.T, dir string, _ storekey.Key) {
			b, err := os.ReadFile(filepath.Join(dir, "000001.sst"))
			must(t, err)
			must(t, os.WriteFile(filepath.Join(dir, "000007.sst"), b, 0o600))
		}},
	{name: "MANIFEST: deleted", fixture: "killed", want: store.DamageManifestMissing, damage: rm("MANIFEST")},
	{name: "MANIFEST: deleted, no table yet", fixture: "killed, new", damage: rm("MANIFEST")},
	{name: "MANIFEST: bytes flipped", fixture: "closed", want: store.DamageManifest,
		damage: func(t *testing.T, dir string, _ storekey.Key) { flipByte(t, filepath.Join(dir, "MANIFEST"), 12) }},
	{name: "table: bytes flipped", fixture: "closed", want: store.DamageTable,
		damage: func(t *testing.T, dir string, _ storekey.Key) { flipByte(t, filepath.Join(dir, "000001.sst"), 100) }},
	{name: "table: truncated", fixture: "closed", want: store.DamageTable,
		damage: truncateTo("000001.sst", func(n int64) int64 { return n / 2 })},
	{name: "table: deleted", fixture: "killed", want: store.DamageManifest, damage: rm("000001.sst")},
	{name: "empty .mem left by a kill while opening", fixture: "killed", damage: touch("00009.mem")},
	{name: "empty .mem left by a kill while opening, after a close", fixture: "closed", damage: touch("00001.mem")},
	{name: "empty .vlog left by a kill while opening", fixture: "killed", damage: touch("000009.vlog")},
	{name: "acknowledgement record: deleted", fixture: "killed", want: store.DamageAckRecord, accept: true,
		damage: rm(store.AckFileName)},
	{name: "acknowledgement record: bytes flipped", fixture: "killed", want: store.DamageAckRecord, accept: true,
		damage: func(t *testing.T, dir string, _ storekey.Key) {
			flipByte(t, filepath.Join(dir, store.AckFileName), 10)
			flipByte(t, filepath.Join(dir, store.AckFileName), 42)
		}},
	{name: "every Badger file deleted", fixture: "killed", want: store.DamageNoMetadata,
		damage: func(t *testing.T, dir string, _ storekey.Key) {
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if e.Name() != store.AckFileName {
					must(t, os.Remove(filepath.Join(dir, e.Name())))
				}
			}
		}},
}

// TestDamageIsRefused applies each kind of damage to a copy of a real data
// directory (closed, or killed while pushing) and checks Open's outcome:
// the damage refused with its kind, before and after a second attempt, or
// an open with every acknowledged batch present; never an open with less.
// With AcceptDataLoss, acceptable damage opens, replaces the cursor key and
// is recorded; the rest is still refused.
func TestDamageIsRefused(t *testing.T) {
	for _, encrypted := range []bool{false, true} {
		t.Run(map[bool]string{false: "not encrypted", true: "encrypted"}[encrypted], func(t *testing.T) {
			var key storekey.Key
			if encrypted {
				key = newKey(t)
			}
			testDamageIsRefused(t, key)
		})
	}
}

func testDamageIsRefused(t *testing.T, key storekey.Key) {
	closed := closedFixture(t, 10, key)
	twice := closedAgain(t, closed, 10)
	fixtures := map[string]damageFixture{
		"closed":       closed,
		"closed twice": twice,
		"killed":       killedFixture(t, damageFixture{dir: storetest.CopyDir(t, closed.dir), acked: closed.acked, cursorKey: closed.cursorKey, key: key}, 20),
		"killed, new":  killedFixture(t, damageFixture{dir: t.TempDir(), key: key}, 20),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range damageCases {
		if tc.plainOnly && !key.IsZero() {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			f := fixtures[tc.fixture]
			dir := storetest.CopyDir(t, f.dir)
			if tc.damage != nil {
				tc.damage(t, dir, key)
			}
			var logs bytes.Buffer
			for attempt := range 2 {
				o := damageOpts(dir, key)
				o.Logger = zerolog.New(&logs)
				s, err := store.Open(o)
				if got := damageKind(t, err); got != tc.want {
					t.Fatalf("attempt %d: Open = %v (kind %d), want kind %d", attempt+1, err, got, tc.want)
				}
				if err == nil {
					must(t, s.Close())
					break
				}
				if !errors.Is(err, store.ErrDamaged) || !strings.Contains(err.Error(), dir) {
					t.Fatalf("Open = %v: want ErrDamaged naming %s", err, dir)
				}
			}
			if tc.want == 0 {
				if v := verifyCrashStore(t, dir, key, 0, crashVerified{}, true, rng); v.present < f.acked {
					t.Fatalf("%d batches present, but %d were acknowledged", v.present, f.acked)
				}
				return
			}
			checkAccepted(t, dir, f, tc)
		})
	}
}

func damageKind(t *testing.T, err error) store.DamageKind {
	t.Helper()
	var d *store.DamageError
	if errors.As(err, &d) {
		return d.Kind
	}
	if err != nil {
		t.Fatalf("Open = %v, not a *DamageError", err)
	}
	return 0
}

// checkAccepted opens a refused directory with AcceptDataLoss.
func checkAccepted(t *testing.T, dir string, f damageFixture, tc damageCase) {
	t.Helper()
	o := damageOpts(dir, f.key)
	o.AcceptDataLoss = true
	s, err := store.Open(o)
	if !tc.accept {
		want := cmp.Or(tc.acceptWant, tc.want)
		if got := damageKind(t, err); got != want {
			t.Fatalf("Open with AcceptDataLoss = %v (kind %d), want kind %d", err, got, want)
		}
		return
	}
	if err != nil {
		t.Fatalf("Open with AcceptDataLoss: %v", err)
	}
	if slices.Equal(s.CursorKey(), f.cursorKey) {
		t.Error("the cursor key is the same after accepting data loss: devices would not reset")
	}
	key := slices.Clone(s.CursorKey())
	losses, err := s.AcceptedLosses(context.Background())
	must(t, err)
	if len(losses) != 1 || len(losses[0].Damage) == 0 {
		t.Errorf("AcceptedLosses = %+v, want one", losses)
	}
	must(t, s.Close())
	s, err = store.Open(damageOpts(dir, f.key))
	if err != nil {
		t.Fatalf("reopen after accepting data loss: %v", err)
	}
	defer s.Close()
	if !slices.Equal(s.CursorKey(), key) {
		t.Error("the cursor key changed again on the next open")
	}
}

// While a store is open, another Open of its directory is refused before it
// touches anything: it must not remove or move the live store's files.
func TestOpenInspectsNothingOfAStoreInUse(t *testing.T) {
	dir := t.TempDir()
	s, err := store.Open(store.Options{Dir: dir, Logger: zerolog.Nop(), GCInterval: -1})
	must(t, err)
	defer s.Close()
	empty := filepath.Join(dir, "00042.mem") // as the live store is creating it
	must(t, os.WriteFile(empty, nil, 0o600))
	if s2, err := store.Open(store.Options{Dir: dir, Logger: zerolog.Nop(), GCInterval: -1}); err == nil {
		s2.Close()
		t.Fatal("a second Open of a store in use worked")
	}
	if _, err := os.Stat(empty); err != nil {
		t.Fatalf("the second Open removed a file of the store in use: %v", err)
	}
}
