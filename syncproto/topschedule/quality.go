package topschedule

import (
	"cmp"
	"slices"
	"time"
)

// The data-quality rules a supervisor's list applies to a client's TOPs
// (NDTMS flags the same): a client in treatment past the review interval
// with no review TOP, and stages out of order. The server's list and any
// app ask Issues, so they agree.

// Kind is a kind of data-quality issue.
type Kind int

// The kinds.
const (
	// ReviewMissing: in treatment (started, not discharged) and past the
	// interval and its window since the episode's last start or review
	// TOP (or since treatment began, without one) with no review TOP.
	ReviewMissing Kind = iota + 1
	// ReviewBeforeStart: a review TOP with no start TOP before it.
	ReviewBeforeStart
	// ReviewAfterExit: a review TOP after an exit with no new start.
	ReviewAfterExit
	// SecondStart: a start TOP in an episode already started (no exit
	// between them).
	SecondStart
	// ExitBeforeStart: an exit TOP with no start TOP before it.
	ExitBeforeStart
	// ExitAfterExit: an exit TOP after an exit with no new start.
	ExitAfterExit
	// PostExitInTreatment: a post-treatment exit TOP in an episode not
	// yet exited.
	PostExitInTreatment
	kindEnd
)

var kindNames = [...]string{
	ReviewMissing:       "review_missing",
	ReviewBeforeStart:   "review_before_start",
	ReviewAfterExit:     "review_after_exit",
	SecondStart:         "second_start",
	ExitBeforeStart:     "exit_before_start",
	ExitAfterExit:       "exit_after_exit",
	PostExitInTreatment: "post_exit_in_treatment",
}

// Kinds are every kind, in order.
func Kinds() []Kind {
	out := make([]Kind, 0, kindEnd-1)
	for k := ReviewMissing; k < kindEnd; k++ {
		out = append(out, k)
	}
	return out
}

func (k Kind) String() string {
	if k <= 0 || k >= kindEnd {
		return "unknown"
	}
	return kindNames[k]
}

// Issue is one data-quality issue of a client's TOPs.
type Issue struct {
	Kind Kind
	// Day is the day of the TOP out of order, or for ReviewMissing the
	// day the review fell due.
	Day time.Time
}

// stageRank orders TOPs taken on the same day.
var stageRank = map[string]int{"start": 1, "review": 2, "exit": 3, "post_treatment_exit": 4}

// Issues returns the data-quality issues of a client's TOPs on today (the
// service's day): stages out of order, oldest first, then a missing
// review.
func (s Schedule) Issues(c Client, today time.Time) []Issue {
	tops := slices.Clone(c.TOPs)
	slices.SortStableFunc(tops, func(a, b TOP) int {
		return cmp.Or(day(a.Day).Compare(day(b.Day)), cmp.Compare(stageRank[a.Stage], stageRank[b.Stage]))
	})
	var out []Issue
	const (
		none   = iota // no start yet
		open          // started, not exited
		closed        // exited, no new start
	)
	phase := none
	flag := func(k Kind, t TOP) { out = append(out, Issue{k, day(t.Day)}) }
	for _, t := range tops {
		switch t.Stage {
		case "start":
			if phase == open {
				flag(SecondStart, t)
			}
			phase = open
		case "review":
			switch phase {
			case none:
				flag(ReviewBeforeStart, t)
			case closed:
				flag(ReviewAfterExit, t)
			}
		case "exit":
			switch phase {
			case none:
				flag(ExitBeforeStart, t)
			case closed:
				flag(ExitAfterExit, t)
			}
			phase = closed
		case "post_treatment_exit":
			if phase == open {
				flag(PostExitInTreatment, t)
			}
			phase = closed
		}
	}
	if due, ok := s.reviewMissing(c, today); ok {
		out = append(out, Issue{ReviewMissing, due})
	}
	return out
}

// reviewMissing reports whether a client in treatment is past the review
// interval and its window with no review TOP, and the day it fell due.
func (s Schedule) reviewMissing(c Client, today time.Time) (time.Time, bool) {
	if c.TreatmentStart.IsZero() || !c.Discharged.IsZero() {
		return time.Time{}, false
	}
	last, stage, _ := s.latest(c)
	switch stage {
	case "":
		last = day(c.TreatmentStart)
	case "start", "review":
	default:
		return time.Time{}, false // exited: the exit TOP, not a review, is what is next
	}
	due := AddMonths(last, s.interval())
	return due, serviceDay(today).After(due.AddDate(0, 0, s.window()))
}
