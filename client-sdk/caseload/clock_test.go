package caseload

import (
	"testing"
	"time"
)

// The offset is measured against the answer's arrival, so the corrected
// clock never runs ahead of the server's (a contact made just before a
// reassignment is never stamped after it); an answer the local clock places
// before its request (the clock was stepped back) teaches nothing.
func TestServerOffsetNeverRunsAhead(t *testing.T) {
	local := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	d := memDevice(t)
	d.cfg.Now = func() time.Time { return local }
	for _, tc := range []struct {
		name   string
		server time.Time
		sent   time.Time
		want   time.Duration
	}{
		{"200ms round trip, clocks agree", local.Add(-100 * time.Millisecond), local.Add(-200 * time.Millisecond), -100 * time.Millisecond},
		{"server 5s ahead", local.Add(5 * time.Second), local.Add(-200 * time.Millisecond), 5 * time.Second},
		{"unknown send time", local.Add(-time.Minute), time.Time{}, -time.Minute},
		{"send time after arrival (clock stepped): kept", local.Add(time.Hour), local.Add(time.Hour), -time.Minute},
	} {
		d.learnTime(tc.server, tc.sent)
		if got := d.offset; got != tc.want {
			t.Errorf("%s: offset %v, want %v", tc.name, got, tc.want)
		}
		if corrected := local.Add(d.offset); tc.sent.IsZero() || !tc.sent.After(local) {
			if corrected.After(tc.server) {
				t.Errorf("%s: corrected clock %v runs ahead of the server's %v", tc.name, corrected, tc.server)
			}
		}
	}
}
