package auth_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/auth"
	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/servertest/fixture"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

func TestIdentifyRefusesBadHeaders(t *testing.T) {
	e := newEnv(t)
	_, sess := e.newPerson(t, "worker", teamA, "Sam")
	for name, h := range map[string]string{
		"missing":         "",
		"basic":           "Basic " + sess.GetAccessToken(),
		"no_token":        "Bearer ",
		"refresh_token":   "Bearer " + sess.GetRefreshToken(),
		"unknown":         "Bearer " + auth.NewToken(auth.AccessPrefix),
		"no_prefix":       "Bearer " + strings.TrimPrefix(sess.GetAccessToken(), auth.AccessPrefix),
		"huge":            "Bearer " + auth.AccessPrefix + strings.Repeat("a", 10_000),
		"invite_as_token": "Bearer " + auth.NewInviteCode(),
	} {
		header := http.Header{}
		if h != "" {
			header.Set("Authorization", h)
		}
		_, err := e.svc.Identify(context.Background(), header)
		wantUnauthenticated(t, name, err)
	}
	// The scheme is case-insensitive (RFC 6750).
	h := http.Header{}
	h.Set("Authorization", "bearer "+sess.GetAccessToken())
	if _, err := e.svc.Identify(context.Background(), h); err != nil {
		t.Fatalf("lower-case scheme: %v", err)
	}
}

func TestAccessTokenExpires(t *testing.T) {
	e := newEnv(t)
	_, sess := e.newPerson(t, "worker", teamA, "Sam")
	e.clock.Advance(15*time.Minute - time.Second)
	e.mustIdentify(t, sess.GetAccessToken())
	e.clock.Advance(time.Second)
	_, err := e.identify(sess.GetAccessToken())
	wantUnauthenticated(t, "expired access token", err)
	// The refresh token renews it.
	renewed, err := e.svc.Refresh(context.Background(), sess.GetRefreshToken())
	if err != nil {
		t.Fatal(err)
	}
	e.mustIdentify(t, renewed.GetAccessToken())
}

func TestRefreshRotatesAndDetectsReuse(t *testing.T) {
	e := newEnv(t)
	_, sess := e.newPerson(t, "worker", teamA, "Sam")
	ctx := context.Background()
	ended := e.mustIdentify(t, sess.GetAccessToken()).Ended

	e.clock.Advance(10 * time.Minute)
	next, err := e.svc.Refresh(ctx, sess.GetRefreshToken())
	if err != nil {
		t.Fatal(err)
	}
	wantRotated(t, e, sess, next)
	_, err = e.identify(sess.GetAccessToken())
	wantUnauthenticated(t, "the replaced access token", err)
	id := e.mustIdentify(t, next.GetAccessToken())
	if closed(ended) || id.Ended != ended {
		t.Fatal("a refresh ended the session's streams, or gave it another channel")
	}

	// The old refresh token again, past the grace window for lost
	// responses (refresh_grace_test.go): someone has a copy. The session
	// ends.
	e.clock.Advance(2 * time.Minute)
	_, err = e.svc.Refresh(ctx, sess.GetRefreshToken())
	wantKind(t, "reused refresh token", err, errkind.Unauthenticated, msgSessionGo)
	waitClosed(t, "Ended after refresh-token reuse", ended)
	_, err = e.identify(next.GetAccessToken())
	wantUnauthenticated(t, "access token of a session ended by reuse", err)
	_, err = e.svc.Refresh(ctx, next.GetRefreshToken())
	wantKind(t, "refresh token of a session ended by reuse", err, errkind.Unauthenticated, msgSessionGo)
	if !strings.Contains(e.logs.String(), `"reason":"reused"`) {
		t.Fatal("refresh-token reuse was not logged")
	}
	for _, bad := range []string{"", "tcr_", "nonsense", auth.NewToken(auth.RefreshPrefix), next.GetAccessToken()} {
		_, err = e.svc.Refresh(ctx, bad)
		wantKind(t, "bad refresh token", err, errkind.Unauthenticated, msgSessionGo)
	}
}

func TestRefreshIdleExpiry(t *testing.T) {
	e := newEnv(t)
	_, sess := e.newPerson(t, "worker", teamA, "Sam")
	e.clock.Advance(14*24*time.Hour - time.Second)
	next, err := e.svc.Refresh(context.Background(), sess.GetRefreshToken())
	if err != nil {
		t.Fatalf("refresh just before idle expiry: %v", err)
	}
	e.clock.Advance(14 * 24 * time.Hour)
	_, err = e.svc.Refresh(context.Background(), next.GetRefreshToken())
	wantKind(t, "idle refresh token", err, errkind.Unauthenticated, msgSessionGo)
}

func TestAbsoluteExpiry(t *testing.T) {
	e := newEnv(t)
	_, sess := e.newPerson(t, "worker", teamA, "Sam")
	abs := sess.GetAbsoluteExpiresAt().AsTime()
	cur := sess
	for range 2 { // day 10, day 20
		e.clock.Advance(10 * 24 * time.Hour)
		next, err := e.svc.Refresh(context.Background(), cur.GetRefreshToken())
		if err != nil {
			t.Fatal(err)
		}
		cur = next
	}
	if !cur.GetRefreshExpiresAt().AsTime().Equal(abs) {
		t.Fatalf("refresh expiry %v, want clamped to the absolute expiry %v", cur.GetRefreshExpiresAt().AsTime(), abs)
	}
	e.clock.Advance(10*24*time.Hour - 10*time.Minute) // 10 minutes before the end
	last, err := e.svc.Refresh(context.Background(), cur.GetRefreshToken())
	if err != nil {
		t.Fatal(err)
	}
	if !last.GetAccessExpiresAt().AsTime().Equal(abs) {
		t.Fatalf("access expiry %v, want clamped to the absolute expiry %v", last.GetAccessExpiresAt().AsTime(), abs)
	}
	e.mustIdentify(t, last.GetAccessToken())
	e.clock.Advance(10 * time.Minute)
	_, err = e.identify(last.GetAccessToken())
	wantUnauthenticated(t, "access token at the absolute expiry", err)
	_, err = e.svc.Refresh(context.Background(), last.GetRefreshToken())
	wantKind(t, "refresh at the absolute expiry", err, errkind.Unauthenticated, msgSessionGo)
}

func TestRevokedDevice(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tablet, first := e.newPerson(t, "worker", teamA, "Sam")
	other, _ := e.newPerson(t, "worker", teamB, "Alex")
	otherSess := e.mustLogin(t, other)

	me := e.mustIdentify(t, first.GetAccessToken())
	// Another user's device id answers NotFound, as does nonsense.
	err := e.svc.RevokeDevice(ctx, me, otherSess.GetDeviceId())
	wantKind(t, "another user's device", err, errkind.NotFound, "device not found")
	err = e.svc.RevokeDevice(ctx, me, "no-such-device")
	wantKind(t, "unknown device", err, errkind.NotFound, "device not found")
	e.mustIdentify(t, otherSess.GetAccessToken())

	// Revoking the calling device ends its session and streams at once.
	if err := e.svc.RevokeDevice(ctx, me, first.GetDeviceId()); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, "Ended after RevokeDevice", me.Ended)
	_, err = e.identify(first.GetAccessToken())
	wantUnauthenticated(t, "session of a revoked device", err)
	_, err = e.svc.Refresh(ctx, first.GetRefreshToken())
	wantKind(t, "refresh on a revoked device", err, errkind.Unauthenticated, msgSessionGo)
	_, err = e.login(t, tablet)
	wantKind(t, "sign-in with a revoked device", err, errkind.Unauthenticated, msgVerify)
	// Revoking again is harmless; other people's sessions are untouched.
	if err := e.svc.RevokeDevice(ctx, me, first.GetDeviceId()); err != nil {
		t.Fatal(err)
	}
	e.mustIdentify(t, otherSess.GetAccessToken())

	devices, err := e.svc.ListDevices(ctx, me)
	if err != nil {
		t.Fatal(err)
	}
	if len(devices) != 1 || devices[0].GetDeviceId() != first.GetDeviceId() || devices[0].GetRevokedAt() == nil ||
		!devices[0].GetCurrent() || devices[0].GetName() != "Outreach tablet 3" || devices[0].GetCreatedAt() == nil {
		t.Fatalf("devices = %v", devices)
	}
}

func TestListDevicesOldestFirst(t *testing.T) {
	e := newEnv(t)
	_, sess := e.newPerson(t, "worker", teamA, "Sam")
	// Give the user a second device by hand (enrolment of extra devices is
	// the admin package's business).
	e.dir(t, func(tx store.DirTx) error {
		return tx.PutDevice(&store.Device{ID: "aa-second", UserID: sess.GetUserId(), Name: "phone",
			CredentialID: []byte("cred-2"), CreatedAt: e.clock.Now().Add(time.Hour)})
	})
	id := e.mustIdentify(t, sess.GetAccessToken())
	devices, err := e.svc.ListDevices(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(devices) != 2 || devices[0].GetDeviceId() != sess.GetDeviceId() || !devices[0].GetCurrent() ||
		devices[1].GetDeviceId() != "aa-second" || devices[1].GetCurrent() || devices[1].GetRevokedAt() != nil || devices[1].GetLastUsedAt() != nil {
		t.Fatalf("devices = %v", devices)
	}
}

func TestDisabledUser(t *testing.T) {
	t.Run("flag", func(t *testing.T) {
		e := newEnv(t)
		pk, sess := e.newPerson(t, "worker", teamA, "Sam")
		e.dir(t, func(tx store.DirTx) error {
			u, err := tx.User(sess.GetUserId())
			if err != nil {
				return err
			}
			u.Disabled = true
			return tx.PutUser(u)
		})
		_, err := e.identify(sess.GetAccessToken())
		wantUnauthenticated(t, "disabled user's access token", err)
		_, err = e.svc.Refresh(context.Background(), sess.GetRefreshToken())
		wantKind(t, "disabled user's refresh", err, errkind.Unauthenticated, msgSessionGo)
		_, err = e.login(t, pk)
		wantKind(t, "disabled user's sign-in", err, errkind.Unauthenticated, msgVerify)
	})
	t.Run("EndUserSessions", func(t *testing.T) {
		e := newEnv(t)
		_, sess := e.newPerson(t, "worker", teamA, "Sam")
		_, other := e.newPerson(t, "worker", teamA, "Alex")
		id := e.mustIdentify(t, sess.GetAccessToken())
		otherID := e.mustIdentify(t, other.GetAccessToken())
		if err := e.svc.EndUserSessions(context.Background(), sess.GetUserId()); err != nil {
			t.Fatal(err)
		}
		waitClosed(t, "Ended after EndUserSessions", id.Ended)
		_, err := e.identify(sess.GetAccessToken())
		wantUnauthenticated(t, "ended session", err)
		_, err = e.svc.Refresh(context.Background(), sess.GetRefreshToken())
		wantKind(t, "refresh of ended session", err, errkind.Unauthenticated, msgSessionGo)
		if closed(otherID.Ended) {
			t.Fatal("ending one user's sessions ended another's")
		}
		e.mustIdentify(t, other.GetAccessToken())
	})
}

func TestLogout(t *testing.T) {
	e := newEnv(t)
	_, sess := e.newPerson(t, "worker", teamA, "Sam")
	_, other := e.newPerson(t, "worker", teamA, "Alex")
	id := e.mustIdentify(t, sess.GetAccessToken())
	if again := e.mustIdentify(t, sess.GetAccessToken()); again.Ended != id.Ended || again.Changed != id.Changed {
		t.Fatal("identities of one session do not share their channels")
	}
	if err := e.svc.Logout(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, "Ended after Logout", id.Ended)
	_, err := e.identify(sess.GetAccessToken())
	wantUnauthenticated(t, "logged-out session", err)
	_, err = e.svc.Refresh(context.Background(), sess.GetRefreshToken())
	wantKind(t, "refresh after logout", err, errkind.Unauthenticated, msgSessionGo)
	e.mustIdentify(t, other.GetAccessToken())
}

// fakeTimers stand in for the timers that end a session's streams at its
// access expiry: a timer is due at the env's clock time when it was started
// plus its duration, and fires when the test moves that clock on with
// advance, synchronously, so that the test can look at once.
type fakeTimers struct {
	clock  *fixture.Clock
	mu     sync.Mutex
	timers []*fakeTimer
}

type fakeTimer struct {
	at            time.Time
	f             func()
	stopped, done bool
}

func useFakeTimers(e *env) *fakeTimers {
	ft := &fakeTimers{clock: e.clock}
	auth.SetAfterFunc(e.svc, ft.afterFunc)
	return ft
}

func (ft *fakeTimers) afterFunc(d time.Duration, f func()) func() bool {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	t := &fakeTimer{at: ft.clock.Now().Add(d), f: f}
	ft.timers = append(ft.timers, t)
	return func() bool {
		ft.mu.Lock()
		defer ft.mu.Unlock()
		pending := !t.stopped && !t.done
		t.stopped = true
		return pending
	}
}

// advance moves the clock on by d and fires the timers due by then.
func (ft *fakeTimers) advance(d time.Duration) {
	ft.clock.Advance(d)
	now := ft.clock.Now()
	var due []func()
	ft.mu.Lock()
	for _, t := range ft.timers {
		if !t.stopped && !t.done && !now.Before(t.at) {
			t.done = true
			due = append(due, t.f)
		}
	}
	ft.mu.Unlock()
	for _, f := range due { // outside ft.mu: f takes the notifier's lock
		f()
	}
}

func TestEndedClosesWhenTheAccessTokenExpires(t *testing.T) {
	e := newEnv(t)
	ft := useFakeTimers(e)
	_, sess := e.newPerson(t, "worker", teamA, "Sam")
	id := e.mustIdentify(t, sess.GetAccessToken())
	ft.advance(15*time.Minute - time.Nanosecond)
	if closed(id.Ended) {
		t.Fatal("Ended closed before the access expiry")
	}
	ft.advance(time.Nanosecond)
	if !closed(id.Ended) {
		t.Fatal("Ended did not close at the access expiry")
	}
	// A refreshed session gets a fresh channel.
	next, err := e.svc.Refresh(context.Background(), sess.GetRefreshToken())
	if err != nil {
		t.Fatal(err)
	}
	id2 := e.mustIdentify(t, next.GetAccessToken())
	if id2.Ended == id.Ended || closed(id2.Ended) {
		t.Fatal("no fresh Ended channel after the expiry")
	}
	ft.advance(15*time.Minute - time.Nanosecond)
	if closed(id2.Ended) {
		t.Fatal("Ended closed before the next access expiry")
	}
	ft.advance(time.Nanosecond)
	if !closed(id2.Ended) {
		t.Fatal("Ended did not close at the next access expiry")
	}
}

func TestEndedRunsOnRealTimers(t *testing.T) {
	// Without fake timers the expiry timer runs on the real clock for the
	// time the service's clock says is left.
	e := newEnv(t, func(c *auth.Config) { c.AccessTTL = 50 * time.Millisecond })
	_, sess := e.newPerson(t, "worker", teamA, "Sam")
	waitClosed(t, "Ended at access expiry", e.mustIdentify(t, sess.GetAccessToken()).Ended)
}

func TestRefreshMovesTheExpiryTimer(t *testing.T) {
	e := newEnv(t)
	ft := useFakeTimers(e)
	_, sess := e.newPerson(t, "worker", teamA, "Sam")
	id := e.mustIdentify(t, sess.GetAccessToken())
	ft.advance(10 * time.Minute)
	next, err := e.svc.Refresh(context.Background(), sess.GetRefreshToken())
	if err != nil {
		t.Fatal(err)
	}
	ft.advance(5 * time.Minute) // the first token's expiry
	if closed(id.Ended) {
		t.Fatal("Ended closed at the old access expiry though the session was refreshed")
	}
	if id2 := e.mustIdentify(t, next.GetAccessToken()); id2.Ended != id.Ended {
		t.Fatal("the refreshed session got another channel")
	}
	ft.advance(10*time.Minute - time.Nanosecond)
	if closed(id.Ended) {
		t.Fatal("Ended closed before the refreshed access expiry")
	}
	ft.advance(time.Nanosecond)
	if !closed(id.Ended) {
		t.Fatal("Ended did not close at the refreshed access expiry")
	}
}

func TestChangedClosesOnCaseloadChange(t *testing.T) {
	e := newEnv(t)
	_, sess := e.newPerson(t, "worker", teamA, "Sam")
	_, other := e.newPerson(t, "worker", teamA, "Alex")
	id := e.mustIdentify(t, sess.GetAccessToken())
	otherID := e.mustIdentify(t, other.GetAccessToken())
	e.svc.CaseloadChanged(sess.GetUserId(), "nobody-watching")
	waitClosed(t, "Changed", id.Changed)
	if closed(otherID.Changed) || closed(id.Ended) {
		t.Fatal("a caseload change closed the wrong channel")
	}
	if fresh := e.mustIdentify(t, sess.GetAccessToken()); closed(fresh.Changed) {
		t.Fatal("the next identity's Changed is already closed")
	}
}

func TestIdentifyNeedsALiveUserAndRole(t *testing.T) {
	e := newEnv(t)
	_, sess := e.newPerson(t, "worker", teamA, "Sam")
	e.dir(t, func(tx store.DirTx) error {
		u, err := tx.User(sess.GetUserId())
		if err != nil {
			return err
		}
		u.Role = "superuser"
		return tx.PutUser(u)
	})
	_, err := e.identify(sess.GetAccessToken())
	wantUnauthenticated(t, "unknown role", err)
	var _ identity.Source = e.svc
}

// wantRotated checks that next is a fresh pair for from's session, issued
// now: both tokens new, the same user and device, access and idle expiry
// restarted, the absolute expiry kept, and the device's last use moved on.
func wantRotated(t *testing.T, e *env, from, next *v1.Session) {
	t.Helper()
	now := e.clock.Now()
	switch {
	case next.GetAccessToken() == from.GetAccessToken() || next.GetRefreshToken() == from.GetRefreshToken():
		t.Fatal("refresh did not rotate both tokens")
	case next.GetUserId() != from.GetUserId() || next.GetDeviceId() != from.GetDeviceId():
		t.Fatal("refresh changed the session's user or device")
	case !next.GetAccessExpiresAt().AsTime().Equal(now.Add(15 * time.Minute)):
		t.Fatalf("access expiry %v, want now+15m", next.GetAccessExpiresAt().AsTime())
	case !next.GetRefreshExpiresAt().AsTime().Equal(now.Add(14 * 24 * time.Hour)):
		t.Fatalf("refresh expiry %v, want now+14d (idle expiry restarts)", next.GetRefreshExpiresAt().AsTime())
	case !next.GetAbsoluteExpiresAt().AsTime().Equal(from.GetAbsoluteExpiresAt().AsTime()):
		t.Fatal("refresh moved the absolute expiry")
	}
	if d := e.device(t, from.GetDeviceId()); !d.LastUsedAt.Equal(now) {
		t.Fatalf("device last used %v, want the refresh time", d.LastUsedAt)
	}
}
