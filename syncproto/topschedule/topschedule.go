// Package topschedule owns the rule for when a client's next Treatment
// Outcomes Profile (TOP, the outcome_review record type) is due: a start
// TOP when treatment begins, reviews at an interval after the last TOP of
// the episode (three months by default, with a fortnight either side), and
// an exit TOP at discharge. The tablet's agenda and the server's caseload
// view and data-quality lists all ask this package, so they agree.
//
// Dates are calendar days: a time.Time's year, month and day, whatever its
// clock and location; "today" is the service's day (package caseday).
package topschedule

import (
	"time"

	"github.com/throughcare/throughcare/syncproto/caseday"
)

// Schedule is an area's TOP schedule.
type Schedule struct {
	// IntervalMonths is the months from one TOP to the next review
	// (default DefaultIntervalMonths).
	IntervalMonths int
	// WindowDays is how early a review may be taken, and how late before
	// it is overdue (default DefaultWindowDays).
	WindowDays int
}

// The defaults: reviews every three months, a fortnight either side.
const (
	DefaultIntervalMonths = 3
	DefaultWindowDays     = 14
)

func (s Schedule) interval() int { return cmpOr(s.IntervalMonths, DefaultIntervalMonths) }
func (s Schedule) window() int   { return cmpOr(s.WindowDays, DefaultWindowDays) }

func cmpOr(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// TOP is one TOP taken: its interview day and stage (schema.TOPStages).
type TOP struct {
	Day   time.Time
	Stage string
}

// Client is what the schedule needs of a client.
type Client struct {
	// TreatmentStart is the day treatment began (zero: not in treatment).
	TreatmentStart time.Time
	// Discharged is the day treatment ended (zero: still in treatment).
	Discharged time.Time
	// TOPs are the client's TOPs, in any order.
	TOPs []TOP
}

// State is where the next TOP stands on a day.
type State int

const (
	// NotNeeded: no TOP is due (not in treatment, or the exit TOP is taken).
	NotNeeded State = iota
	// NotYet: the next TOP's window has not opened.
	NotYet
	// Due: the day is in the next TOP's window.
	Due
	// Overdue: the window has closed without it.
	Overdue
)

var stateNames = [...]string{"not_needed", "not_yet", "due", "overdue"}

func (s State) String() string { return stateNames[s] }

// Next is the next TOP a client needs.
type Next struct {
	// Stage is "start", "review" or "exit" ("" when NotNeeded).
	Stage string
	// On is the day it is due; From and To bound its window (a start or
	// exit TOP's window opens on the day and closes WindowDays after).
	From, On, To time.Time
	State        State
}

// NextTOP says which TOP a client needs next and where it stands today.
func (s Schedule) NextTOP(c Client, today time.Time) Next {
	if c.TreatmentStart.IsZero() {
		return Next{}
	}
	start := day(c.TreatmentStart)
	last, lastStage, started := s.latest(c)
	var n Next
	switch {
	case lastStage == "exit" || lastStage == "post_treatment_exit":
		return Next{}
	case !c.Discharged.IsZero():
		on := day(c.Discharged)
		n = Next{Stage: "exit", From: on, On: on, To: on.AddDate(0, 0, s.window())}
	case !started:
		n = Next{Stage: "start", From: start, On: start, To: start.AddDate(0, 0, s.window())}
	default:
		on := AddMonths(last, s.interval())
		n = Next{Stage: "review", From: on.AddDate(0, 0, -s.window()), On: on, To: on.AddDate(0, 0, s.window())}
	}
	return s.State(n, today)
}

// latest is the latest TOP of the client's current episode (taken on or
// after its start, less the window) and its stage, and whether the
// episode has a start TOP.
func (s Schedule) latest(c Client) (last time.Time, stage string, started bool) {
	from := day(c.TreatmentStart).AddDate(0, 0, -s.window())
	for _, t := range c.TOPs {
		d := day(t.Day)
		if d.Before(from) {
			continue // an earlier episode's
		}
		if t.Stage == "start" {
			started = true
		}
		if last.IsZero() || !d.Before(last) {
			last, stage = d, t.Stage
		}
	}
	return last, stage, started
}

// State returns n with its State on today (n's days are kept; a Next with
// no Stage is NotNeeded).
func (s Schedule) State(n Next, today time.Time) Next {
	today = serviceDay(today)
	switch {
	case n.Stage == "":
		n.State = NotNeeded
	case today.Before(n.From):
		n.State = NotYet
	case today.After(n.To):
		n.State = Overdue
	default:
		n.State = Due
	}
	return n
}

// AddMonths adds months to a day, keeping to the end of a shorter month
// (31 January plus one month is 28 or 29 February, not 3 March).
func AddMonths(d time.Time, months int) time.Time {
	d = day(d)
	first := time.Date(d.Year(), d.Month()+time.Month(months), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return time.Date(first.Year(), first.Month(), min(d.Day(), last), 0, 0, 0, 0, time.UTC)
}

// serviceDay is the service's day (Europe/London) at now, at midnight UTC.
func serviceDay(now time.Time) time.Time {
	y, m, d := caseday.Today(now)
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// day is d's calendar day, at midnight UTC.
func day(d time.Time) time.Time {
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
}
