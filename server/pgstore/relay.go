package pgstore

// Session endings and caseload changes across replicas. A server closes a
// device's open streams (Subscribe, exports) when its session ends or its
// user's caseload changes; with several servers on one database the
// stream may be open on another one. Announce tells the other DBs open on
// the database, over a second NOTIFY channel heard by the same listening
// connection as the heads (notify.go), and OnAnnounce hands each DB the
// announcements of the others (never its own: the announcing server acts
// on its own at once). On a directory transaction, Announce queues the
// announcement in the transaction (delivered at its commit, never for one
// that rolls back), which is how sessions end.
//
// A payload is "<origin> <kind> <id>,<id>…", split like the heads' to stay
// under the NOTIFY limit. What a listener was away for cannot be re-read,
// so after each reconnect, and for a payload it cannot read, it delivers
// AnnounceResync: "end every stream you watch" (devices reconnect and
// re-read their identity).

import (
	"context"
	"errors"
	"strings"
	"sync"
)

// relayChannel is the channel Announce notifies and listeners LISTEN on.
const relayChannel = "throughcare_relay"

// AnnounceResync is the kind OnAnnounce's functions get, with no ids,
// when announcements may have been missed.
const AnnounceResync = "resync"

// announcers holds the functions OnAnnounce registered.
type announcers struct {
	mu  sync.Mutex
	fns []func(kind string, ids []string)
}

func (a *announcers) deliver(kind string, ids []string) {
	a.mu.Lock()
	fns := a.fns
	a.mu.Unlock()
	for _, fn := range fns {
		fn(kind, ids)
	}
}

var errAnnounce = errors.New("pgstore: an announcement's kind or ids contain a space or a comma, or its kind is empty")

// Announce tells the other DBs open on this database that ids of kind
// (a word without spaces or commas, chosen by the caller) changed. It is
// sent at once, outside any transaction: call it after the change
// commits.
func (s *DB) Announce(ctx context.Context, kind string, ids []string) error {
	ps, err := announcePayloads(s.listener.origin, kind, ids)
	if err != nil || len(ps) == 0 {
		return err
	}
	_, err = s.pool.Exec(ctx, announceSQL, relayChannel, ps)
	return s.mapErr(err)
}

// Announce, on a directory transaction, announces as DB.Announce does but
// inside the transaction: PostgreSQL delivers the announcement when the
// transaction commits, and never for one that rolls back or is run again,
// so a change and its announcement go together (a failure to queue it
// fails the transaction). The auth package ends sessions so.
func (tx *dirTx) Announce(kind string, ids []string) error {
	ps, err := announcePayloads(tx.origin, kind, ids)
	if err != nil || len(ps) == 0 {
		return err
	}
	return tx.exec(announceSQL, relayChannel, ps)
}

const announceSQL = "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p"

// announcePayloads checks an announcement and encodes its payloads (none for
// no ids).
func announcePayloads(origin, kind string, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if kind == "" || kind == AnnounceResync || strings.ContainsAny(kind, " ,") {
		return nil, errAnnounce
	}
	for _, id := range ids {
		if id == "" || strings.ContainsAny(id, " ,") {
			return nil, errAnnounce
		}
	}
	return splitPayloads(origin+" "+kind+" ", ids), nil
}

// OnAnnounce registers fn to hear the other DBs' announcements, and
// AnnounceResync after the listener reconnects. fn runs on the listener's
// goroutine: it must not block.
func (s *DB) OnAnnounce(fn func(kind string, ids []string)) {
	a := &s.listener.announced
	a.mu.Lock()
	defer a.mu.Unlock()
	a.fns = append(a.fns[:len(a.fns):len(a.fns)], fn)
}

// hearAnnouncement delivers a relay payload unless it is this DB's own.
func (s *DB) hearAnnouncement(payload string) {
	origin, kind, ids, ok := parseAnnouncement(payload)
	switch {
	case !ok:
		s.log.Warn().Int("bytes", len(payload)).Msg("unreadable relay announcement; every stream watched here ends")
		s.listener.announced.deliver(AnnounceResync, nil)
	case origin != s.listener.origin:
		s.listener.announced.deliver(kind, ids)
	}
}

// parseAnnouncement decodes a relay payload; ok is false for one it
// cannot read.
func parseAnnouncement(payload string) (origin, kind string, ids []string, ok bool) {
	parts := strings.SplitN(payload, " ", 3)
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", "", nil, false
	}
	ids = strings.Split(parts[2], ",")
	for _, id := range ids {
		if id == "" {
			return "", "", nil, false
		}
	}
	return parts[0], parts[1], ids, true
}
