package caseload

import (
	"testing"
	"time"
)

// The server reads its clock about half way through a round trip, so the
// offset is measured from the midpoint, not from when the answer arrived.
func TestServerOffsetFromRoundTripMidpoint(t *testing.T) {
	local := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	d := memDevice(t)
	d.cfg.Now = func() time.Time { return local }
	for _, tc := range []struct {
		name   string
		server time.Time
		sent   time.Time
		want   time.Duration
	}{
		{"200ms round trip, clocks agree", local.Add(-100 * time.Millisecond), local.Add(-200 * time.Millisecond), 0},
		{"server 5s ahead", local.Add(5*time.Second - 100*time.Millisecond), local.Add(-200 * time.Millisecond), 5 * time.Second},
		{"unknown send time", local.Add(-time.Minute), time.Time{}, -time.Minute},
		{"send time after arrival (clock stepped)", local.Add(time.Second), local.Add(time.Hour), time.Second},
	} {
		d.learnTime(tc.server, tc.sent)
		if got := d.offset; got != tc.want {
			t.Errorf("%s: offset %v, want %v", tc.name, got, tc.want)
		}
	}
}
