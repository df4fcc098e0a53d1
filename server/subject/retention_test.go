package subject_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/admin"
	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/servertest/fixture"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/subject"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

const day = 24 * time.Hour

// held reports whether the store still holds anything of a client's
// bucket (any record state or log entry), or the word anywhere in the
// buckets given.
func (e *env) held(client string, word string, buckets ...string) (bool, bool) {
	e.t.Helper()
	has := false
	found := false
	err := e.Store.ScanRecords(e.ctx, append([]string{client}, buckets...), func(b string, st []byte) error {
		has = has || b == client
		found = found || bytes.Contains(st, []byte(word))
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, b := range append([]string{client}, buckets...) {
		log, err := e.Store.Log(e.ctx, b)
		if err != nil {
			e.t.Fatal(err)
		}
		has = has || b == client && len(log) > 0
		for _, en := range log {
			found = found || bytes.Contains([]byte(en.String()), []byte(word))
		}
	}
	return has, found
}

// A sweep purges the client whose case was closed longer ago than the
// retention, and keeps one closed recently, one still open, and one closed
// long ago but written to since. The purge is audited, tells the client's
// holders, leaves a tombstone, and the id can never be created again.
func TestSweepPurgesClientsClosedLongerThanTheRetention(t *testing.T) {
	e := newEnv(t, 30*day)
	old := e.client("Olive", "Closedlongago")
	e.contact(old, "Old client note WORD-OLD")
	e.setStatus(old, "closed")
	open := e.client("Oscar", "Stillopen")
	e.contact(open, "Open client note WORD-OPEN")
	touched := e.client("Tara", "Touchedsince")
	e.setStatus(touched, "closed")

	e.clock.Advance(20 * day)
	e.contact(touched, "Late contact WORD-LATE")
	e.clock.Advance(11 * day) // old: closed 31 days ago; touched: last change 11 days ago
	recent := e.client("Rita", "Closedrecently")
	e.setStatus(recent, "closed")
	e.sessions.take()

	purged, err := e.Server.Subject.Sweep(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(purged, []string{old}) {
		t.Fatalf("purged %v, want only the client closed 31 days ago (%s)", purged, old)
	}
	if has, found := e.held(old, "WORD-OLD", open, touched, recent); has || found {
		t.Fatalf("after the purge the store holds the client's bucket %v, their notes %v", has, found)
	}
	for _, kept := range []string{open, touched, recent} {
		if has, _ := e.held(kept, "-"); !has {
			t.Errorf("client %s was kept in the directory but lost its bucket", kept)
		}
	}
	holders := []string{e.adminA.UserID, e.sup.UserID, e.worker.UserID}
	slices.Sort(holders)
	if got := e.sessions.take(); !slices.Equal(got, holders) {
		t.Errorf("caseload changes told to %v, want the client's holders %v", got, holders)
	}

	err = e.Store.DirectoryView(e.ctx, func(tx store.DirTx) error {
		if _, err := tx.Client(old); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("purged client still in the directory: %v", err)
		}
		tomb, err := tx.PurgedClient(old)
		if err != nil {
			return err
		}
		if tomb.AreaID != e.w.AreaA || !tomb.PurgedAt.Equal(e.clock.Now()) || !tomb.Done {
			t.Errorf("tombstone %+v", tomb)
		}
		n := 0
		as, err := tx.AuditOfArea(e.w.AreaA, 0, 0)
		if err != nil {
			return err
		}
		for _, a := range as {
			if a.Action == store.AuditRetentionPurge {
				n++
				if !slices.Equal(a.ClientIDs, []string{old}) || a.Count != uint64((30*day)/time.Second) || a.UserID != "" {
					t.Errorf("purge audit %+v", a)
				}
			}
		}
		if n != 1 {
			t.Errorf("%d purge audit entries, want 1", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// The same idempotency key names the same id: refused, never reused.
	_, err = e.Server.Admin.CreateClient(e.ctx, e.adminA, admin.NewClient{TeamID: e.w.TeamA1, GivenName: "Olive", FamilyName: "Closedlongago",
		Pathway: "licence", IdempotencyKey: "client-Olive-Closedlongago"})
	if errkind.Of(err) != errkind.Exists {
		t.Fatalf("re-creating a purged client's id: %v, want Exists", err)
	}
	if again, err := e.Server.Subject.Sweep(e.ctx); err != nil || len(again) != 0 {
		t.Fatalf("second sweep purged %v, %v; want nothing", again, err)
	}
}

// TestSweepTellsWhatIsPurged: the service's Purged hook (the server wires
// the caseload view's Forget to it) hears each purged client, once, and
// only after the purge.
func TestSweepTellsWhatIsPurged(t *testing.T) {
	e := newEnv(t, 0) // the server's own sweeps purge nothing
	gone := e.client("Olive", "Closedlongago")
	e.setStatus(gone, "closed")
	kept := e.client("Oscar", "Stillopen")
	e.clock.Advance(31 * day)
	var told []string
	svc, err := subject.New(subject.Config{Store: e.Store, Sessions: e.sessions, Now: e.clock.Now, Retention: 30 * day,
		Purged: func(id string) {
			if err := e.Store.DirectoryView(e.ctx, func(tx store.DirTx) error {
				_, err := tx.Client(id)
				return err
			}); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("told of %s while it was still in the directory (%v)", id, err)
			}
			told = append(told, id)
		}})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := svc.Sweep(e.ctx); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(told, []string{gone}) {
		t.Errorf("told %v, want only %s (not %s, and once)", told, gone, kept)
	}
}

// An area's own retention overrides the server's default, in both
// directions, and going back to the default restores it.
func TestAreaRetentionOverridesTheDefault(t *testing.T) {
	e := newEnv(t, 0) // the server keeps clients for ever by default
	c := e.client("Cara", "Areapolicy")
	e.setStatus(c, "closed")
	e.clock.Advance(10 * day)

	if purged, err := e.Server.Subject.Sweep(e.ctx); err != nil || len(purged) != 0 {
		t.Fatalf("default (for ever): purged %v, %v", purged, err)
	}
	if r, err := e.Server.Subject.AreaRetention(e.ctx, e.worker); err != nil || r != (subject.Retention{}) {
		t.Fatalf("area retention %+v, %v; want the default, for ever", r, err)
	}
	if _, err := e.Server.Subject.SetRetention(e.ctx, e.sup, day, false); errkind.Of(err) != errkind.Forbidden {
		t.Fatalf("a supervisor setting the retention: %v, want Forbidden", err)
	}
	if _, err := e.Server.Subject.SetRetention(e.ctx, e.adminA, -day, false); errkind.Of(err) != errkind.Invalid {
		t.Fatalf("a negative retention: %v, want Invalid", err)
	}
	r, err := e.Server.Subject.SetRetention(e.ctx, e.adminA, 0, false)
	if err != nil || r != (subject.Retention{Period: 0, Own: true}) {
		t.Fatalf("SetRetention(0) = %+v, %v", r, err)
	}
	if purged, _ := e.Server.Subject.Sweep(e.ctx); len(purged) != 0 {
		t.Fatalf("area keeps for ever: purged %v", purged)
	}
	if _, err := e.Server.Subject.SetRetention(e.ctx, e.adminA, 7*day, false); err != nil {
		t.Fatal(err)
	}
	// GetArea says it, to anyone of the area.
	e.SignIn("worker", *e.worker)
	area, err := e.AdminClient("worker").GetArea(e.ctx, &v1.GetAreaRequest{})
	if err != nil || area.GetRetention().AsDuration() != 7*day || !area.GetRetentionSet() {
		t.Fatalf("GetArea %v, %v; want the area's 7 days", area, err)
	}
	// Area B is not touched by area A's setting.
	if r, err := e.Server.Subject.AreaRetention(e.ctx, e.adminB); err != nil || r.Own {
		t.Fatalf("area B's retention %+v, %v; want the default", r, err)
	}
	if purged, err := e.Server.Subject.Sweep(e.ctx); err != nil || !slices.Equal(purged, []string{c}) {
		t.Fatalf("area retention 7 days, closed 10 days ago: purged %v, %v", purged, err)
	}
	if r, err := e.Server.Subject.SetRetention(e.ctx, e.adminA, time.Hour, true); err != nil || r != (subject.Retention{}) {
		t.Fatalf("back to the default: %+v, %v", r, err)
	}
	n := 0
	err = e.Store.DirectoryView(e.ctx, func(tx store.DirTx) error {
		as, err := tx.AuditOfArea(e.w.AreaA, 0, 0)
		for _, a := range as {
			if a.Action == store.AuditSetRetention && a.UserID == e.adminA.UserID {
				n++
			}
		}
		return err
	})
	if err != nil || n != 3 {
		t.Fatalf("%d retention changes audited, %v; want 3", n, err)
	}
}

// Run sweeps at once and at every tick of the ticker it is given.
func TestRunSweepsAtEveryTick(t *testing.T) {
	e := newEnv(t, 30*day)
	c := e.client("Tim", "Ticker")
	e.setStatus(c, "closed")
	ticks := make(chan time.Time)
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.Server.Subject.Run(e.ctx, ticks)
	}()
	// A tick is taken once the sweep before it is over: the sweep at once
	// is over, and found nothing due, before the clock moves on; the tick
	// after it sweeps with the client due (the one in between may too).
	ticks <- e.clock.Now()
	e.clock.Advance(31 * day)
	ticks <- e.clock.Now()
	close(ticks)
	<-done
	if has, _ := e.held(c, "-"); has {
		t.Fatal("the client due at the tick was not purged")
	}
}

// A client whose record was never written, or whose status is not closed,
// is never purged, however old.
func TestSweepKeepsClientsNotClosed(t *testing.T) {
	e := newEnv(t, day)
	active := e.client("Ada", "Active")
	var empty string
	e.w.Directory(func(tx store.DirTx) error {
		empty = fixture.NewID()
		return tx.PutClient(&store.Client{ID: empty, AreaID: e.w.AreaA, TeamID: e.w.TeamA1, CreatedAt: e.clock.Now()})
	})
	e.setStatus(active, "closed")
	e.setStatus(active, "active")
	e.clock.Advance(100 * day)
	if purged, err := e.Server.Subject.Sweep(e.ctx); err != nil || len(purged) != 0 {
		t.Fatalf("purged %v, %v; want nothing", purged, err)
	}
}
