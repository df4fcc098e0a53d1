package caseday

import (
	"testing"
	"time"
)

// The service's day turns at midnight in London, in summer (BST, UTC+1)
// and in winter (GMT), whatever zone the caller's clock is in.
func TestToday(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	for _, c := range []struct {
		now  time.Time
		want string
	}{
		{time.Date(2026, 7, 1, 23, 30, 0, 0, time.UTC), "2026-07-02"},  // 00:30 BST
		{time.Date(2026, 7, 1, 22, 59, 0, 0, time.UTC), "2026-07-01"},  // 23:59 BST
		{time.Date(2026, 12, 1, 23, 30, 0, 0, time.UTC), "2026-12-01"}, // 23:30 GMT
		{time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), "2026-12-02"},
		{time.Date(2026, 7, 1, 19, 30, 0, 0, ny), "2026-07-02"}, // 00:30 BST
		{time.Date(2028, 2, 28, 23, 0, 0, 0, time.UTC), "2028-02-28"},
		{time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC), "2028-02-29"},
	} {
		y, m, d := Today(c.now)
		if got := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Format(time.DateOnly); got != c.want {
			t.Errorf("Today(%v) = %s, want %s", c.now, got, c.want)
		}
	}
}

func TestPassed(t *testing.T) {
	due := Number(2026, 12, 7)
	for _, c := range []struct {
		now  time.Time
		want bool
	}{
		{time.Date(2026, 12, 7, 23, 59, 0, 0, time.UTC), false}, // still the day itself
		{time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC), true},
		{time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC), false},
	} {
		if got := Passed(due, TodayNumber(c.now)); got != c.want {
			t.Errorf("Passed at %v = %v, want %v", c.now, got, c.want)
		}
	}
	if Number(1970, 1, 2) != 1 || Number(1969, 12, 31) != -1 {
		t.Error("Number is not days since 1970-01-01")
	}
}
