package store_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"

	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/syncengine"
)

func openDir(t *testing.T, dir string) *store.DB {
	t.Helper()
	s, err := store.Open(store.Options{Dir: dir, Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func push(t *testing.T, s *store.DB, from, to int) {
	t.Helper()
	for k := from; k < to; k++ {
		if _, err := syncengine.Apply(context.Background(), s, crashBatch(k)); err != nil {
			t.Fatal(err)
		}
	}
}

// logs returns every crash bucket's log, encoded.
func logs(t *testing.T, s *store.DB) map[string][][]byte {
	t.Helper()
	out := map[string][][]byte{}
	for _, b := range crashBuckets {
		entries, err := s.Log(context.Background(), b)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			out[b] = append(out[b], raw)
		}
	}
	return out
}

func equalLogs(a, b map[string][][]byte) bool {
	for _, k := range crashBuckets {
		if !slices.EqualFunc(a[k], b[k], bytes.Equal) {
			return false
		}
	}
	return len(a) == len(b)
}

func backupOf(t *testing.T, s *store.DB, since uint64) (*bytes.Buffer, store.BackupResult) {
	t.Helper()
	var buf bytes.Buffer
	res, err := s.Backup(context.Background(), &buf, since)
	if err != nil {
		t.Fatal(err)
	}
	return &buf, res
}

func restore(t *testing.T, dir string, from ...*bytes.Buffer) (store.Restored, error) {
	t.Helper()
	var src []store.RestoreSource
	for _, b := range from {
		// The count a stream holds, as the backup file's trailer says.
		c, err := store.CountRecords(bytes.NewReader(b.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		src = append(src, store.RestoreSource{Stream: bytes.NewReader(b.Bytes()), Records: c})
	}
	return store.Restore(store.Options{Dir: dir, Logger: zerolog.Nop()}, src)
}

// A full backup and incremental ones restore, in order, to the store as it
// was at the last backup; the cursor key is replaced and the restore
// recorded; the store keeps its identity.
func TestBackupAndRestore(t *testing.T) {
	ctx := context.Background()
	s := openDir(t, t.TempDir())
	defer s.Close()
	push(t, s, 0, 5)
	full, fres := backupOf(t, s, 0)
	atFull := logs(t, s)
	push(t, s, 5, 9)
	inc, ires := backupOf(t, s, fres.Until+1)
	atInc := logs(t, s)
	empty, eres := backupOf(t, s, ires.Until+1)
	if fres.Since != 0 || fres.Until == 0 || ires.Since != fres.Until+1 || ires.Until <= fres.Until || ires.Records == 0 || ires.Records >= fres.Records {
		t.Fatalf("full %+v, incremental %+v", fres, ires)
	}
	if eres.Until != ires.Until || eres.Records != 0 {
		t.Fatalf("an incremental backup with nothing new: %+v; want until %d and no records", eres, ires.Until)
	}
	id, err := s.StoreID(ctx)
	if err != nil || id != fres.StoreID || id != ires.StoreID || len(id) != 32 {
		t.Fatalf("store id %q (%v); backups say %q, %q", id, err, fres.StoreID, ires.StoreID)
	}
	for _, tc := range []struct {
		name string
		from []*bytes.Buffer
		want map[string][][]byte
		next int // the next batch the device pushes
	}{
		{"full", []*bytes.Buffer{full}, atFull, 5},
		{"full and incrementals", []*bytes.Buffer{full, inc, empty}, atInc, 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "restored")
			rec, err := restore(t, dir, tc.from...)
			if err != nil {
				t.Fatal(err)
			}
			r := openDir(t, dir)
			defer r.Close()
			if got := logs(t, r); !equalLogs(got, tc.want) {
				for _, b := range crashBuckets {
					t.Logf("%s: %d entries, want %d", b, len(got[b]), len(tc.want[b]))
				}
				t.Fatal("the restored logs differ from the source's at the backup")
			}
			if bytes.Equal(r.CursorKey(), s.CursorKey()) {
				t.Fatal("the restored store kept the cursor key: devices' cursors would still be taken")
			}
			if rid, _ := r.StoreID(ctx); rid != id {
				t.Fatalf("restored store id %q, want %q", rid, id)
			}
			got, err := r.Restores(ctx)
			if err != nil || len(got) != 1 || got[0].Records != rec.Records || rec.Commit == 0 {
				t.Fatalf("Restores = %+v, %v; Restore said %+v", got, err, rec)
			}
			push(t, r, tc.next, tc.next+1) // and it takes writes
		})
	}
}

// Pushes commit while a backup is being written, and the backup is the
// store as it was when the backup started.
func TestWritesGoOnDuringBackup(t *testing.T) {
	s := openDir(t, t.TempDir())
	defer s.Close()
	push(t, s, 0, 3)
	before := logs(t, s)
	w := &stallingWriter{started: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error, 1)
	var res store.BackupResult
	go func() {
		var err error
		res, err = s.Backup(context.Background(), w, 0)
		done <- err
	}()
	<-w.started
	push(t, s, 3, 6) // while the backup is stalled in its first write
	close(w.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "restored")
	if _, err := restore(t, dir, &w.buf); err != nil {
		t.Fatal(err)
	}
	r := openDir(t, dir)
	if !equalLogs(logs(t, r), before) {
		t.Fatal("the backup is not the store as it was when it started")
	}
	r.Close()
	inc, _ := backupOf(t, s, res.Until+1)
	dir2 := filepath.Join(t.TempDir(), "restored")
	if _, err := restore(t, dir2, &w.buf, inc); err != nil {
		t.Fatal(err)
	}
	r2 := openDir(t, dir2)
	defer r2.Close()
	if !equalLogs(logs(t, r2), logs(t, s)) {
		t.Fatal("the incremental after it misses the writes made during the backup")
	}
}

type stallingWriter struct {
	buf              bytes.Buffer
	started, release chan struct{}
	once             bool
}

func (w *stallingWriter) Write(p []byte) (int, error) {
	if !w.once {
		w.once = true
		close(w.started)
		<-w.release
	}
	return w.buf.Write(p)
}

func TestRestoreRefuses(t *testing.T) {
	s := openDir(t, t.TempDir())
	push(t, s, 0, 2)
	full, res := backupOf(t, s, 0)
	inc, _ := backupOf(t, s, res.Until) // overlaps by one version: fine
	s.Close()

	notEmpty := t.TempDir()
	if err := os.WriteFile(filepath.Join(notEmpty, "keep-me"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := restore(t, notEmpty, full); !errors.Is(err, store.ErrNotEmpty) {
		t.Fatalf("restore into a directory with a file in it: %v, want ErrNotEmpty", err)
	}
	if b, err := os.ReadFile(filepath.Join(notEmpty, "keep-me")); err != nil || string(b) != "x" {
		t.Fatal("the refused restore touched the directory")
	}

	// An incremental alone holds no store metadata.
	dir := filepath.Join(t.TempDir(), "d")
	if _, err := restore(t, dir, inc); err == nil {
		t.Fatal("an incremental backup alone was restored")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a failed restore left %d files behind", len(entries))
	}

	// A stream that holds fewer records than it should.
	src := []store.RestoreSource{{Stream: bytes.NewReader(full.Bytes()), Records: 1 << 40}}
	if _, err := store.Restore(store.Options{Dir: dir, Logger: zerolog.Nop()}, src); err == nil {
		t.Fatal("a stream short of its record count was restored")
	}
}

// A backup whose caller has gone stops with the caller's error.
func TestBackupStopsWithItsContext(t *testing.T) {
	s := openDir(t, t.TempDir())
	defer s.Close()
	push(t, s, 0, 2)
	ctx, cancel := context.WithCancel(context.Background())
	w := &cancelOnWrite{cancel: cancel}
	if _, err := s.Backup(ctx, w, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("Backup = %v, want context.Canceled", err)
	}
}

type cancelOnWrite struct{ cancel func() }

func (w *cancelOnWrite) Write(p []byte) (int, error) {
	w.cancel()
	return len(p), nil
}
