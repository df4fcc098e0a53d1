package caseload

import (
	"context"
	"errors"
	"fmt"
	"time"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
)

// Appointment is an appointment a client is to keep: booked ahead, then
// given its outcome. Type and Status take the schema's values
// (schema.AppointmentTypes, schema.AppointmentStatuses); DNAReason one of
// schema.DNAReasons.
type Appointment struct {
	ID, ClientID    string
	Type            string
	StartsAt        time.Time
	DurationMinutes int
	WithWhom, Place string
	Notes           string
	// OrderID is the court order a review hearing belongs to
	// (BookReviewHearing; schema version 4).
	OrderID string

	// Set when read (and by the outcome methods): where it stands, why the
	// client did not attend, the contact that recorded the outcome, the
	// appointment that replaced it.
	Status, DNAReason string
	ContactID         string
	RescheduledTo     string
	Author            string
	Deleted, Pending  bool
	Conflicts         []Conflict
}

// Canceller says who cancelled an appointment.
type Canceller int

const (
	// CancelledByClient: the client called it off.
	CancelledByClient Canceller = iota + 1
	// CancelledByService: the service (or the provider) called it off.
	CancelledByService
)

// Outcome is what happened at a booked appointment (RecordAttendance).
type Outcome struct {
	// Attended is true if the client came; otherwise DNAReason (one of
	// schema.DNAReasons) says why not.
	Attended  bool
	DNAReason string
	// Contact, if set, is logged in the same user action and linked as the
	// appointment's contact_id (its ClientID is ignored).
	Contact *Contact
}

// ErrWrongState: the appointment is not booked (it already has an outcome,
// was cancelled or rescheduled, or was deleted), so it cannot be given
// another. Errors from the appointment methods wrap it in a *StateError. It
// also matches ErrInvalid.
var ErrWrongState = errors.New("wrong state")

// StateError says why an action does not apply to an appointment.
type StateError struct {
	AppointmentID string
	// Status is where the appointment stands ("attended", "rescheduled"),
	// or "deleted".
	Status string
	// Action is what was tried ("reschedule", "cancel", "record attendance").
	Action string
}

func (e *StateError) Error() string {
	return fmt.Sprintf("caseload: %s: cannot %s an appointment that is %s", ErrWrongState, e.Action, e.Status)
}

// Is makes a StateError match ErrWrongState and ErrInvalid.
func (e *StateError) Is(target error) bool { return target == ErrWrongState || target == ErrInvalid }

// BookAppointment books an appointment for a client on the caseload and
// returns its id. Its status is booked; the author is the signed-in user.
func (d *Device) BookAppointment(ctx context.Context, clientID string, a Appointment) (string, error) {
	if err := d.onCaseload(ctx, clientID); err != nil {
		return "", err
	}
	if a.OrderID != "" {
		if err := d.liveOrder(ctx, clientID, a.OrderID); err != nil {
			return "", err
		}
	}
	rec, err := d.booking(clientID, newID(), a)
	if err != nil {
		return "", err
	}
	return rec.recordID, d.writeAction(ctx, rec)
}

// booking is the write that books a.
func (d *Device) booking(clientID, id string, a Appointment) (recordEdits, error) {
	if a.StartsAt.IsZero() {
		return recordEdits{}, fmt.Errorf("caseload: %w: an appointment needs the time it starts", ErrInvalid)
	}
	edits := []Edit{
		{"appointment_type", String(a.Type)},
		{"starts_at", Time(a.StartsAt)},
		{"status", String("booked")},
		{"author", String(d.UserID())},
	}
	opt := func(field string, v *v1.Value, set bool) {
		if set {
			edits = append(edits, Edit{field, v})
		}
	}
	opt("duration_minutes", Int(int64(a.DurationMinutes)), a.DurationMinutes != 0)
	opt("with_whom", String(a.WithWhom), a.WithWhom != "")
	opt("place", String(a.Place), a.Place != "")
	opt("notes", String(a.Notes), a.Notes != "")
	opt("order_id", String(a.OrderID), a.OrderID != "")
	return recordEdits{"appointment", clientID, id, edits}, nil
}

// RescheduleAppointment replaces a booked appointment with a new one, in
// one user action: the old one is marked rescheduled, pointing to the new
// one, which is booked. What next leaves empty (type, duration, with whom,
// place) is taken from the old one. It returns the new appointment's id.
func (d *Device) RescheduleAppointment(ctx context.Context, clientID, appointmentID string, next Appointment) (string, error) {
	old, err := d.bookedAppointment(ctx, clientID, appointmentID, "reschedule")
	if err != nil {
		return "", err
	}
	if next.Type == "" {
		next.Type = old.Type
	}
	if next.DurationMinutes == 0 {
		next.DurationMinutes = old.DurationMinutes
	}
	if next.WithWhom == "" {
		next.WithWhom = old.WithWhom
	}
	if next.Place == "" {
		next.Place = old.Place
	}
	if next.OrderID == "" {
		next.OrderID = old.OrderID
	}
	rec, err := d.booking(clientID, newID(), next)
	if err != nil {
		return "", err
	}
	mark := recordEdits{"appointment", clientID, appointmentID, []Edit{
		{"status", String("rescheduled")},
		{"rescheduled_to", String(rec.recordID)},
	}}
	return rec.recordID, d.writeAction(ctx, rec, mark)
}

// CancelAppointment records that a booked appointment was called off, by
// the client or by the service.
func (d *Device) CancelAppointment(ctx context.Context, clientID, appointmentID string, by Canceller) error {
	status := map[Canceller]string{CancelledByClient: "cancelled_by_client", CancelledByService: "cancelled_by_service"}[by]
	if status == "" {
		return fmt.Errorf("caseload: %w: cancelled by the client or by the service", ErrInvalid)
	}
	if _, err := d.bookedAppointment(ctx, clientID, appointmentID, "cancel"); err != nil {
		return err
	}
	return d.Write(ctx, "appointment", clientID, appointmentID, Edit{"status", String(status)})
}

// RecordAttendance records whether the client kept a booked appointment:
// attended, or did not attend with a coded reason. With o.Contact it also
// logs that contact, in the same user action, and links it to the
// appointment; it returns the contact's id (or "").
func (d *Device) RecordAttendance(ctx context.Context, clientID, appointmentID string, o Outcome) (string, error) {
	switch {
	case o.Attended && o.DNAReason != "":
		return "", fmt.Errorf("caseload: %w: a did-not-attend reason is for an appointment the client missed", ErrInvalid)
	case !o.Attended && o.DNAReason == "":
		return "", fmt.Errorf("caseload: %w: a missed appointment needs a did-not-attend reason", ErrInvalid)
	}
	if _, err := d.bookedAppointment(ctx, clientID, appointmentID, "record attendance of"); err != nil {
		return "", err
	}
	edits := []Edit{{"status", String("attended")}}
	if !o.Attended {
		edits = []Edit{{"status", String("did_not_attend")}, {"dna_reason", String(o.DNAReason)}}
	}
	var recs []recordEdits
	contactID := ""
	if o.Contact != nil {
		c, err := d.contactEdits(*o.Contact)
		if err != nil {
			return "", err
		}
		contactID = newID()
		recs = append(recs, recordEdits{"contact", clientID, contactID, c})
		edits = append(edits, Edit{"contact_id", String(contactID)})
	}
	recs = append(recs, recordEdits{"appointment", clientID, appointmentID, edits})
	return contactID, d.writeAction(ctx, recs...)
}

// Appointment returns one appointment.
func (d *Device) Appointment(ctx context.Context, clientID, appointmentID string) (Appointment, error) {
	st, pending, err := d.record(ctx, clientID, appointmentID)
	if err != nil {
		return Appointment{}, err
	}
	if st.GetRecordType() != "appointment" {
		return Appointment{}, fmt.Errorf("caseload: %w: no such appointment", ErrNotFound)
	}
	return toAppointment(clientID, &localRecord{state: st, pending: pending}), nil
}

// bookedAppointment returns an appointment that is still booked, or a
// *StateError for action.
func (d *Device) bookedAppointment(ctx context.Context, clientID, appointmentID, action string) (Appointment, error) {
	a, err := d.Appointment(ctx, clientID, appointmentID)
	if err != nil {
		return Appointment{}, err
	}
	switch {
	case a.Deleted:
		return Appointment{}, &StateError{AppointmentID: appointmentID, Status: "deleted", Action: action}
	case a.Status != "booked":
		return Appointment{}, &StateError{AppointmentID: appointmentID, Status: a.Status, Action: action}
	}
	return a, nil
}

func toAppointment(clientID string, r *localRecord) Appointment {
	st := r.state
	return Appointment{
		ID: st.GetRecordId(), ClientID: clientID, Type: str(st, "appointment_type"), StartsAt: instant(st, "starts_at"),
		DurationMinutes: int(integer(st, "duration_minutes")), WithWhom: str(st, "with_whom"), Place: str(st, "place"),
		Notes: str(st, "notes"), Status: str(st, "status"), DNAReason: str(st, "dna_reason"),
		ContactID: str(st, "contact_id"), RescheduledTo: str(st, "rescheduled_to"), Author: str(st, "author"), OrderID: str(st, "order_id"),
		Deleted: merge.IsDeleted(st), Pending: r.pending, Conflicts: conflicts(clientID, st),
	}
}
