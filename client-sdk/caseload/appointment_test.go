package caseload

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload/internal/local"
)

var day0 = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

func keywork(at time.Time) Appointment {
	return Appointment{Type: "keywork", StartsAt: at, DurationMinutes: 45, WithWhom: "Jo (keyworker)", Place: "Office"}
}

func mustBook(t testing.TB, d *Device, clientID string, a Appointment) string {
	t.Helper()
	id, err := d.BookAppointment(context.Background(), clientID, a)
	if err != nil {
		t.Fatalf("BookAppointment: %v", err)
	}
	return id
}

// A booked appointment reads back as booked, authored by the user, pending.
func TestBookAppointment(t *testing.T) {
	ctx := context.Background()
	d, c := enrolledDevice(t)
	id := mustBook(t, d, c, keywork(day0))
	got, err := d.Appointment(ctx, c, id)
	must(t, err)
	want := Appointment{ID: id, ClientID: c, Type: "keywork", StartsAt: day0, DurationMinutes: 45, WithWhom: "Jo (keyworker)",
		Place: "Office", Status: "booked", Author: d.UserID(), Pending: true}
	if !equalAppointments(got, want) {
		t.Fatalf("Appointment = %+v, want %+v", got, want)
	}
	tl, err := d.Timeline(ctx, c)
	must(t, err)
	if len(tl.Appointments) != 1 || tl.Appointments[0].ID != id {
		t.Fatalf("Timeline.Appointments = %+v, want the one booked", tl.Appointments)
	}
}

func equalAppointments(a, b Appointment) bool {
	return a.ID == b.ID && a.ClientID == b.ClientID && a.Type == b.Type && a.StartsAt.Equal(b.StartsAt) &&
		a.DurationMinutes == b.DurationMinutes && a.WithWhom == b.WithWhom && a.Place == b.Place && a.Notes == b.Notes &&
		a.Status == b.Status && a.DNAReason == b.DNAReason && a.ContactID == b.ContactID &&
		a.RescheduledTo == b.RescheduledTo && a.Author == b.Author && a.Deleted == b.Deleted && a.Pending == b.Pending
}

// Invalid bookings and outcomes are refused before anything is queued.
func TestAppointmentValidation(t *testing.T) {
	ctx := context.Background()
	d, c := enrolledDevice(t)
	booked := mustBook(t, d, c, keywork(day0))
	queued := len(outbox(t, d))
	for _, tc := range []struct {
		name string
		do   func() error
	}{
		{"no start", func() error { _, err := d.BookAppointment(ctx, c, Appointment{Type: "keywork"}); return err }},
		{"unknown type", func() error {
			_, err := d.BookAppointment(ctx, c, Appointment{Type: "lunch", StartsAt: day0})
			return err
		}},
		{"unknown client", func() error { _, err := d.BookAppointment(ctx, newID(), keywork(day0)); return err }},
		{"DNA without a reason", func() error { _, err := d.RecordAttendance(ctx, c, booked, Outcome{}); return err }},
		{"DNA with an unknown reason", func() error {
			_, err := d.RecordAttendance(ctx, c, booked, Outcome{DNAReason: "overslept"})
			return err
		}},
		{"attended with a reason", func() error {
			_, err := d.RecordAttendance(ctx, c, booked, Outcome{Attended: true, DNAReason: "unwell"})
			return err
		}},
		{"contact without a time", func() error {
			_, err := d.RecordAttendance(ctx, c, booked, Outcome{Attended: true, Contact: &Contact{Category: "general", Mode: "office"}})
			return err
		}},
		{"cancelled by nobody", func() error { return d.CancelAppointment(ctx, c, booked, 0) }},
	} {
		err := tc.do()
		if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: err = %v, want ErrInvalid or ErrNotFound", tc.name, err)
		}
	}
	if got := len(outbox(t, d)); got != queued {
		t.Fatalf("outbox holds %d changes after refused writes, want %d", got, queued)
	}
	a, err := d.Appointment(ctx, c, booked)
	must(t, err)
	if a.Status != "booked" {
		t.Fatalf("status after refused outcomes = %q, want booked", a.Status)
	}
}

// Rescheduling marks the old appointment and books the new one in one
// write; an appointment that is no longer booked takes no other outcome.
func TestRescheduleCancelAttend(t *testing.T) {
	ctx := context.Background()
	d, c := enrolledDevice(t)
	old := mustBook(t, d, c, keywork(day0))
	before := len(outbox(t, d))
	next, err := d.RescheduleAppointment(ctx, c, old, Appointment{StartsAt: day0.Add(48 * time.Hour)})
	must(t, err)
	chs := outbox(t, d)[before:]
	var writes int
	must(t, d.db.View(func(txn *local.Txn) error {
		writes, err = countPrefix(txn, []byte{pWrite})
		return err
	}))
	if writes != 2 {
		t.Fatalf("%d writes in the outbox after booking and rescheduling, want 2 (one per user action)", writes)
	}
	if len(chs) == 0 {
		t.Fatal("rescheduling queued nothing")
	}
	o, err := d.Appointment(ctx, c, old)
	must(t, err)
	n, err := d.Appointment(ctx, c, next)
	must(t, err)
	if o.Status != "rescheduled" || o.RescheduledTo != next {
		t.Fatalf("old appointment: status %q rescheduled_to %q, want rescheduled, %s", o.Status, o.RescheduledTo, next)
	}
	if n.Status != "booked" || n.Type != "keywork" || n.WithWhom != "Jo (keyworker)" || n.DurationMinutes != 45 || !n.StartsAt.Equal(day0.Add(48*time.Hour)) {
		t.Fatalf("new appointment = %+v, want a booked keywork session with Jo two days on", n)
	}

	contactID, err := d.RecordAttendance(ctx, c, next, Outcome{DNAReason: "in_hospital", Contact: &Contact{
		OccurredAt: day0.Add(49 * time.Hour), Category: "health", Mode: "phone", Outcome: "admitted on Friday"}})
	must(t, err)
	n, err = d.Appointment(ctx, c, next)
	must(t, err)
	if n.Status != "did_not_attend" || n.DNAReason != "in_hospital" || n.ContactID != contactID {
		t.Fatalf("after a DNA: %+v, want did_not_attend, in_hospital, contact %s", n, contactID)
	}
	tl, err := d.Timeline(ctx, c)
	must(t, err)
	if len(tl.Contacts) != 1 || tl.Contacts[0].ID != contactID {
		t.Fatalf("the DNA's contact was not logged: %+v", tl.Contacts)
	}

	third := mustBook(t, d, c, keywork(day0.Add(96*time.Hour)))
	must(t, d.CancelAppointment(ctx, c, third, CancelledByService))

	for _, tc := range []struct {
		name, id, status string
		do               func(id string) error
	}{
		{"attendance of a rescheduled one", old, "rescheduled", func(id string) error {
			_, err := d.RecordAttendance(ctx, c, id, Outcome{Attended: true})
			return err
		}},
		{"rescheduling a DNA", next, "did_not_attend", func(id string) error {
			_, err := d.RescheduleAppointment(ctx, c, id, keywork(day0))
			return err
		}},
		{"cancelling a cancelled one", third, "cancelled_by_service", func(id string) error {
			return d.CancelAppointment(ctx, c, id, CancelledByClient)
		}},
	} {
		err := tc.do(tc.id)
		var se *StateError
		if !errors.Is(err, ErrWrongState) || !errors.Is(err, ErrInvalid) || !errors.As(err, &se) || se.Status != tc.status {
			t.Errorf("%s: err = %v, want a StateError (ErrWrongState) with status %s", tc.name, err, tc.status)
		}
	}
}
