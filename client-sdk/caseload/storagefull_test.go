package caseload

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
	"github.com/throughcare/throughcare/syncproto/zstdwire"
)

// tabletDisk is a tablet's storage that the test fills and empties by
// hand, and the clock the device's free-space checks are cached on.
type tabletDisk struct {
	free  uint64
	clock time.Time
}

func (s *tabletDisk) probe() (uint64, error) { return s.free, nil }
func (s *tabletDisk) now() time.Time         { return s.clock }

// fill and empty change the free space and move past the cache interval.
func (s *tabletDisk) fill()  { s.free, s.clock = 1<<20, s.clock.Add(2*time.Second) }
func (s *tabletDisk) empty() { s.free, s.clock = 1<<30, s.clock.Add(2*time.Second) }

// diskDevice opens (or reopens) an on-disk device in dir on the disk s.
func diskDevice(t *testing.T, dir string, key []byte, s *tabletDisk) *Device {
	t.Helper()
	d, err := Open(Config{Dir: dir, Key: key, Server: noServer, Now: s.now, freeSpace: s.probe})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// A nearly full tablet refuses writes whole with ErrStorageFull, keeps and
// shows what it holds, says so in Status (announced by Watch), and takes
// writes again as soon as space is freed, without reopening.
func TestStorageFullRefusesWritesKeepsReads(t *testing.T) {
	ctx := context.Background()
	s := &tabletDisk{free: 1 << 30, clock: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	d := diskDevice(t, t.TempDir(), testKey(t), s)
	enrol(t, d)
	c := holdClient(t, d)
	saved := mustLog(t, d, c, contactAt(s.clock.Add(-time.Hour)))
	pending := d.Status().Pending
	ready, take, stop := d.Watch()
	defer stop()

	s.fill()
	if _, err := d.LogContact(ctx, c, contactAt(s.clock)); !errors.Is(err, ErrStorageFull) {
		t.Fatalf("LogContact on a full tablet = %v, want ErrStorageFull", err)
	}
	if err := d.Write(ctx, "client", c, c, Edit{"housing_status", String("hostel")}); !errors.Is(err, ErrStorageFull) {
		t.Fatalf("another write on a full tablet = %v, want ErrStorageFull", err)
	}
	st := d.Status()
	if st.Pending != pending || len(outbox(t, d)) != pending {
		t.Fatalf("a refused write changed the outbox: Pending %d (outbox %d), want %d", st.Pending, len(outbox(t, d)), pending)
	}
	if !st.StorageFull {
		t.Fatal("Status().StorageFull is false on a full tablet")
	}
	<-ready
	if !hasKind(take(), StatusChanged) {
		t.Fatal("no StatusChanged event when storage filled")
	}
	tl, err := d.Timeline(ctx, c)
	if err != nil || len(tl.Contacts) != 1 || tl.Contacts[0].ID != saved {
		t.Fatalf("reads on a full tablet: %d contacts, %v; want the one saved", len(tl.Contacts), err)
	}

	s.empty()
	mustLog(t, d, c, contactAt(s.clock))
	if st := d.Status(); st.StorageFull || st.Pending <= pending {
		t.Fatalf("after space was freed: StorageFull %v, Pending %d (was %d)", st.StorageFull, st.Pending, pending)
	}
}

// A tablet restarted while full opens, reads, and refuses writes.
func TestStorageFullRestart(t *testing.T) {
	ctx := context.Background()
	dir, key := t.TempDir(), testKey(t)
	s := &tabletDisk{free: 1 << 30, clock: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	d := diskDevice(t, dir, key, s)
	enrol(t, d)
	c := holdClient(t, d)
	saved := mustLog(t, d, c, contactAt(s.clock.Add(-time.Hour)))
	must(t, d.Close())

	s.fill()
	d = diskDevice(t, dir, key, s)
	tl, err := d.Timeline(ctx, c)
	if err != nil || len(tl.Contacts) != 1 || tl.Contacts[0].ID != saved {
		t.Fatalf("reads after a restart while full: %d contacts, %v; want the one saved", len(tl.Contacts), err)
	}
	if _, err := d.LogContact(ctx, c, contactAt(s.clock)); !errors.Is(err, ErrStorageFull) {
		t.Fatalf("LogContact after a restart while full = %v, want ErrStorageFull", err)
	}
	if got := d.Status().Pending; got != len(outbox(t, d)) || got == 0 {
		t.Fatalf("Pending %d, outbox %d after a refused write", got, len(outbox(t, d)))
	}
}

// A write Badger fails for want of space (ENOSPC) is ErrStorageFull too,
// whether Badger wraps the cause or flattens it into text (y.Wrap).
func TestENOSPCIsStorageFull(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		full bool
	}{
		{"wrapped", fmt.Errorf("badger: write: %w", syscall.ENOSPC), true},
		{"flattened by badger", fmt.Errorf("%s err: %+v", "Unable to write to value log file", syscall.ENOSPC), true},
		{"unrelated", errors.New("badger: key not found"), false},
	} {
		d := memDevice(t)
		d.mu.Lock()
		got := d.storageErr(tc.err)
		d.mu.Unlock()
		if errors.Is(got, ErrStorageFull) != tc.full || d.Status().StorageFull != tc.full {
			t.Errorf("%s: storageErr = %v (StorageFull %v), want ErrStorageFull %v", tc.name, got, d.Status().StorageFull, tc.full)
		}
		if !errors.Is(got, tc.err) && got.Error() != tc.err.Error() {
			t.Errorf("%s: the cause is lost: %v", tc.name, got)
		}
	}
}

// An in-memory device never reports full, whatever the disk says.
func TestInMemoryNeverFull(t *testing.T) {
	d, c := enrolledDevice(t, func(cfg *Config) { cfg.freeSpace = func() (uint64, error) { return 0, nil } })
	mustLog(t, d, c, contactAt(time.Now()))
	if d.Status().StorageFull {
		t.Fatal("an in-memory device reports full storage")
	}
}

func hasKind(evs []Event, k EventKind) bool {
	for _, e := range evs {
		if e.Kind == k {
			return true
		}
	}
	return false
}

// syncServer accepts every push and counts pulls, answering each with an
// empty, final page.
type syncServer struct {
	throughcarev1connect.UnimplementedSyncServiceHandler
	mu            sync.Mutex
	pushed, pulls int
}

func (s *syncServer) Push(_ context.Context, req *v1.PushRequest) (*v1.PushResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pushed += len(req.GetChanges())
	return &v1.PushResponse{Results: acceptAll(req.GetChanges())}, nil
}

func (s *syncServer) Pull(context.Context, *v1.PullRequest) (*v1.PullResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pulls++
	return &v1.PullResponse{Cursor: []byte("cursor")}, nil
}

func (s *syncServer) counts() (pushed, pulls int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pushed, s.pulls
}

// serve starts srv over h2c, as the server speaks it, and returns its URL.
func serve(t *testing.T, srv throughcarev1connect.SyncServiceHandler) string {
	t.Helper()
	path, h := throughcarev1connect.NewSyncServiceHandler(srv, zstdwire.HandlerOption())
	mux := http.NewServeMux()
	mux.Handle(path, h)
	hs := httptest.NewUnstartedServer(mux)
	hs.Config.Protocols = new(http.Protocols)
	hs.Config.Protocols.SetHTTP1(true)
	hs.Config.Protocols.SetUnencryptedHTTP2(true)
	hs.Start()
	t.Cleanup(hs.Close)
	return hs.URL
}

// A full tablet's Sync still sends what it holds, but pulls nothing and
// says why; once space is freed, the next Sync pulls.
func TestStorageFullSyncPushesButDoesNotPull(t *testing.T) {
	ctx := context.Background()
	s := &tabletDisk{free: 1 << 30, clock: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	srv := &syncServer{}
	d, err := Open(Config{Dir: t.TempDir(), Key: testKey(t), Server: serve(t, srv), Now: s.now, freeSpace: s.probe})
	must(t, err)
	defer d.Close()
	enrol(t, d)
	c := holdClient(t, d)
	mustLog(t, d, c, contactAt(s.clock.Add(-time.Hour)))
	pending := d.Status().Pending

	s.fill()
	rep, err := d.Sync(ctx)
	if !errors.Is(err, ErrStorageFull) || !errors.Is(d.Status().LastError, ErrStorageFull) {
		t.Fatalf("Sync on a full tablet = %v (LastError %v), want ErrStorageFull", err, d.Status().LastError)
	}
	if pushed, pulls := srv.counts(); pushed != pending || rep.Accepted != pending || pulls != 0 || d.Status().Pending != 0 {
		t.Fatalf("full: pushed %d (accepted %d, pending now %d), pulled %d times; want %d pushed, no pull", pushed, rep.Accepted, d.Status().Pending, pulls, pending)
	}

	s.empty()
	if _, err := d.Sync(ctx); err != nil {
		t.Fatalf("Sync after space was freed: %v", err)
	}
	if _, pulls := srv.counts(); pulls == 0 || d.Status().StorageFull {
		t.Fatalf("after space was freed: %d pulls, StorageFull %v", pulls, d.Status().StorageFull)
	}
}

// A live page arriving while the tablet is full is not stored (Run backs
// off and the next Sync pulls it again from the cursor).
func TestStorageFullLivePageNotStored(t *testing.T) {
	s := &tabletDisk{free: 1 << 30, clock: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	d := diskDevice(t, t.TempDir(), testKey(t), s)
	enrol(t, d)
	s.fill()
	c := newID()
	page := &v1.PullResponse{Buckets: []*v1.BucketUpdate{snapshot(c, clientRecord(c, stampAt(s.clock, otherReplica), otherAuthor))}, Cursor: []byte("next")}
	if err := d.applyLive(page); !errors.Is(err, ErrStorageFull) {
		t.Fatalf("live page on a full tablet = %v, want ErrStorageFull", err)
	}
	if _, err := d.Client(context.Background(), c); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a live page refused for space was stored: Client = %v", err)
	}
}

// A write whose commit succeeded but whose flush to disk failed (a disk
// filling at that moment) is saved: the next write must not reuse its
// sequence numbers and overwrite it in the outbox.
func TestFlushFailureKeepsTheSavedWrite(t *testing.T) {
	s := &tabletDisk{free: 1 << 30, clock: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	d := diskDevice(t, t.TempDir(), testKey(t), s)
	enrol(t, d)
	c := holdClient(t, d)
	d.flush = func() error { return syscall.ENOSPC }
	if _, err := d.LogContact(context.Background(), c, contactAt(s.clock.Add(-time.Hour))); !errors.Is(err, ErrStorageFull) {
		t.Fatalf("LogContact whose flush failed = %v, want ErrStorageFull", err)
	}
	d.flush = d.db.Sync
	mustLog(t, d, c, contactAt(s.clock))
	tl, err := d.Timeline(context.Background(), c)
	if err != nil || len(tl.Contacts) != 2 {
		t.Fatalf("timeline holds %d contacts (%v), want both: the second write overwrote the first", len(tl.Contacts), err)
	}
	if got, want := len(outbox(t, d)), d.Status().Pending; got != want {
		t.Fatalf("outbox holds %d changes, Status().Pending says %d", got, want)
	}
}
