// Package consent owns the rule for a client's current consent, derived
// from their consent records (the consent record type, schema version 4):
// to national monitoring (NDTMS) and to share with each named partner. The
// tablet (caseload.Device.ConsentState) and the server (the exports and
// statistics) both ask it, so they agree.
//
// The rule, per scope: each live record is a decision given on its
// given_on day and, if withdrawn, withdrawn on its withdrawn_on day (a
// withdrawal dated before its consent counts from the day consent was
// given). The latest decision on or before today stands: consent given
// then is current; withdrawn then is withdrawn. On one day a withdrawal
// outranks a consent, so a same-day withdrawal and re-consent reads as
// withdrawn until the next consent. Decisions dated after today are not
// yet in force (a consent given tomorrow is not current today; a
// withdrawal dated tomorrow leaves it current today). A deleted record
// (entered in error) is no decision. With no decision in force the scope
// is NotRecorded, which is neither current nor withdrawn.
//
// Dates are calendar days: a time.Time's year, month and day, whatever its
// clock and location; the zero time is no date. "Today" is the service's
// day (package caseday).
package consent

import (
	"slices"
	"time"

	"github.com/throughcare/throughcare/syncproto/schema"
)

// Record is what the rule needs of one consent record.
type Record struct {
	ID string
	// Scope is one of schema.ConsentScopes.
	Scope string
	// Given is the day consent was given; Withdrawn the day it was
	// withdrawn (zero: not withdrawn).
	Given, Withdrawn time.Time
	// Deleted records (entered in error) are ignored.
	Deleted bool
}

// Status is where one scope's consent stands.
type Status int

// The statuses.
const (
	// NotRecorded: no decision in force (no record, or only future ones).
	NotRecorded Status = iota
	// Current: consent given and not withdrawn.
	Current
	// Withdrawn: the latest decision withdrew it.
	Withdrawn
)

func (s Status) String() string {
	switch s {
	case Current:
		return "current"
	case Withdrawn:
		return "withdrawn"
	}
	return "not_recorded"
}

// Scope is one scope's state.
type Scope struct {
	Status Status
	// Since is the day of the decision in force (zero: NotRecorded).
	Since time.Time
	// RecordID is the record that made it.
	RecordID string
}

// State is a client's consent on one day, per scope.
type State struct {
	scopes map[string]Scope
}

// decision is one record's consent or withdrawal.
type decision struct {
	day      int64
	withdraw bool
	id       string
}

// later reports whether a outranks b: a later day, then a withdrawal over
// a consent, then the greater record id (so the outcome never depends on
// the order records came in).
func (a decision) later(b decision) bool {
	if a.day != b.day {
		return a.day > b.day
	}
	if a.withdraw != b.withdraw {
		return a.withdraw
	}
	return a.id > b.id
}

// dayOf is a date as days since 1970-01-01.
func dayOf(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// Derive is the consent the records give on today.
func Derive(records []Record, today time.Time) State {
	now := dayOf(today)
	best := map[string]decision{}
	for _, r := range records {
		if r.Deleted || r.Given.IsZero() || !slices.Contains(schema.ConsentScopes, r.Scope) {
			continue
		}
		given := dayOf(r.Given)
		ds := []decision{{day: given, id: r.ID}}
		if !r.Withdrawn.IsZero() {
			ds = append(ds, decision{day: max(dayOf(r.Withdrawn), given), withdraw: true, id: r.ID})
		}
		for _, d := range ds {
			if b, ok := best[r.Scope]; d.day <= now && (!ok || d.later(b)) {
				best[r.Scope] = d
			}
		}
	}
	st := State{scopes: map[string]Scope{}}
	for scope, d := range best {
		s := Scope{Status: Current, Since: time.Unix(d.day*86400, 0).UTC(), RecordID: d.id}
		if d.withdraw {
			s.Status = Withdrawn
		}
		st.scopes[scope] = s
	}
	return st
}

// Of returns one scope's state (NotRecorded for a scope with none).
func (s State) Of(scope string) Scope { return s.scopes[scope] }

// Current reports whether consent to scope is current.
func (s State) Current(scope string) bool { return s.scopes[scope].Status == Current }

// SharesWithAnyPartner reports whether consent to share with any partner
// (schema.ConsentPartners) is current: the value of the client's older
// consent_to_share flag, which new tablets write derived from the records
// for tablets that know only the flag.
func (s State) SharesWithAnyPartner() bool {
	for _, p := range schema.ConsentPartners {
		if s.Current(p) {
			return true
		}
	}
	return false
}

// Excluded reports whether the client is left out of exports and
// statistics: their consent to national monitoring is withdrawn. A client
// with no national-monitoring decision recorded (every client from before
// schema 4) stays in.
func (s State) Excluded() bool {
	return s.scopes[schema.ConsentNationalMonitoring].Status == Withdrawn
}
