package auth_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/throughcare/throughcare/server/auth"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/pgstore"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// countingStore counts the directory transactions run through it and
// offers nothing else of the store under it (no DirectoryVersion): a store
// like pgstore.DB.
type countingStore struct {
	st     store.DirectoryStore
	views  atomic.Int64
	writes atomic.Int64
	// afterViews, if set, runs once after that many views more.
	afterViews atomic.Int64
	after      func()
}

func (c *countingStore) Directory(ctx context.Context, fn func(tx store.DirTx) error) error {
	c.writes.Add(1)
	return c.st.Directory(ctx, fn)
}

func (c *countingStore) DirectoryView(ctx context.Context, fn func(tx store.DirTx) error) error {
	c.views.Add(1)
	err := c.st.DirectoryView(ctx, fn)
	if c.afterViews.Add(-1) == 0 && c.after != nil {
		c.after()
	}
	return err
}

// versionedStore is a countingStore that passes the Badger store's
// DirectoryVersion on.
type versionedStore struct {
	*countingStore
	db *store.DB
}

func (v versionedStore) DirectoryVersion() uint64     { return v.db.DirectoryVersion() }
func (v versionedStore) UserVersion(id string) uint64 { return v.db.UserVersion(id) }

// nopRelay is a Relay to no other process.
type nopRelay struct{}

func (nopRelay) Announce(context.Context, string, []string) error { return nil }
func (nopRelay) OnAnnounce(func(string, []string))                {}

// newCountedEnv is newEnv with its service over a countingStore (with the
// version if versioned) and returns that.
func newCountedEnv(t testing.TB, versioned bool, adjust ...func(*auth.Config)) (*env, *countingStore) {
	t.Helper()
	e := newEnv(t, adjust...)
	c := &countingStore{st: e.st}
	var st store.DirectoryStore = c
	if versioned {
		st = versionedStore{countingStore: c, db: e.st}
	}
	var err error
	if e.svc, err = auth.New(e.cfg, st); err != nil {
		t.Fatal(err)
	}
	return e, c
}

// cacheWorld is a worker and a supervisor of team A, which has clients
// held (assigned to the worker) and other (not).
type cacheWorld struct {
	worker, supervisor *v1.Session
	held, other        string
}

func newCacheWorld(t testing.TB, e *env) *cacheWorld {
	t.Helper()
	w := &cacheWorld{held: uuid.NewString(), other: uuid.NewString()}
	_, w.worker = e.newPerson(t, "worker", teamA, "Sam Worker")
	_, w.supervisor = e.newPerson(t, "supervisor", teamA, "Jo Supervisor")
	e.dir(t, func(tx store.DirTx) error {
		for _, id := range []string{w.held, w.other} {
			if err := tx.PutClient(&store.Client{ID: id, AreaID: areaID, TeamID: teamA}); err != nil {
				return err
			}
		}
		return tx.PutAssignment(&store.Assignment{ClientID: w.held, UserID: w.worker.GetUserId(), From: e.clock.Now().Add(-time.Hour)})
	})
	return w
}

// identifyHit identifies token twice and fails unless the second call read
// nothing from the directory.
func identifyHit(t *testing.T, e *env, c *countingStore, token string) *identity.Identity {
	t.Helper()
	e.mustIdentify(t, token)
	before := c.views.Load()
	id := e.mustIdentify(t, token)
	if n := c.views.Load() - before; n != 0 {
		t.Fatalf("a second Identify read the directory %d times, want a cache hit", n)
	}
	return id
}

// After a cache hit, every change that takes a token's access away or
// changes its caseload is seen by the very next Identify.
func TestIdentifyCacheSeesChanges(t *testing.T) {
	ctx := context.Background()
	sorted := func(ids ...string) []string { slices.Sort(ids); return ids }
	tests := []struct {
		name       string
		supervisor bool
		change     func(t *testing.T, e *env, w *cacheWorld, id *identity.Identity)
		wantErr    bool // refused (else wantBuckets)
		wantEnded  bool // the hit's Ended channel closed
		wantBucket func(w *cacheWorld) []string
	}{
		{name: "revoke device", wantErr: true, wantEnded: true, change: func(t *testing.T, e *env, _ *cacheWorld, id *identity.Identity) {
			if err := e.svc.RevokeDevice(ctx, id, id.DeviceID); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "device revoked in the directory", wantErr: true, change: func(t *testing.T, e *env, _ *cacheWorld, id *identity.Identity) {
			d := e.device(t, id.DeviceID)
			d.RevokedAt = e.clock.Now()
			e.dir(t, func(tx store.DirTx) error { return tx.PutDevice(d) })
		}},
		{name: "disable user", wantErr: true, change: func(t *testing.T, e *env, _ *cacheWorld, id *identity.Identity) {
			u := e.user(t, id.UserID)
			u.Disabled = true
			e.dir(t, func(tx store.DirTx) error { return tx.PutUser(u) })
		}},
		{name: "sign out", wantErr: true, wantEnded: true, change: func(t *testing.T, e *env, _ *cacheWorld, id *identity.Identity) {
			if err := e.svc.Logout(ctx, id); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "access token replaced by a refresh", wantErr: true, change: func(t *testing.T, e *env, w *cacheWorld, _ *identity.Identity) {
			if _, err := e.svc.Refresh(ctx, w.worker.GetRefreshToken()); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "access token expired by the clock", wantErr: true, change: func(_ *testing.T, e *env, _ *cacheWorld, _ *identity.Identity) {
			e.clock.Advance(15 * time.Minute)
		}},
		{name: "assignment added", wantBucket: func(w *cacheWorld) []string { return sorted(w.held, w.other) },
			change: func(t *testing.T, e *env, w *cacheWorld, id *identity.Identity) {
				e.dir(t, func(tx store.DirTx) error {
					return tx.PutAssignment(&store.Assignment{ClientID: w.other, UserID: id.UserID, From: e.clock.Now()})
				})
			}},
		{name: "assignment ended", wantBucket: func(*cacheWorld) []string { return nil },
			change: func(t *testing.T, e *env, w *cacheWorld, id *identity.Identity) {
				e.dir(t, func(tx store.DirTx) error {
					return tx.PutAssignment(&store.Assignment{ClientID: w.held, UserID: id.UserID, From: e.clock.Now().Add(-time.Hour), To: e.clock.Now()})
				})
			}},
		{name: "client purged", wantBucket: func(*cacheWorld) []string { return nil },
			change: func(t *testing.T, e *env, w *cacheWorld, _ *identity.Identity) {
				a := &store.Audit{AreaID: areaID, Action: store.AuditRetentionPurge, ClientIDs: []string{w.held}}
				if err := e.st.PurgeClient(ctx, w.held, 0, e.clock.Now(), a); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "client left the supervisor's team", supervisor: true, wantBucket: func(w *cacheWorld) []string { return []string{w.held} },
			change: func(t *testing.T, e *env, w *cacheWorld, _ *identity.Identity) {
				e.dir(t, func(tx store.DirTx) error {
					return tx.PutClient(&store.Client{ID: w.other, AreaID: areaID, TeamID: teamB})
				})
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, c := newCountedEnv(t, true)
			w := newCacheWorld(t, e)
			token := w.worker.GetAccessToken()
			if tc.supervisor {
				token = w.supervisor.GetAccessToken()
			}
			id := identifyHit(t, e, c, token)
			tc.change(t, e, w, id)
			got, err := e.identify(token)
			if tc.wantErr {
				wantUnauthenticated(t, "Identify after the change", err)
			} else if err != nil {
				t.Fatalf("Identify after the change: %v", err)
			} else if want := tc.wantBucket(w); !slices.Equal(got.Buckets, want) {
				t.Fatalf("buckets after the change = %v, want %v", got.Buckets, want)
			}
			if tc.wantEnded && !closed(id.Ended) {
				t.Error("the Ended channel of the identity from the cache did not close")
			}
		})
	}
}

// A write that commits while Identify reads the directory is seen by the
// next call: the version was read before the reads.
func TestIdentifyCacheWriteDuringReads(t *testing.T) {
	e, c := newCountedEnv(t, true)
	w := newCacheWorld(t, e)
	token := w.worker.GetAccessToken()
	u := e.user(t, w.worker.GetUserId())
	u.Disabled = true
	c.after = func() { e.dir(t, func(tx store.DirTx) error { return tx.PutUser(u) }) }
	c.afterViews.Store(2) // after both reads of the next call
	e.mustIdentify(t, token)
	_, err := e.identify(token)
	wantUnauthenticated(t, "Identify after the user was disabled", err)
}

// A store without DirectoryVersion (pgstore's kind), or one with it under
// a service with a Relay (several processes), is read on every call.
func TestIdentifyCachesOnlyOverAVersionedStore(t *testing.T) {
	tests := []struct {
		name      string
		versioned bool
		relay     bool
		wantViews int64 // directory reads by the second of two calls
	}{
		{name: "versioned", versioned: true, wantViews: 0},
		{name: "unversioned", wantViews: 2},
		{name: "versioned with a relay", versioned: true, relay: true, wantViews: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, c := newCountedEnv(t, tc.versioned, func(cfg *auth.Config) {
				if tc.relay {
					cfg.Relay = nopRelay{}
				}
			})
			w := newCacheWorld(t, e)
			e.mustIdentify(t, w.worker.GetAccessToken())
			before := c.views.Load()
			id := e.mustIdentify(t, w.worker.GetAccessToken())
			if got := c.views.Load() - before; got != tc.wantViews {
				t.Errorf("second Identify: %d directory reads, want %d", got, tc.wantViews)
			}
			if !slices.Equal(id.Buckets, []string{w.held}) {
				t.Errorf("buckets = %v, want [%s]", id.Buckets, w.held)
			}
		})
	}
}

// pgstore.DB is shared by several replicas: it must not offer the version
// a cache would trust (see directoryVersioner in idcache.go).
func TestPGStoreHasNoDirectoryVersion(t *testing.T) {
	if _, ok := any((*pgstore.DB)(nil)).(interface{ DirectoryVersion() uint64 }); ok {
		t.Error("*pgstore.DB implements DirectoryVersion: Identify would cache over a shared database")
	}
}

// Identities from the cache are copies: changing one changes no other.
func TestIdentifyCacheHandsOutCopies(t *testing.T) {
	e, c := newCountedEnv(t, true)
	w := newCacheWorld(t, e)
	e.dir(t, func(tx store.DirTx) error { // a former client, so that Former is set
		return tx.PutAssignment(&store.Assignment{ClientID: w.other, UserID: w.worker.GetUserId(),
			From: e.clock.Now().Add(-2 * time.Hour), To: e.clock.Now().Add(-time.Hour)})
	})
	id := identifyHit(t, e, c, w.worker.GetAccessToken())
	id.Buckets[0] = "changed"
	id.Former[w.other][0].From = time.Time{}
	delete(id.Former, w.other)
	again := identifyHit(t, e, c, w.worker.GetAccessToken())
	if !slices.Equal(again.Buckets, []string{w.held}) {
		t.Errorf("buckets = %v, want [%s]", again.Buckets, w.held)
	}
	if ps := again.Former[w.other]; len(ps) != 1 || ps[0].From.IsZero() {
		t.Errorf("former = %v, want one period of %s", again.Former, w.other)
	}
}

// Under concurrent calls and unrelated directory writes, no Identify that
// starts after a revocation returns succeeds.
func TestIdentifyCacheConcurrentRevocation(t *testing.T) {
	ctx := context.Background()
	e, _ := newCountedEnv(t, true)
	w := newCacheWorld(t, e)
	token := w.worker.GetAccessToken()
	id := e.mustIdentify(t, token)

	var revoking, revoked atomic.Bool
	var ready, callers sync.WaitGroup
	const n = 8
	ready.Add(n)
	callers.Add(n)
	for range n {
		go func() {
			defer callers.Done()
			signalled := false
			signal := func() {
				if !signalled {
					signalled = true
					ready.Done()
				}
			}
			defer signal()
			for calls := 1; ; calls++ {
				after := revoked.Load()
				_, err := e.identify(token)
				if err == nil && after {
					t.Error("Identify succeeded after the revocation returned")
					return
				}
				if err != nil {
					if !revoking.Load() {
						t.Errorf("Identify before the revocation: %v", err)
					}
					return
				}
				if calls == 20 {
					signal()
				}
			}
		}()
	}
	stop := make(chan struct{})
	var writer sync.WaitGroup
	writer.Add(1)
	go func() { // unrelated writes: entries go stale and are replaced meanwhile
		defer writer.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := e.st.Directory(ctx, func(tx store.DirTx) error {
				return tx.PutTeam(&store.Team{ID: "team-churn", AreaID: areaID, Name: time.Duration(i).String()})
			}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	ready.Wait()
	revoking.Store(true)
	if err := e.svc.RevokeDevice(ctx, id, id.DeviceID); err != nil {
		t.Fatal(err)
	}
	revoked.Store(true)
	callers.Wait()
	close(stop)
	writer.Wait()
	wantUnauthenticated(t, "Identify after the revocation", func() error { _, err := e.identify(token); return err }())
}

// BenchmarkIdentify resolves a worker (one client) and a supervisor (a team
// of 200 clients, as in the real-size benchmark's seeding), over a store
// with a directory version (cached) and without (read every call).
func BenchmarkIdentify(b *testing.B) {
	for _, versioned := range []bool{true, false} {
		e, _ := newCountedEnv(b, versioned)
		w := newCacheWorld(b, e)
		e.dir(b, func(tx store.DirTx) error {
			for range 198 {
				if err := tx.PutClient(&store.Client{ID: uuid.NewString(), AreaID: areaID, TeamID: teamA}); err != nil {
					return err
				}
			}
			return nil
		})
		for _, who := range []struct {
			name  string
			token string
		}{{"worker", w.worker.GetAccessToken()}, {"supervisor200", w.supervisor.GetAccessToken()}} {
			b.Run(fmt.Sprintf("%s/versioned=%v", who.name, versioned), func(b *testing.B) {
				h := bearer(who.token)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := e.svc.Identify(context.Background(), h); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// Another user's refresh (a session and a device written) leaves this
// user's cached identity in use; a change to the directory as a whole
// does not.
func TestIdentifyCacheSurvivesOtherUsersRefresh(t *testing.T) {
	e, c := newCountedEnv(t, true)
	w := newCacheWorld(t, e)
	identifyHit(t, e, c, w.worker.GetAccessToken())
	if _, err := e.svc.Refresh(context.Background(), w.supervisor.GetRefreshToken()); err != nil {
		t.Fatal(err)
	}
	before := c.views.Load()
	e.mustIdentify(t, w.worker.GetAccessToken())
	if n := c.views.Load() - before; n != 0 {
		t.Errorf("after another user's refresh Identify read the directory %d times, want 0", n)
	}
}
