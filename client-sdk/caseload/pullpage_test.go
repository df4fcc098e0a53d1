package caseload

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/throughcare/throughcare/client-sdk/caseload/internal/local"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// storedCursor is the pull cursor the device has committed ("" for none).
func storedCursor(t *testing.T, d *Device) string {
	t.Helper()
	var cur []byte
	must(t, d.db.View(func(txn *local.Txn) (err error) {
		cur, _, err = get(txn, metaCursor)
		return err
	}))
	return string(cur)
}

// A pull stores its pages as they come and commits them (synced, cursor
// moved) in batches: at pullBatchBytes of records, on a snapshot or an
// eviction, and at the last page.
func TestPullBatchCommits(t *testing.T) {
	d := storeOnDisk(t, t.TempDir(), testKey(t))
	enrol(t, d)
	c := holdClient(t, d)
	held := storedCursor(t, d)
	at := time.Now().Add(-time.Hour)
	pageAt := func(cursor string, more bool, bu *v1.BucketUpdate) *page {
		t.Helper()
		p, err := pageOf(&v1.PullResponse{Buckets: []*v1.BucketUpdate{bu}, Cursor: []byte(cursor), HasMore: more})
		must(t, err)
		return p
	}
	contact := func() *v1.BucketUpdate {
		return delta(c, contactRecord(newID(), at, stampAt(at, otherReplica), otherAuthor))
	}
	records := countKeys(t, d, pRecord)

	b := pullBatch{d: d}
	var rep SyncReport
	steps := []struct {
		name       string
		p          *page
		nearlyFull bool // the batch holds just under pullBatchBytes before p
		want       string
	}{
		{"a first page", pageAt("1", true, contact()), false, held},
		{"a second page", pageAt("2", true, contact()), false, held},
		{"a page that fills the batch", pageAt("3", true, contact()), true, "3"},
		{"a page after the commit", pageAt("4", true, contact()), false, "3"},
		{"a snapshot", pageAt("5", true, snapshot(c, clientRecord(c, stampAt(at, otherReplica), otherAuthor))), false, "5"},
		{"a page after it", pageAt("6", true, contact()), false, "5"},
		{"the last page", pageAt("7", false, contact()), false, "7"},
	}
	for _, s := range steps {
		if s.nearlyFull {
			b.bytes = pullBatchBytes - 1
		}
		must(t, b.add(s.p, &rep))
		if got := storedCursor(t, d); got != s.want {
			t.Fatalf("after %s: cursor %q, want %q", s.name, got, s.want)
		}
	}
	// Every page's records were stored (and reported) as it came, whatever
	// the commits; the snapshot replaced the client's contacts with none.
	if got, want := countKeys(t, d, pRecord), records+2; got != want {
		t.Fatalf("%d records held after the pull, want %d (the client and the two contacts after its snapshot)", got, want)
	}
	if rep.Pulled != 7 {
		t.Fatalf("reported %d records pulled, want 7", rep.Pulled)
	}
}

// pagedServer accepts pushes as syncServer does and answers pulls with
// pages of one new contact each, cursors "1", "2", … up to pages; a pull
// from cursor failAt fails as a lost connection does.
type pagedServer struct {
	syncServer
	client string
	pages  int

	mu      sync.Mutex
	failAt  string
	cursors []string // pulled from, in order
}

func (s *pagedServer) Pull(_ context.Context, req *v1.PullRequest) (*v1.PullResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	from := string(req.GetCursor())
	s.cursors = append(s.cursors, from)
	if from == s.failAt {
		return nil, connect.NewError(connect.CodeUnavailable, errors.New("signal lost"))
	}
	n, _ := strconv.Atoi(from) // "" is 0
	n++
	at := time.Now().Add(-time.Hour)
	return &v1.PullResponse{
		Buckets: []*v1.BucketUpdate{delta(s.client, contactRecord(newID(), at, stampAt(at, otherReplica), otherAuthor))},
		Cursor:  []byte(strconv.Itoa(n)), HasMore: n < s.pages,
	}, nil
}

func (s *pagedServer) restore() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failAt, s.cursors = "", nil
}

func (s *pagedServer) pulledFrom() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.cursors...)
}

// A sync that loses the connection part way through keeps every page it
// stored (committed, though its batch was not full), and the next sync
// goes on from the last of them.
func TestPullLostMidwayKeepsItsPages(t *testing.T) {
	srv := &pagedServer{pages: 6, failAt: "3"}
	d, err := Open(Config{Dir: t.TempDir(), Key: testKey(t), Server: serve(t, srv)})
	must(t, err)
	defer d.Close()
	enrol(t, d)
	srv.client = holdClient(t, d)
	records := countKeys(t, d, pRecord)

	if _, err := d.Sync(context.Background()); connect.CodeOf(err) != connect.CodeUnavailable {
		t.Fatalf("Sync with the connection lost at cursor 3 = %v, want unavailable", err)
	}
	if got := storedCursor(t, d); got != "3" {
		t.Fatalf("cursor after the lost sync %q, want %q (the last page stored)", got, "3")
	}
	if got := countKeys(t, d, pRecord); got != records+3 {
		t.Fatalf("%d records after the lost sync, want %d", got, records+3)
	}

	srv.restore()
	if _, err := d.Sync(context.Background()); err != nil {
		t.Fatalf("Sync with the connection back: %v", err)
	}
	if got := srv.pulledFrom(); len(got) == 0 || got[0] != "3" {
		t.Fatalf("the next sync pulled from %q, want it to start at cursor 3", got)
	}
	if got := countKeys(t, d, pRecord); got != records+6 {
		t.Fatalf("%d records after the second sync, want %d (each page once)", got, records+6)
	}
}
