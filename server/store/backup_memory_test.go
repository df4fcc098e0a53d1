package store_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/hlc"
)

// countingWriter counts what it is given and keeps nothing.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// A backup allocates in proportion to what it writes, not per key range:
// Badger's Stream took a 32 MiB buffer for every range of the store's
// tables (and queued up to 32 of them ahead of a slow writer), which is
// what took a live server's memory to 1.8 GB during the soak's backups.
func TestBackupAllocatesInProportionToItsStream(t *testing.T) {
	s, err := store.Open(store.Options{Dir: t.TempDir(), Logger: zerolog.Nop(), GCInterval: -1, MemTableMB: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fillNotes(t, s, 1000)

	// Only what the backup allocates counts, not the flushes and
	// compactions the filling left running beside it: every allocation is
	// profiled meanwhile, and those made under Backup are summed.
	defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
	runtime.MemProfileRate = 1
	before := allocatedUnder(t, "store.(*DB).Backup")
	w := &countingWriter{}
	if _, err := s.Backup(context.Background(), w, 0); err != nil {
		t.Fatal(err)
	}
	alloc := allocatedUnder(t, "store.(*DB).Backup") - before
	// The stream's bytes are copied out of the store, listed and
	// marshalled: under three times what is written, plus a little per list.
	limit := 3*w.n + 16<<20
	t.Logf("stream %d MB, allocated %d MB", w.n>>20, alloc>>20)
	if w.n < 20<<20 {
		t.Fatalf("the stream holds %d bytes; the test meant to back up over 20 MB", w.n)
	}
	if alloc > limit {
		t.Fatalf("a backup of %d MB allocated %d MB, want at most %d MB", w.n>>20, alloc>>20, limit>>20)
	}
}

// allocatedUnder is how many bytes the memory profile has seen allocated
// by calls under a function whose name ends in fn (those sampled: all of
// them at a MemProfileRate of 1).
func allocatedUnder(t *testing.T, fn string) int64 {
	t.Helper()
	runtime.GC() // the profile is as of the last collection
	runtime.GC()
	var recs []runtime.MemProfileRecord
	n, _ := runtime.MemProfile(nil, true)
	for {
		recs = make([]runtime.MemProfileRecord, n+64)
		var ok bool
		if n, ok = runtime.MemProfile(recs, true); ok {
			recs = recs[:n]
			break
		}
	}
	var sum int64
	for _, r := range recs {
		frames := runtime.CallersFrames(r.Stack())
		for {
			f, more := frames.Next()
			if strings.HasSuffix(f.Function, fn) {
				sum += r.AllocBytes
				break
			}
			if !more {
				break
			}
		}
	}
	return sum
}

// fillNotes pushes batches of 40 contacts with 600-byte notes (about 25 KB
// a batch).
func fillNotes(tb testing.TB, s *store.DB, batches int) {
	tb.Helper()
	note := strings.Repeat("n", 600)
	for k := range batches {
		b := &syncengine.Batch{UserID: crashUser, DeviceID: crashDevice, ReceivedAt: time.Now()}
		for j := range 40 {
			seq := uint64(k*40 + j + 1)
			b.Changes = append(b.Changes, &v1.Change{
				DeviceSeq: seq, RecordId: crashRecordID(k, j), RecordType: "contact",
				ClientId: crashBuckets[j%len(crashBuckets)], Field: "notes",
				Value: &v1.Value{Kind: &v1.Value_StringValue{StringValue: note}},
				Stamp: &v1.Stamp{Time: hlc.Pack(crashBaseMillis+int64(seq), 0), Replica: crashDevice},
			})
		}
		if _, err := syncengine.Apply(context.Background(), s, b); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkBackup takes a full backup of a store of 40,000 contacts.
func BenchmarkBackup(b *testing.B) {
	s, err := store.Open(store.Options{Dir: b.TempDir(), Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	fillNotes(b, s, 1000)
	b.ReportAllocs()
	b.ResetTimer()
	var n int64
	for b.Loop() {
		w := &countingWriter{}
		if _, err := s.Backup(context.Background(), w, 0); err != nil {
			b.Fatal(err)
		}
		n = w.n
	}
	b.SetBytes(n)
}
