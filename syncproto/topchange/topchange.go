// Package topchange owns the rule for a client's change from start: which
// two Treatment Outcomes Profiles (TOPs, the outcome_review record type)
// are compared — the start TOP of the current treatment episode and the
// latest TOP since — and, item by item, which way each moved. The tablet
// (client-sdk/caseload's ChangeFromStart), the console's client page and
// the server's team outcome movement all ask this package, so they agree.
//
// Dates are calendar days: a time.Time's year, month and day, whatever its
// clock and location (like package topschedule).
package topchange

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/throughcare/throughcare/syncproto/caseday"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// Score is a TOP item's score (schema.TOPItem.Score: days over the 28, a
// rating, or 1 for yes and 0 for no), and whether the item was answered.
// An item recorded as not answered, or not filled in, is not Answered.
type Score struct {
	Value    int
	Answered bool
}

// TOP is one TOP interview as the rule sees it.
type TOP struct {
	// ID breaks ties between TOPs of the same day (the larger is later).
	ID string
	// Day is the interview day.
	Day time.Time
	// Stage is one of schema.TOPStages.
	Stage string
	// Scores are the items' scores, in schema.TOPItems' order; items past
	// its end are not answered.
	Scores []Score
}

// Score returns the score of the item at index i of schema.TOPItems.
func (t TOP) Score(i int) Score {
	if i < len(t.Scores) {
		return t.Scores[i]
	}
	return Score{}
}

// Movement is which way a TOP item moved from the start.
type Movement int

const (
	// Unknown: the item was not answered at the start or at the latest
	// TOP (or there is no later TOP yet).
	Unknown Movement = iota
	// Improved: less use, fewer crime days, no longer a housing problem,
	// better health, more days in work (the item's schema.TOPDirection).
	Improved
	// Unchanged: the same score.
	Unchanged
	// Worsened: the other way.
	Worsened
)

var movementNames = [...]string{"unknown", "improved", "unchanged", "worsened"}

func (m Movement) String() string {
	if m >= 0 && int(m) < len(movementNames) {
		return movementNames[m]
	}
	return fmt.Sprintf("Movement(%d)", int(m))
}

// Move returns the movement of an item from start to latest.
func Move(it schema.TOPItem, start, latest Score) Movement {
	switch {
	case !start.Answered || !latest.Answered:
		return Unknown
	case latest.Value == start.Value:
		return Unchanged
	case (latest.Value > start.Value) == (it.Better == schema.TOPHigherBetter):
		return Improved
	}
	return Worsened
}

// ItemChange is one item's change from start.
type ItemChange struct {
	// Index is the item's index in schema.TOPItems.
	Index         int
	Start, Latest Score
	Movement      Movement
}

// Item returns the item of the change.
func (c ItemChange) Item() schema.TOPItem { return schema.TOPItems[c.Index] }

// Compare returns every item's change from start to latest, in
// schema.TOPItems' order. A zero latest (no later TOP) leaves every item
// Unknown.
func Compare(start, latest TOP) []ItemChange {
	out := make([]ItemChange, len(schema.TOPItems))
	for i, it := range schema.TOPItems {
		s, l := start.Score(i), latest.Score(i)
		out[i] = ItemChange{Index: i, Start: s, Latest: l, Movement: Move(it, s, l)}
	}
	return out
}

// later orders TOPs by interview day, then id.
func later(a, b TOP) int {
	return cmp.Or(a.Day.Compare(b.Day), strings.Compare(a.ID, b.ID))
}

// Episode picks, among a client's live TOPs (in any order; deleted ones
// left out by the caller), the current episode's start TOP — the newest
// start TOP — and the newest TOP at a later stage (review, exit,
// post-treatment exit) after it. It returns their indices in tops; start
// is -1 if there is no start TOP, latest -1 if none has followed it.
func Episode(tops []TOP) (start, latest int) {
	any := func(time.Time) bool { return true }
	return pick(tops, any, any)
}

// Period is a span of time, from From up to but not including To. A TOP
// is in it if the start of its interview day, in the service's zone
// (caseday.Zone), is.
type Period struct{ From, To time.Time }

func dayStart(day time.Time) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, caseday.Zone)
}

// Contains reports whether an interview day is in the period.
func (p Period) Contains(day time.Time) bool {
	t := dayStart(day)
	return !t.Before(p.From) && t.Before(p.To)
}

// InPeriod picks the change a period reports for a client: the Episode
// current at the period's end (among the TOPs taken before it ended), if
// its latest TOP was taken in the period; ok is false otherwise (no start
// TOP, or none since it in the period). TOPs after the period are ignored.
func InPeriod(tops []TOP, p Period) (start, latest int, ok bool) {
	notAfter := func(day time.Time) bool { return dayStart(day).Before(p.To) }
	start, latest = pick(tops, notAfter, p.Contains)
	return start, latest, latest >= 0
}

// pick is Episode among the TOPs whose day is kept, with the latest TOP's
// day also in latestOn.
func pick(tops []TOP, kept, latestOn func(time.Time) bool) (start, latest int) {
	start, latest = -1, -1
	for i, t := range tops {
		if t.Stage == "start" && kept(t.Day) && (start < 0 || later(t, tops[start]) > 0) {
			start = i
		}
	}
	if start < 0 {
		return -1, -1
	}
	for i, t := range tops {
		if t.Stage != "start" && kept(t.Day) && latestOn(t.Day) && later(t, tops[start]) > 0 && (latest < 0 || later(t, tops[latest]) > 0) {
			latest = i
		}
	}
	return start, latest
}
