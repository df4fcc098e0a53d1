package review

import (
	"math"
	"time"

	"github.com/google/uuid"

	"github.com/throughcare/throughcare/syncproto/caseday"
	"github.com/throughcare/throughcare/syncproto/schema"
	"github.com/throughcare/throughcare/syncproto/wire"
)

// noDay is a day field that holds no date.
const noDay = math.MinInt64

// day returns a Date field's value as days since the Unix epoch, or noDay.
func (r *rec) day(name string) int64 {
	f := r.get(name)
	if f == nil {
		return noDay
	}
	var d []byte
	_ = wire.Each(f.value, func(num wire.Number, typ wire.Type, b []byte) int {
		if num == wire.Value.DateValue {
			return wire.Bytes(typ, b, &d)
		}
		return 0
	})
	if d == nil {
		return noDay
	}
	y, m, dd, err := wire.ReadDate(d)
	if err != nil || y < 1 || m < 1 || m > 12 || dd < 1 || dd > 31 {
		return noDay
	}
	return time.Date(int(y), time.Month(m), int(dd), 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// dayOf returns the day (since the Unix epoch, UTC) of t.
func dayOf(t instant) int64 { return floorDiv(t.sec, 86400) }

// appointment is what statistics, the queue and the caseload read of an
// appointment record.
type appointment struct {
	id                          uuid.UUID
	at                          instant // starts_at
	typ, status, reason, author string
	deleted                     bool
	// contact is the contact that recorded its outcome (contact_id), if
	// any.
	contact    uuid.UUID
	hasContact bool
}

// Appointment statuses (schema.AppointmentStatuses).
const (
	apptBooked             = "booked"
	apptAttended           = "attended"
	apptDNA                = "did_not_attend"
	apptCancelledByClient  = "cancelled_by_client"
	apptCancelledByService = "cancelled_by_service"
	apptRescheduled        = "rescheduled"
)

// appointment reads an appointment record; false if it has no usable id.
func (rd *reader) appointment(r *rec) (appointment, bool) {
	id, err := uuid.ParseBytes(r.id)
	if err != nil {
		return appointment{}, false
	}
	a := appointment{id: id, deleted: r.get(schema.DeletedField) != nil}
	a.at, _ = r.when("starts_at")
	a.typ = rd.intern(r.str("appointment_type"))
	a.status = rd.intern(r.str("status"))
	a.reason = rd.intern(r.str("dna_reason"))
	author := r.str("author")
	if author == nil {
		author = r.defaultAuthor()
	}
	a.author = rd.intern(author)
	if c, err := uuid.ParseBytes(r.str("contact_id")); err == nil {
		a.contact, a.hasContact = c, true
	}
	return a, true
}

// bucketFacts is what a bucket's contacts and appointments say about
// each other: the newest live contact, the contacts that recorded a
// missed appointment, and how many records have open conflicts.
type bucketFacts struct {
	latest    instant
	hasLatest bool
	missed    map[uuid.UUID]bool
	today     int64
}

// facts works out a bucket's facts as of today (caseday.Number).
func (b *bucketData) facts(today int64) bucketFacts {
	f := bucketFacts{today: today}
	for i := range b.contacts {
		ct := &b.contacts[i]
		if ct.deleted {
			continue
		}
		if !f.hasLatest || ct.at.compare(f.latest) > 0 {
			f.latest, f.hasLatest = ct.at, true
		}
		if ct.attendance == apptDNA {
			f.mark(ct.id)
		}
	}
	for i := range b.appointments {
		a := &b.appointments[i]
		if !a.deleted && a.status == apptDNA && a.hasContact {
			f.mark(a.contact)
		}
	}
	return f
}

func (f *bucketFacts) mark(id uuid.UUID) {
	if f.missed == nil {
		f.missed = map[uuid.UUID]bool{}
	}
	f.missed[id] = true
}

// overdue reports whether a contact's follow-up date has passed (before
// today) with no later live contact with the client.
func (f *bucketFacts) overdue(ct *contact) bool {
	return !ct.deleted && ct.followUp != noDay && caseday.Passed(ct.followUp, f.today) && f.hasLatest && ct.at.compare(f.latest) >= 0
}
