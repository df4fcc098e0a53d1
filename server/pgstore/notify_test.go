package pgstore

import (
	"context"
	"errors"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/throughcare/throughcare/server/pgstore/pgtest"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// replicas opens two DBs on one fresh database, as two servers would.
func replicas(t *testing.T) (a, b *DB) {
	t.Helper()
	return replicasOf(t, pgtest.Shared(t).Database(t, t.Name()))
}

func replicasOf(t *testing.T, url string) (a, b *DB) {
	t.Helper()
	openOne := func() *DB {
		s, err := Open(context.Background(), Options{URL: url, ListenRetry: time.Millisecond})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	return openOne(), openOne()
}

// heard collects what a DB's watchers are told, merged: the highest head
// heard of each bucket, and each call.
type heard struct {
	mu    sync.Mutex
	heads map[string]uint64
	calls []map[string]uint64
	ch    chan struct{} // a value after each call
}

func watch(t *testing.T, s *DB) *heard {
	h := &heard{heads: map[string]uint64{}, ch: make(chan struct{}, 1)}
	t.Cleanup(s.Watch(func(heads map[string]uint64) {
		h.mu.Lock()
		for b, n := range heads {
			h.heads[b] = max(h.heads[b], n)
		}
		h.calls = append(h.calls, maps.Clone(heads))
		h.mu.Unlock()
		select {
		case h.ch <- struct{}{}:
		default:
		}
	}))
	return h
}

// waitFor waits until the watcher has heard every head in want (or fails
// the test after a long while: a guard, not a timing assertion).
func (h *heard) waitFor(t *testing.T, want map[string]uint64) {
	t.Helper()
	guard := time.After(30 * time.Second)
	for {
		h.mu.Lock()
		ok := true
		for b, n := range want {
			ok = ok && h.heads[b] >= n
		}
		got := maps.Clone(h.heads)
		h.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-h.ch:
		case <-guard:
			t.Fatalf("watcher heard %d heads, want %d (missing some of %v)", len(got), len(want), want)
		}
	}
}

// push appends n entries to each bucket in one transaction and returns the
// new heads; fail makes the transaction roll back after its appends.
func push(t *testing.T, s *DB, buckets []string, n int, fail error) map[string]uint64 {
	t.Helper()
	want := map[string]uint64{}
	err := s.Buckets(context.Background(), func(tx store.BucketTx) error {
		for _, b := range buckets {
			head, err := tx.Head(b)
			if err != nil {
				return err
			}
			for i := range n {
				e := &v1.HistoryEntry{Position: head + 1 + uint64(i), RecordId: uuid.NewString(), RecordType: "contact", Field: "notes"}
				if err := tx.Append(b, e); err != nil {
					return err
				}
			}
			want[b] = head + uint64(n)
		}
		return fail
	})
	if !errors.Is(err, fail) {
		t.Fatalf("Buckets = %v, want %v", err, fail)
	}
	return want
}

func newBuckets(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = uuid.NewString()
	}
	return out
}

// A push committed through one server reaches the watchers of another,
// with the heads it committed, and its own watchers once (not again by
// the loopback notification).
func TestWatchHearsOtherServersPushes(t *testing.T) {
	a, b := replicas(t)
	onA, onB := watch(t, a), watch(t, b)
	buckets := newBuckets(2)
	want := push(t, a, buckets, 3, nil)
	onB.waitFor(t, want)
	onB.mu.Lock()
	if len(onB.calls) != 1 || !maps.Equal(onB.calls[0], want) {
		t.Errorf("B's watcher heard %v, want one call with %v", onB.calls, want)
	}
	onB.mu.Unlock()
	// B's own push reaches A the same way; the loopback of A's first push
	// has reached A by then (notifications arrive in commit order), and A
	// must have heard its own push once only.
	later := push(t, b, buckets[:1], 1, nil)
	onA.waitFor(t, later)
	onA.mu.Lock()
	defer onA.mu.Unlock()
	if len(onA.calls) != 2 || !maps.Equal(onA.calls[0], want) || !maps.Equal(onA.calls[1], later) {
		t.Errorf("A's watcher heard %v, want its own push %v then B's %v", onA.calls, want, later)
	}
}

// A push that rolls back is never heard: a later committed push is, and
// nothing of the rolled-back one came before it.
func TestWatchNeverHearsRolledBackPush(t *testing.T) {
	a, b := replicas(t)
	onB := watch(t, b)
	rolledBack, committed := newBuckets(1), newBuckets(1)
	push(t, a, rolledBack, 1, errors.New("boom"))
	want := push(t, a, committed, 1, nil)
	onB.waitFor(t, want)
	onB.mu.Lock()
	defer onB.mu.Unlock()
	if _, ok := onB.heads[rolledBack[0]]; ok {
		t.Errorf("B's watcher heard the rolled-back bucket: %v", onB.calls)
	}
}

// A push to more buckets than one payload holds is split, and every head
// reaches the other server.
func TestWatchHearsPushOverPayloadLimit(t *testing.T) {
	a, b := replicas(t)
	onB := watch(t, b)
	buckets := newBuckets(400) // about 50 bytes each: 20,000 bytes of heads
	if p := payloads("origin", map[string]uint64{buckets[0]: 1}); len(p[0])*len(buckets) < 2*maxPayload {
		t.Fatalf("the test's push would fit in %d payloads; make it larger", len(p[0])*len(buckets)/maxPayload+1)
	}
	want := push(t, a, buckets, 1, nil)
	onB.waitFor(t, want)
}

func TestPayloads(t *testing.T) {
	heads := map[string]uint64{}
	for _, b := range newBuckets(500) {
		heads[b] = uint64(len(heads)) * 1e15
	}
	got := map[string]uint64{}
	ps := payloads("abc", heads)
	if len(ps) < 3 {
		t.Fatalf("%d payloads for 500 heads, want them split", len(ps))
	}
	for _, p := range ps {
		if len(p) > maxPayload {
			t.Errorf("a payload is %d bytes, over %d", len(p), maxPayload)
		}
		origin, h, ok := parsePayload(p)
		if !ok || origin != "abc" {
			t.Fatalf("parsePayload(%.40q…) = %q, %v", p, origin, ok)
		}
		maps.Copy(got, h)
	}
	if !maps.Equal(got, heads) {
		t.Errorf("the payloads decode to %d heads, want the %d encoded", len(got), len(heads))
	}
	for _, bad := range []string{"", "abc", " x:1", "abc x:1", "abc " + uuid.NewString(), "abc " + uuid.NewString() + ":-1",
		"abc " + strings.ToUpper(uuid.NewString()) + ":1"} {
		if _, _, ok := parsePayload(bad); ok {
			t.Errorf("parsePayload(%q) ok, want unreadable", bad)
		}
	}
}

// When the listening connection's backend is killed, the listener
// reconnects, re-reads every head (so a push committed while it was away
// is heard), and hears pushes made after it is back.
func TestWatchSurvivesListenerReconnect(t *testing.T) {
	cluster := pgtest.Shared(t)
	a, b := replicasOf(t, cluster.Database(t, t.Name()))
	onB := watch(t, b)
	ctx := context.Background()
	admin := newPool(t, cluster.URL("postgres")) // ALTER DATABASE needs another database's connection
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := admin.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	// Keep B's listener away: no new connections to the database (A's
	// pool keeps the ones it has), and its backend gone.
	db := a.pool.Config().ConnConfig.Database
	exec("ALTER DATABASE " + db + " ALLOW_CONNECTIONS false")
	t.Cleanup(func() { _, _ = admin.Exec(ctx, "ALTER DATABASE "+db+" ALLOW_CONNECTIONS true") })
	pid := int32(b.listener.pid.Load())
	// With a timeout, pg_terminate_backend waits until the backend has
	// gone (PostgreSQL 14 and later), so the gap below is a real one.
	var gone bool
	if err := admin.QueryRow(ctx, "SELECT pg_terminate_backend($1, 60000)", pid).Scan(&gone); err != nil || !gone {
		t.Fatalf("terminating B's listener: %v, %v", gone, err)
	}
	gap := push(t, a, newBuckets(1), 2, nil) // no listener can hear it
	exec("ALTER DATABASE " + db + " ALLOW_CONNECTIONS true")
	onB.waitFor(t, gap) // by the resync after the reconnect
	if b.listener.conns.Load() < 2 || int32(b.listener.pid.Load()) == pid {
		t.Fatalf("B's watcher heard the gap without a reconnect (pid %d, was %d)", b.listener.pid.Load(), pid)
	}
	after := push(t, a, newBuckets(1), 1, nil) // by the notification
	onB.waitFor(t, after)
}
