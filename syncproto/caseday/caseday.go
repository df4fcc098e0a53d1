// Package caseday owns what day it is for the service: the calendar day
// in the zone the service works in (Europe/London), by which a follow-up
// date or a due day has passed. The tablet and the server both ask it, so
// a follow-up turns overdue at the same moment on both, whatever the
// tablet's or the server's own zone.
package caseday

import (
	"time"
	_ "time/tzdata" // the zone without the system's zoneinfo
)

// Zone is the zone the service's days are counted in.
var Zone = func() *time.Location {
	z, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic("caseday: " + err.Error()) // embedded by time/tzdata
	}
	return z
}()

// Today is the service's calendar day at now.
func Today(now time.Time) (year int, month time.Month, day int) {
	return now.In(Zone).Date()
}

// Number is a calendar day as days since 1970-01-01.
func Number(year int, month time.Month, day int) int64 {
	return time.Date(year, month, day, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// TodayNumber is Number(Today(now)).
func TodayNumber(now time.Time) int64 { return Number(Today(now)) }

// Passed reports whether a day (Number) has passed on today (Number): a
// follow-up is overdue from the day after its date.
func Passed(day, today int64) bool { return day < today }
