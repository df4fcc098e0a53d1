package auth

import (
	"sync"
	"time"
)

// notifier hands out the channels that end live streams: one per session
// (closed when the session ends or its access token expires unrenewed) and
// one per user (closed when their caseload changes). Channels are created
// lazily, shared by every identity resolved for the same session or user,
// and replaced by a fresh one after they close. Each session channel has a
// timer for its access expiry, stopped when the channel closes some other
// way.
//
// It lives in memory: with one server process that is every open stream.
// Several server processes would need to relay endings to each other.
type notifier struct {
	now func() time.Time
	// afterFunc starts a timer that calls f after d and returns its stop
	// function (time.AfterFunc's Stop). Tests replace it (export_test.go) to
	// fire expiries on their own clock instead of sleeping.
	afterFunc func(d time.Duration, f func()) (stop func() bool)
	mu        sync.Mutex
	sessions  map[string]*sessionWatch
	users     map[string]chan struct{}
}

type sessionWatch struct {
	ch      chan struct{}
	stop    func() bool // stops the expiry timer
	expires time.Time
	gen     uint64
}

func newNotifier(now func() time.Time) *notifier {
	return &notifier{now: now, afterFunc: realAfterFunc, sessions: map[string]*sessionWatch{}, users: map[string]chan struct{}{}}
}

func realAfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }

// session returns the channel of a session whose access token expires at
// expires (moving the timer on if that is later than it knew).
func (n *notifier) session(id string, expires time.Time) <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	w := n.sessions[id]
	if w == nil {
		w = &sessionWatch{ch: make(chan struct{})}
		n.sessions[id] = w
		n.arm(id, w, expires)
	} else if expires.After(w.expires) {
		n.arm(id, w, expires)
	}
	return w.ch
}

// extend moves a session's expiry timer (after a refresh), if anything
// watches it.
func (n *notifier) extend(id string, expires time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if w := n.sessions[id]; w != nil {
		n.arm(id, w, expires)
	}
}

// arm (re)starts w's timer; n.mu must be held. A timer that fires after
// being replaced finds a newer generation and does nothing.
func (n *notifier) arm(id string, w *sessionWatch, expires time.Time) {
	if w.stop != nil {
		w.stop()
	}
	w.gen++
	w.expires = expires
	gen := w.gen
	w.stop = n.afterFunc(max(expires.Sub(n.now()), 0), func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		if n.sessions[id] == w && w.gen == gen {
			delete(n.sessions, id)
			close(w.ch)
		}
	})
}

// end closes the channels of sessions that ended.
func (n *notifier) end(ids ...string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, id := range ids {
		if w := n.sessions[id]; w != nil {
			w.stop()
			delete(n.sessions, id)
			close(w.ch)
		}
	}
}

// user returns the caseload channel of a user.
func (n *notifier) user(id string) <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	ch := n.users[id]
	if ch == nil {
		ch = make(chan struct{})
		n.users[id] = ch
	}
	return ch
}

// changed closes the caseload channels of users.
func (n *notifier) changed(ids ...string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, id := range ids {
		if ch := n.users[id]; ch != nil {
			delete(n.users, id)
			close(ch)
		}
	}
}
