package pgstore

// Live streams across replicas. Several servers share one database; a
// device subscribed through one must hear of a change pushed through
// another. Each push transaction that appends sends the new heads with
// pg_notify on one channel: PostgreSQL delivers them when the transaction
// commits, and never for one rolled back or retried. Each DB keeps one
// connection of its own (not the pool's) listening on that channel, and
// tells its watchers of the heads other servers' pushes reach. A DB's own
// pushes reach its watchers at once, after the commit (Buckets), so the
// listener skips the notifications that carry its own origin.
//
// A payload is "<origin> <bucket>:<head>,<bucket>:<head>…". NOTIFY
// payloads must be shorter than 8000 bytes, so a push that appends to many
// buckets sends several notifications, each whole entries. A payload the
// listener cannot read makes it re-read every head (a resync), as does
// each reconnect: when the listening connection drops (the database
// restarted, the backend was terminated), the listener reconnects with
// backoff, LISTENs again and only then reads every bucket's head, so a
// push committed while it was away reaches the watchers too.
//
// Watchers may hear a head more than once (a resync repeats what they
// heard); heads only grow and the sync engine's hub treats a notice as
// "this bucket may have changed", pulling from the stream's own cursor, so
// a repeat costs one empty pull and changes nothing.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// notifyChannel is the channel pushes notify and listeners LISTEN on.
const notifyChannel = "throughcare_heads"

// maxPayload is the longest payload sent (PostgreSQL refuses 8000 bytes
// or more).
const maxPayload = 7999

// DefaultListenRetry is the listener's first wait before reconnecting,
// doubled after each failed attempt up to maxListenRetry.
const DefaultListenRetry = 250 * time.Millisecond

const maxListenRetry = 10 * time.Second

// listener is a DB's listening connection and its goroutine.
type listener struct {
	origin string // this DB's id in the payloads it sends
	cfg    *pgx.ConnConfig
	retry  time.Duration
	cancel context.CancelFunc
	done   sync.WaitGroup
	pid    atomic.Uint32 // the listening backend's process id
	conns  atomic.Int64  // connections made (1 after Open), for tests

	announced announcers // OnAnnounce's functions (relay.go)
}

// startListener connects the listening connection and starts its
// goroutine; Open fails if the first connection does.
func (s *DB) startListener(ctx context.Context, cfg *pgx.ConnConfig, retry time.Duration) error {
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return err
	}
	if retry <= 0 {
		retry = DefaultListenRetry
	}
	l := &s.listener
	l.origin, l.cfg, l.retry = hex.EncodeToString(id), cfg, retry
	conn, err := l.connect(ctx)
	if err != nil {
		return err
	}
	lctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	l.done.Add(1)
	go func() {
		defer l.done.Done()
		s.listen(lctx, conn)
	}()
	return nil
}

// stopListener stops the goroutine and closes its connection.
func (s *DB) stopListener() {
	s.listener.cancel()
	s.listener.done.Wait()
}

// connect opens a listening connection.
func (l *listener) connect(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, l.cfg)
	if err != nil {
		return nil, err
	}
	for _, ch := range []string{notifyChannel, relayChannel} {
		if _, err := conn.Exec(ctx, "LISTEN "+ch); err != nil {
			_ = conn.Close(context.Background())
			return nil, err
		}
	}
	l.pid.Store(conn.PgConn().PID())
	l.conns.Add(1)
	return conn, nil
}

// listen delivers notifications until ctx ends, reconnecting when the
// connection drops.
func (s *DB) listen(ctx context.Context, conn *pgx.Conn) {
	for {
		err := s.receive(ctx, conn) // returns when ctx ends or the connection drops
		_ = conn.Close(context.Background())
		if ctx.Err() != nil {
			return
		}
		s.log.Warn().Err(err).Msg("the connection listening for other servers' pushes dropped; reconnecting")
		if conn = s.reconnect(ctx); conn == nil {
			return
		}
		s.log.Info().Int64("connections", s.listener.conns.Load()).
			Msg("listening for other servers' pushes again; every stream re-reads its heads and restarts")
		s.resync(ctx, conn)
		s.listener.announced.deliver(AnnounceResync, nil)
	}
}

// receive passes conn's notifications to the watchers until it fails,
// and returns why.
func (s *DB) receive(ctx context.Context, conn *pgx.Conn) error {
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if n.Channel == relayChannel {
			s.hearAnnouncement(n.Payload)
			continue
		}
		origin, heads, ok := parsePayload(n.Payload)
		switch {
		case !ok:
			s.log.Warn().Int("bytes", len(n.Payload)).Msg("unreadable notification of other servers' pushes; re-reading every head")
			s.resync(ctx, conn)
		case origin != s.listener.origin && len(heads) > 0:
			s.watchers.Notify(heads)
		}
	}
}

// reconnect retries the connection with backoff until it succeeds (or
// returns nil when ctx ends).
func (s *DB) reconnect(ctx context.Context) *pgx.Conn {
	wait := s.listener.retry
	for attempt := 1; ; attempt++ {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		conn, err := s.listener.connect(ctx)
		if err == nil {
			return conn
		}
		if ctx.Err() == nil {
			s.log.Warn().Err(err).Int("attempt", attempt).Dur("next_in", min(2*wait, maxListenRetry)).
				Msg("reconnecting the connection listening for other servers' pushes failed")
		}
		wait = min(2*wait, maxListenRetry)
	}
}

// resync tells the watchers every bucket's head, read after LISTEN so that
// nothing committed before it is missed. A failure is left to the
// connection's next read, which fails too and reconnects.
func (s *DB) resync(ctx context.Context, conn *pgx.Conn) {
	rows, err := conn.Query(ctx, "SELECT bucket::text, head FROM bucket_heads WHERE head > 0")
	all := map[string]uint64{}
	var b string
	var h int64
	if err == nil {
		_, err = pgx.ForEachRow(rows, []any{&b, &h}, func() error { all[b] = uint64(h); return nil })
	}
	switch {
	case err != nil && ctx.Err() == nil:
		s.log.Warn().Err(err).Msg("re-reading every head failed; the listening connection reconnects")
	case err == nil && len(all) > 0:
		s.watchers.Notify(all)
	}
}

// queueNotify queues the notifications of the heads a push appended to,
// delivered by PostgreSQL when it commits.
func (tx *bucketTx) queueNotify(batch *pgx.Batch, origin string) {
	if len(tx.appended) == 0 {
		return
	}
	heads := make(map[string]uint64, len(tx.appended))
	for b := range tx.appended {
		heads[b] = tx.heads[b]
	}
	batch.Queue("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p", notifyChannel, payloads(origin, heads))
}

// payloads encodes heads as payloads of at most maxPayload bytes each.
func payloads(origin string, heads map[string]uint64) []string {
	entries := make([]string, 0, len(heads))
	for b, h := range heads {
		entries = append(entries, b+":"+strconv.FormatUint(h, 10))
	}
	return splitPayloads(origin+" ", entries)
}

// splitPayloads joins entries with commas after prefix, in payloads of at
// most maxPayload bytes each, each entry whole.
func splitPayloads(prefix string, entries []string) []string {
	var out []string
	var p strings.Builder
	for _, entry := range entries {
		if p.Len() > 0 && p.Len()+1+len(entry) > maxPayload {
			out, p = append(out, p.String()), strings.Builder{}
		}
		if p.Len() == 0 {
			p.WriteString(prefix + entry)
		} else {
			p.WriteString("," + entry)
		}
	}
	if p.Len() > 0 {
		out = append(out, p.String())
	}
	return out
}

var errPayload = errors.New("pgstore: unreadable notification payload")

// parsePayload decodes a payload; ok is false for one it cannot read.
func parsePayload(payload string) (origin string, heads map[string]uint64, ok bool) {
	origin, list, found := strings.Cut(payload, " ")
	if !found || origin == "" {
		return "", nil, false
	}
	heads = map[string]uint64{}
	for _, entry := range strings.Split(list, ",") {
		b, h, err := parseEntry(entry)
		if err != nil {
			return "", nil, false
		}
		heads[b] = h
	}
	return origin, heads, true
}

func parseEntry(entry string) (string, uint64, error) {
	b, hs, found := strings.Cut(entry, ":")
	if !found || canonical(b) != nil {
		return "", 0, errPayload
	}
	h, err := strconv.ParseUint(hs, 10, 64)
	if err != nil {
		return "", 0, errPayload
	}
	return b, h, nil
}
