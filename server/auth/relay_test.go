package auth

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// fakeRelay records announcements and lets the test play other
// processes' ones.
type fakeRelay struct {
	sent  [][]string // kind, then ids
	other func(kind string, ids []string)
}

func (r *fakeRelay) Announce(_ context.Context, kind string, ids []string) error {
	r.sent = append(r.sent, append([]string{kind}, ids...))
	return nil
}

func (r *fakeRelay) OnAnnounce(fn func(kind string, ids []string)) { r.other = fn }

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestNotifierRelay(t *testing.T) {
	r := &fakeRelay{}
	n := newNotifier(time.Now)
	n.useRelay(r, zerolog.Nop())
	later := time.Now().Add(time.Hour)

	s1, s2, u1 := n.session("s1", later), n.session("s2", later), n.user("u1")
	n.end("s1")
	n.changed("u1")
	n.end() // nothing to announce
	if want := [][]string{{relaySessionsEnded, "s1"}, {relayCaseloadChanged, "u1"}}; !slices.EqualFunc(r.sent, want, slices.Equal) {
		t.Errorf("announced %q, want %q", r.sent, want)
	}
	if !closed(s1) || closed(s2) || !closed(u1) {
		t.Fatalf("local end/changed: s1 %v s2 %v u1 %v, want s1 and u1 closed", closed(s1), closed(s2), closed(u1))
	}

	r.sent = nil
	u2 := n.user("u2")
	r.other(relaySessionsEnded, []string{"s2"})
	r.other(relayCaseloadChanged, []string{"u2"})
	if !closed(s2) || !closed(u2) {
		t.Errorf("heard endings: s2 %v u2 %v, want both closed", closed(s2), closed(u2))
	}
	if r.sent != nil {
		t.Errorf("heard announcements were announced again: %q", r.sent)
	}

	s3, u3, u4 := n.session("s3", later), n.user("u3"), n.user("u4")
	r.other("resync", nil)
	if !closed(u3) || !closed(u4) || closed(s3) {
		t.Errorf("after a resync: u3 %v u4 %v s3 %v, want every caseload channel closed (ending every stream) and sessions left",
			closed(u3), closed(u4), closed(s3))
	}
	if again := n.user("u3"); closed(again) {
		t.Error("a user watched after the resync starts closed")
	}
}
