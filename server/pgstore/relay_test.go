package pgstore

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/throughcare/throughcare/server/pgstore/pgtest"
)

type announcement struct {
	kind string
	ids  []string
}

// hearAnnouncements collects what s's OnAnnounce function is told.
func hearAnnouncements(s *DB) chan announcement {
	ch := make(chan announcement, 100)
	s.OnAnnounce(func(kind string, ids []string) { ch <- announcement{kind, ids} })
	return ch
}

func nextAnnouncement(t *testing.T, ch chan announcement) announcement {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(30 * time.Second): // a hang guard, not a race
		t.Fatal("no announcement heard")
		return announcement{}
	}
}

// An announcement on A reaches B's function, whole even over the payload
// limit, and never A's own: A hears only B's later announcement.
func TestAnnounceReachesOtherReplicas(t *testing.T) {
	a, b := replicas(t)
	onA, onB := hearAnnouncements(a), hearAnnouncements(b)
	ctx := context.Background()
	many := make([]string, 400) // over 8000 bytes
	for i := range many {
		many[i] = uuid.NewString()
	}
	if err := a.Announce(ctx, "sessions-ended", many); err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(got) < len(many) {
		n := nextAnnouncement(t, onB)
		if n.kind != "sessions-ended" {
			t.Fatalf("B heard kind %q, want sessions-ended", n.kind)
		}
		got = append(got, n.ids...)
	}
	if !slices.Equal(got, many) {
		t.Errorf("B heard %d ids, want the %d announced in order", len(got), len(many))
	}
	if err := b.Announce(ctx, "caseload-changed", []string{"u1"}); err != nil {
		t.Fatal(err)
	}
	if n := nextAnnouncement(t, onA); n.kind != "caseload-changed" || !slices.Equal(n.ids, []string{"u1"}) {
		t.Errorf("A heard %+v, want B's caseload-changed [u1] (and never its own)", n)
	}
	if len(onA) != 0 || len(onB) != 0 {
		t.Errorf("%d and %d more announcements heard, want none (own ones are not delivered)", len(onA), len(onB))
	}
}

func TestAnnounceRefusesUnsendable(t *testing.T) {
	a, _ := replicas(t)
	for _, c := range []struct {
		kind string
		ids  []string
	}{{"", []string{"x"}}, {AnnounceResync, []string{"x"}}, {"a b", []string{"x"}}, {"k", []string{"x,y"}}, {"k", []string{""}}} {
		if err := a.Announce(context.Background(), c.kind, c.ids); err == nil {
			t.Errorf("Announce(%q, %q) = nil, want an error", c.kind, c.ids)
		}
	}
}

func TestParseAnnouncement(t *testing.T) {
	for _, p := range splitPayloads("o k ", []string{"a", "b"}) {
		if origin, kind, ids, ok := parseAnnouncement(p); !ok || origin != "o" || kind != "k" || !slices.Equal(ids, []string{"a", "b"}) {
			t.Errorf("parseAnnouncement(%q) = %q %q %q %v", p, origin, kind, ids, ok)
		}
	}
	for _, bad := range []string{"", "o", "o k", "o k ", " k a", "o  a", "o k a,,b", "o k a,"} {
		if _, _, _, ok := parseAnnouncement(bad); ok {
			t.Errorf("parseAnnouncement(%q) ok, want unreadable", bad)
		}
	}
}

// When B's listener is killed it reconnects and delivers a resync (what
// was announced meanwhile is lost), then hears announcements again.
func TestAnnounceResyncAfterReconnect(t *testing.T) {
	cluster := pgtest.Shared(t)
	a, b := replicasOf(t, cluster.Database(t, t.Name()))
	onB := hearAnnouncements(b)
	ctx := context.Background()
	admin := newPool(t, cluster.URL("postgres"))
	if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend($1)", int32(b.listener.pid.Load())); err != nil {
		t.Fatal(err)
	}
	if n := nextAnnouncement(t, onB); n.kind != AnnounceResync || n.ids != nil {
		t.Fatalf("B heard %+v after its listener was killed, want a resync", n)
	}
	if b.listener.conns.Load() < 2 {
		t.Fatalf("resync without a reconnect")
	}
	if err := a.Announce(ctx, "devices-ended", []string{"d1"}); err != nil {
		t.Fatal(err)
	}
	if n := nextAnnouncement(t, onB); n.kind != "devices-ended" || strings.Join(n.ids, ",") != "d1" {
		t.Errorf("B heard %+v after reconnecting, want devices-ended [d1]", n)
	}
}
