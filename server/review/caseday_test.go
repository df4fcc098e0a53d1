package review

import (
	"testing"
	"time"

	"github.com/throughcare/throughcare/syncproto/caseday"
)

// The caseload counts a follow-up overdue from midnight in London (the
// tablet's rule too, package caseday), not midnight UTC: at 23:30 UTC on 1
// July it is already 2 July in London.
func TestCaseloadFollowUpTurnsAtLondonMidnight(t *testing.T) {
	sum := &caseSummary{latestFollowUps: []int64{caseday.Number(2026, time.July, 1)}}
	c := &client{id: "c", born: noDay}
	for _, tc := range []struct {
		now  time.Time
		want uint32
	}{
		{time.Date(2026, time.July, 1, 22, 30, 0, 0, time.UTC), 0}, // 23:30 BST
		{time.Date(2026, time.July, 1, 23, 30, 0, 0, time.UTC), 1}, // 00:30 BST, 2 July
	} {
		now := instantOf(tc.now)
		if got := caseLineOf(c, sum, now, now).out.GetOverdueFollowUps(); got != tc.want {
			t.Errorf("at %v: %d overdue follow-ups, want %d", tc.now, got, tc.want)
		}
	}
}
