package auth_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/auth"
	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// A graceStep moves the clock on, presents the refresh token of a pair and
// expects an outcome: a name under which the new pair is kept, or a refusal
// — "unknown" (the session goes on) or a reason the session ended for
// ("reused", "absolute_expired", ...). A step that wants call instead makes
// a call with the pair's access token, which must identify.
type graceStep struct {
	after   time.Duration
	present string // a pair's name; "login" is the pair sign-in gave
	want    string
}

// call is the outcome of a step that uses a pair's access token.
const call = "call"

const graceWindow = 2 * time.Minute // the default RefreshGrace

func TestRefreshGrace(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []graceStep
		// live is the one pair left working ("" if the session ended):
		// its access token identifies and its refresh token refreshes;
		// every other pair's access token is refused.
		live string
	}{
		{
			name:  "lost response retried within grace",
			steps: []graceStep{{0, "login", "lost"}, {30 * time.Second, "login", "retry"}},
			live:  "retry",
		},
		{
			name:  "retried at the last instant of the window",
			steps: []graceStep{{0, "login", "lost"}, {graceWindow - time.Nanosecond, "login", "retry"}},
			live:  "retry",
		},
		{
			name:  "retried as the window closes",
			steps: []graceStep{{0, "login", "lost"}, {graceWindow, "login", "reused"}},
		},
		{
			name:  "retried long after",
			steps: []graceStep{{0, "login", "lost"}, {time.Hour, "login", "reused"}},
		},
		{
			name: "previous token after the window",
			steps: []graceStep{{0, "login", "first"}, {time.Minute, "first", "second"},
				{graceWindow, "first", "reused"}},
		},
		{
			// The newer token was presented: the response was not lost.
			// The token two rotations back is no longer indexed by the
			// store (it keeps the current and previous refresh hashes), so
			// it is refused as unknown, as before grace existed; no tokens
			// are issued and the holder of the newest pair carries on.
			name: "newer token already used, then the old one",
			steps: []graceStep{{0, "login", "first"}, {10 * time.Second, "first", "second"},
				{10 * time.Second, "login", "unknown"}},
			live: "second",
		},
		{
			// Someone else presented the pair the retry replaced: that
			// response was not lost after all.
			name: "replaced pair turns up after the retry",
			steps: []graceStep{{0, "login", "lost"}, {30 * time.Second, "login", "retry"},
				{10 * time.Second, "lost", "reused"}},
		},
		{
			name: "replaced pair turns up after the retried pair was used",
			steps: []graceStep{{0, "login", "lost"}, {30 * time.Second, "login", "retry"},
				{10 * time.Minute, "retry", "next"}, {time.Minute, "lost", "reused"}},
		},
		{
			name: "retried pair used, then the lost one's predecessor",
			steps: []graceStep{{0, "login", "lost"}, {30 * time.Second, "login", "retry"},
				{10 * time.Second, "retry", "next"}, {10 * time.Second, "login", "unknown"}},
			live: "next",
		},
		{
			// One retry is all a lost answer needs; a second presentation
			// means someone else holds the token.
			name: "a second retry within grace ends the session",
			steps: []graceStep{{0, "login", "lost"}, {20 * time.Second, "login", "retry"},
				{20 * time.Second, "login", "reused"}},
		},
		{
			// The new access token was used: the answer was not lost, so
			// the old refresh token in anyone's hands is reuse.
			name: "new pair used, then the old token within the window",
			steps: []graceStep{{0, "login", "first"}, {10 * time.Second, "first", call},
				{10 * time.Second, "login", "reused"}},
		},
		{
			name: "new pair used at once, the old token at the window's last instant",
			steps: []graceStep{{0, "login", "first"}, {0, "first", call},
				{graceWindow - time.Nanosecond, "login", "reused"}},
		},
		{
			name: "retried pair used, then the old token again",
			steps: []graceStep{{0, "login", "lost"}, {10 * time.Second, "login", "retry"},
				{10 * time.Second, "retry", call}, {10 * time.Second, "login", "reused"}},
		},
		{
			// Using a pair closes only the window of the token it replaced:
			// its own refresh may still be retried.
			name: "new pair used, then its own lost refresh retried",
			steps: []graceStep{{0, "login", "first"}, {time.Second, "first", call},
				{10 * time.Minute, "first", "lost"}, {30 * time.Second, "first", "retry"}},
			live: "retry",
		},
		{
			name: "every rotation has its own window",
			steps: []graceStep{{0, "login", "first"}, {10 * time.Minute, "first", "lost"},
				{time.Minute, "first", "retry"}},
			live: "retry",
		},
		{
			name: "grace never outlives the session",
			steps: []graceStep{{10 * 24 * time.Hour, "login", "day10"}, {10 * 24 * time.Hour, "day10", "day20"},
				{10*24*time.Hour - 30*time.Second, "day20", "lost"}, {time.Minute, "day20", "absolute_expired"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			_, login := e.newPerson(t, "worker", teamA, "Sam")
			pairs := map[string]*v1.Session{"login": login}
			for i, st := range tc.steps {
				e.clock.Advance(st.after)
				from, ok := pairs[st.present]
				if !ok {
					t.Fatalf("step %d: no pair %q", i, st.present)
				}
				if st.want == call {
					if _, err := e.identify(from.GetAccessToken()); err != nil {
						t.Fatalf("step %d: a call with %s's access token: %v", i, st.present, err)
					}
					continue
				}
				logged := len(e.logs.String())
				got, err := e.svc.Refresh(ctx, from.GetRefreshToken())
				what := st.present + "'s refresh token"
				switch st.want {
				case "unknown", "reused", "absolute_expired":
					wantKind(t, what, err, errkind.Unauthenticated, msgSessionGo)
					if got != nil {
						t.Fatalf("step %d: a refused refresh returned tokens", i)
					}
					log := e.logs.String()[logged:]
					if !strings.Contains(log, `"reason":"`+st.want+`"`) {
						t.Fatalf("step %d: log %q lacks the reason %q", i, log, st.want)
					}
					if st.want == "reused" && !strings.Contains(log, `"level":"warn"`) {
						t.Fatalf("step %d: reuse not logged as a warning: %q", i, log)
					}
				default:
					if err != nil {
						t.Fatalf("step %d: %s: %v", i, what, err)
					}
					if _, dup := pairs[st.want]; dup {
						t.Fatalf("step %d: pair %q named twice", i, st.want)
					}
					pairs[st.want] = got
					// Every other pair is dead now. (Calling with the new
					// one would use it, which is a step of its own.)
					wantDead(t, e, pairs, st.want)
				}
			}
			wantOnlyLive(t, e, pairs, tc.live)
			if tc.live == "" {
				for name, p := range pairs {
					_, err := e.svc.Refresh(ctx, p.GetRefreshToken())
					wantKind(t, name+"'s refresh token after the session ended", err, errkind.Unauthenticated, msgSessionGo)
				}
				if n := sessionsOf(t, e, login.GetDeviceId()); n != 0 {
					t.Fatalf("%d sessions left on the device, want none", n)
				}
				return
			}
			if n := sessionsOf(t, e, login.GetDeviceId()); n != 1 {
				t.Fatalf("%d sessions on the device, want 1", n)
			}
			if _, err := e.svc.Refresh(ctx, pairs[tc.live].GetRefreshToken()); err != nil {
				t.Fatalf("the live pair's refresh token: %v", err)
			}
		})
	}
}

// wantOnlyLive checks that live's access token identifies and every other
// pair's is refused.
func wantOnlyLive(t *testing.T, e *env, pairs map[string]*v1.Session, live string) {
	t.Helper()
	wantDead(t, e, pairs, live)
	if p, ok := pairs[live]; ok {
		if _, err := e.identify(p.GetAccessToken()); err != nil {
			t.Fatalf("access token of the live pair %q: %v", live, err)
		}
	}
}

// wantDead checks that every pair's access token but except's is refused.
func wantDead(t *testing.T, e *env, pairs map[string]*v1.Session, except string) {
	t.Helper()
	for name, p := range pairs {
		if name != except {
			_, err := e.identify(p.GetAccessToken())
			wantUnauthenticated(t, "access token of the dead pair "+name, err)
		}
	}
}

func sessionsOf(t *testing.T, e *env, deviceID string) int {
	t.Helper()
	var n int
	if err := e.st.DirectoryView(context.Background(), func(tx store.DirTx) error {
		n = len(tx.SessionsOfDevice(deviceID))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRefreshGraceAnswer(t *testing.T) {
	e := newEnv(t, func(c *auth.Config) { c.RefreshGrace = 10 * time.Second })
	ft := useFakeTimers(e)
	ctx := context.Background()
	_, login := e.newPerson(t, "worker", teamA, "Sam")
	// Streams the device opened before the refresh.
	streams := e.mustIdentify(t, login.GetAccessToken())
	e.clock.Advance(time.Minute)
	lost, err := e.svc.Refresh(ctx, login.GetRefreshToken())
	if err != nil {
		t.Fatal(err)
	}
	if closed(streams.Ended) {
		t.Fatal("a refresh ended the session's streams")
	}

	e.clock.Advance(5 * time.Second)
	retry, err := e.svc.Refresh(ctx, login.GetRefreshToken())
	if err != nil {
		t.Fatalf("retry within the configured grace: %v", err)
	}
	if retry.GetAccessToken() == lost.GetAccessToken() || retry.GetRefreshToken() == lost.GetRefreshToken() {
		t.Fatal("the retry replayed the lost pair")
	}
	wantRotated(t, e, login, retry)
	// Whoever answered streams with either earlier pair reconnects with the
	// live one (the device), or cannot (anyone else).
	if !closed(streams.Ended) {
		t.Fatal("the session's streams are still open after a retry")
	}
	id := e.mustIdentify(t, retry.GetAccessToken())
	if closed(id.Ended) {
		t.Fatal("the new pair's streams start closed")
	}
	ft.advance(15*time.Minute - time.Nanosecond)
	if closed(id.Ended) {
		t.Fatal("Ended closed before the new pair's access expiry")
	}
	ft.advance(time.Nanosecond)
	if !closed(id.Ended) {
		t.Fatal("Ended did not close at the new pair's access expiry")
	}

	// The configured window, not the default.
	next, err := e.svc.Refresh(ctx, retry.GetRefreshToken())
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(10 * time.Second)
	_, err = e.svc.Refresh(ctx, retry.GetRefreshToken())
	wantKind(t, "retry past the configured grace", err, errkind.Unauthenticated, msgSessionGo)
	_, err = e.identify(next.GetAccessToken())
	wantUnauthenticated(t, "session ended by reuse past the grace", err)

	logs := e.logs.String()
	if !strings.Contains(logs, `"event":"refresh_retried"`) || !strings.Contains(logs, `"reason":"reused"`) {
		t.Fatalf("grace answer or reuse not logged:\n%s", logs)
	}
	for _, p := range []*v1.Session{login, lost, retry, next} {
		for _, tok := range []string{p.GetAccessToken(), p.GetRefreshToken()} {
			if strings.Contains(logs, tok) || strings.Contains(logs, tok[len(auth.RefreshPrefix):]) {
				t.Fatal("a token was logged")
			}
		}
	}
}

func TestRefreshGraceChecksTheHolder(t *testing.T) {
	e := newEnv(t)
	_, login := e.newPerson(t, "worker", teamA, "Sam")
	if _, err := e.svc.Refresh(context.Background(), login.GetRefreshToken()); err != nil {
		t.Fatal(err)
	}
	e.dir(t, func(tx store.DirTx) error {
		u, err := tx.User(login.GetUserId())
		if err != nil {
			return err
		}
		u.Disabled = true
		return tx.PutUser(u)
	})
	_, err := e.svc.Refresh(context.Background(), login.GetRefreshToken())
	wantKind(t, "disabled user's retry", err, errkind.Unauthenticated, msgSessionGo)
	if !strings.Contains(e.logs.String(), `"reason":"user_disabled"`) {
		t.Fatal("the refusal's reason was not logged")
	}
}

// Concurrent presentations of one refresh token (a thief racing the device,
// or a device refreshing twice at once), with or without calls with the
// pair that replaced it racing them: at most one presentation is answered
// as a retry (after the one that rotated), and any further one is reuse
// that ends the session. Never two live pairs.
func TestRefreshGraceConcurrentReplays(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rotated bool // the token was replaced before the replays
		replays int
		calls   bool // calls with the replacing pair race the replays
		answers int  // at most this many replays answered
	}{
		{name: "six presentations at once", replays: 6, answers: 2},
		{name: "replays of a replaced token", rotated: true, replays: 4, answers: 1},
		{name: "replays racing calls with the new pair", rotated: true, replays: 4, calls: true, answers: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			_, login := e.newPerson(t, "worker", teamA, "Sam")
			pairs := map[string]*v1.Session{"login": login}
			if tc.rotated {
				first, err := e.svc.Refresh(ctx, login.GetRefreshToken())
				if err != nil {
					t.Fatal(err)
				}
				pairs["first"] = first
			}
			answers := make([]*v1.Session, tc.replays)
			errs := make([]error, tc.replays)
			var wg sync.WaitGroup
			for i := range tc.replays {
				wg.Go(func() { answers[i], errs[i] = e.svc.Refresh(ctx, login.GetRefreshToken()) })
				if tc.calls {
					wg.Go(func() { e.identify(pairs["first"].GetAccessToken()) })
				}
			}
			wg.Wait()
			answered := 0
			for i := range tc.replays {
				if errs[i] != nil {
					wantKind(t, fmt.Sprintf("replay %d", i), errs[i], errkind.Unauthenticated, msgSessionGo)
					continue
				}
				answered++
				pairs[fmt.Sprint(i)] = answers[i]
			}
			if answered > tc.answers {
				t.Fatalf("%d of %d concurrent replays answered, want at most %d", answered, tc.replays, tc.answers)
			}
			wantOnlyLive(t, e, pairs, "")
			if k := sessionsOf(t, e, login.GetDeviceId()); k != 0 {
				t.Fatalf("%d sessions left after reuse, want none", k)
			}
		})
	}
}

// The first call with a pair records its use (GraceClosed) only while that
// closes something: a write once per refresh at most, never on a session
// without a replaced token or after the window.
func TestGraceClosedIsWrittenOnlyWhileItMatters(t *testing.T) {
	for _, tc := range []struct {
		name    string
		refresh bool          // refresh once after sign-in
		after   time.Duration // then wait this long before the calls
		want    bool
	}{
		{name: "signed in, no replaced token", want: false},
		{name: "new pair used within the window", refresh: true, after: time.Second, want: true},
		{name: "new pair first used after the window", refresh: true, after: graceWindow, want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			_, pair := e.newPerson(t, "worker", teamA, "Sam")
			if tc.refresh {
				var err error
				if pair, err = e.svc.Refresh(context.Background(), pair.GetRefreshToken()); err != nil {
					t.Fatal(err)
				}
			}
			e.clock.Advance(tc.after)
			for range 3 {
				e.mustIdentify(t, pair.GetAccessToken())
			}
			var got bool
			e.dir(t, func(tx store.DirTx) error {
				sess, err := tx.SessionByAccess(auth.HashSecret(pair.GetAccessToken()))
				got = err == nil && sess.GraceClosed
				return err
			})
			if got != tc.want {
				t.Fatalf("GraceClosed = %v, want %v", got, tc.want)
			}
		})
	}
}
