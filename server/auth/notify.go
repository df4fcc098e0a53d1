package auth

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/store"
)

// Relay carries session endings and caseload changes between the server
// processes sharing one directory, so that a stream open on one process
// ends when its session ends, or its user's caseload changes, through
// another (pgstore.DB is one). Announce sends ids of a kind to the other
// processes; OnAnnounce hears theirs (never this process's own), and a
// kind it does not know (pgstore.AnnounceResync after its listener
// reconnects) means "announcements may have been missed": every watched
// stream ends (as for a caseload change) and devices reconnect.
type Relay interface {
	Announce(ctx context.Context, kind string, ids []string) error
	OnAnnounce(fn func(kind string, ids []string))
}

// The kinds the notifier announces: session ids ended, and user ids whose
// caseload changed.
const (
	relaySessionsEnded   = "sessions-ended"
	relayCaseloadChanged = "caseload-changed"
)

// relayTimeout bounds an announcement made after a commit, its retries
// included.
const relayTimeout = 5 * time.Second

// relayRetry is the first wait before an announcement that failed is sent
// again, doubled after each failure while relayTimeout lasts.
const relayRetry = 50 * time.Millisecond

// txAnnouncer is a directory transaction that announces inside itself
// (pgstore's): the other processes hear it when the transaction commits,
// and never if it does not. Session endings are announced so, which
// leaves no gap between a session ending and its streams on other
// processes hearing of it: a failure to announce fails the ending.
type txAnnouncer interface {
	Announce(kind string, ids []string) error
}

// announceIn announces ids of kind inside tx if tx can (txAnnouncer), and
// reports whether it did.
func announceIn(tx store.DirTx, kind string, ids []string) (bool, error) {
	a, ok := tx.(txAnnouncer)
	if !ok || len(ids) == 0 {
		return ok, nil
	}
	return true, a.Announce(kind, ids)
}

// endedSessions is the sessions a transaction ended; announced: inside
// the transaction, so the notifier announces them no more.
type endedSessions struct {
	ids       []string
	announced bool
}

// add appends o's sessions (ended in the same transaction).
func (e endedSessions) add(o endedSessions) endedSessions {
	return endedSessions{ids: append(e.ids, o.ids...), announced: e.announced || o.announced}
}

// notifier hands out the channels that end live streams: one per session
// (closed when the session ends or its access token expires unrenewed) and
// one per user (closed when their caseload changes). Channels are created
// lazily, shared by every identity resolved for the same session or user,
// and replaced by a fresh one after they close. Each session channel has a
// timer for its access expiry, stopped when the channel closes some other
// way.
//
// It lives in memory: with one server process that is every open stream.
// With several, endings and changes are also announced through the Relay,
// and those of the other processes are heard from it (useRelay).
type notifier struct {
	now func() time.Time
	// afterFunc starts a timer that calls f after d and returns its stop
	// function (time.AfterFunc's Stop). Tests replace it (export_test.go) to
	// fire expiries on their own clock instead of sleeping.
	afterFunc func(d time.Duration, f func()) (stop func() bool)
	mu        sync.Mutex
	sessions  map[string]*sessionWatch
	users     map[string]chan struct{}
	// publish announces ids of a kind to the other processes (nil: one
	// process).
	publish func(kind string, ids []string)
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

// useRelay announces n's endings and changes through r and applies the
// other processes' announcements locally. An announcement made after its
// commit (caseload changes; session endings when the store cannot
// announce inside the transaction) is sent again with backoff while
// relayTimeout lasts; one that still fails is logged, and the streams on
// the other processes then end at their access expiry (deploy/OPERATIONS.md).
func (n *notifier) useRelay(r Relay, log zerolog.Logger) {
	n.publish = func(kind string, ids []string) {
		ctx, cancel := context.WithTimeout(context.Background(), relayTimeout)
		defer cancel()
		wait := relayRetry
		for attempt := 1; ; attempt++ {
			err := r.Announce(ctx, kind, ids)
			if err == nil {
				return
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				log.Error().Err(err).Str("kind", kind).Int("ids", len(ids)).Int("attempts", attempt).
					Msg("relay announcement failed; streams on the other servers end at their access expiry")
				return
			case <-t.C:
			}
			wait *= 2
		}
	}
	r.OnAnnounce(n.heard)
}

// heard applies another process's announcement.
func (n *notifier) heard(kind string, ids []string) {
	switch kind {
	case relaySessionsEnded:
		n.endLocal(ids...)
	case relayCaseloadChanged:
		n.changedLocal(ids...)
	default: // a resync, or a kind from a newer server: end every stream
		n.changedAll()
	}
}

// announce publishes ids of kind, if there is a relay and any ids.
func (n *notifier) announce(kind string, ids []string) {
	if n.publish != nil && len(ids) > 0 {
		n.publish(kind, ids)
	}
}

// end closes the channels of sessions that ended, here and (through the
// relay) on the other processes.
func (n *notifier) end(ids ...string) {
	n.endLocal(ids...)
	n.announce(relaySessionsEnded, ids)
}

// ended closes the channels of sessions a transaction ended, here and, if
// the transaction did not announce them itself, through the relay.
func (n *notifier) ended(e endedSessions) {
	if e.announced {
		n.endLocal(e.ids...)
		return
	}
	n.end(e.ids...)
}

// endLocal closes this process's channels of sessions that ended.
func (n *notifier) endLocal(ids ...string) {
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

// changedAll closes every caseload channel, which ends every stream (each
// watches its user's): the devices reconnect gently (they pull and follow
// again, where a session ending would make them refresh first), and
// resolving them again refuses any session that ended meanwhile.
func (n *notifier) changedAll() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for id, ch := range n.users {
		delete(n.users, id)
		close(ch)
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

// changed closes the caseload channels of users, here and (through the
// relay) on the other processes.
func (n *notifier) changed(ids ...string) {
	n.changedLocal(ids...)
	n.announce(relayCaseloadChanged, ids)
}

// changedLocal closes this process's caseload channels of users.
func (n *notifier) changedLocal(ids ...string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, id := range ids {
		if ch := n.users[id]; ch != nil {
			delete(n.users, id)
			close(ch)
		}
	}
}
