package caseload

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/throughcare/throughcare/syncproto/merge"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// Order is a court order or licence the client is under (schema version
// 4): Kind is one of schema.OrderKinds, TestingFrequency one of
// schema.TestingFrequencies. Its review hearings are appointments of type
// schema.ReviewHearingType whose OrderID names it (BookReviewHearing).
type Order struct {
	ID, ClientID string
	Kind         string
	// Court made the order (for a licence, the releasing prison).
	Court string
	// Start is the day it began; End, if set, the day it ends (after
	// Start).
	Start, End         Date
	TestingFrequency   string
	ReviewIntervalDays int
	ResponsibleOfficer string
	Notes              string

	// Set when read.
	Author           string
	Deleted, Pending bool
	Conflicts        []Conflict
}

// RecordOrder records a court order for a client on the caseload and
// returns its id; the author is the signed-in user. It needs a kind and a
// start date, an end date after the start, and a positive review interval
// when one is given; errors name the field, never the value.
func (d *Device) RecordOrder(ctx context.Context, clientID string, o Order) (string, error) {
	if err := d.onCaseload(ctx, clientID); err != nil {
		return "", err
	}
	switch {
	case o.Start.IsZero():
		return "", fmt.Errorf("caseload: %w: court_order.start_date is required", ErrInvalid)
	case !o.End.IsZero() && o.End.Compare(o.Start) <= 0:
		return "", fmt.Errorf("caseload: %w: court_order.end_date must be after start_date", ErrInvalid)
	case o.ReviewIntervalDays < 0:
		return "", fmt.Errorf("caseload: %w: court_order.review_interval_days must be positive", ErrInvalid)
	}
	edits := []Edit{
		{"kind", String(o.Kind)},
		{"start_date", DateValue(o.Start)},
		{"author", String(d.UserID())},
	}
	opt := func(field string, set bool, e Edit) {
		if set {
			edits = append(edits, e)
		}
	}
	opt("court", o.Court != "", Edit{"court", String(o.Court)})
	opt("end_date", !o.End.IsZero(), Edit{"end_date", DateValue(o.End)})
	opt("testing_frequency", o.TestingFrequency != "", Edit{"testing_frequency", String(o.TestingFrequency)})
	opt("review_interval_days", o.ReviewIntervalDays != 0, Edit{"review_interval_days", Int(int64(o.ReviewIntervalDays))})
	opt("responsible_officer", o.ResponsibleOfficer != "", Edit{"responsible_officer", String(o.ResponsibleOfficer)})
	opt("notes", o.Notes != "", Edit{"notes", String(o.Notes)})
	id := newID()
	return id, d.writeAction(ctx, recordEdits{"court_order", clientID, id, edits})
}

// Orders returns a client's court orders, the latest start first (deleted
// ones included, marked).
func (d *Device) Orders(ctx context.Context, clientID string) ([]Order, error) {
	tl, err := d.Timeline(ctx, clientID)
	if err != nil {
		return nil, err
	}
	return tl.Orders, nil
}

// BookReviewHearing books a court review hearing of an order: an
// appointment of type schema.ReviewHearingType linked to the order
// (order_id). a.Type may be left empty; any other type is refused. The
// order must be the client's and not deleted. It returns the
// appointment's id.
func (d *Device) BookReviewHearing(ctx context.Context, clientID, orderID string, a Appointment) (string, error) {
	if a.Type != "" && a.Type != schema.ReviewHearingType {
		return "", fmt.Errorf("caseload: %w: a review hearing's appointment_type is %s", ErrInvalid, schema.ReviewHearingType)
	}
	a.Type, a.OrderID = schema.ReviewHearingType, orderID
	return d.BookAppointment(ctx, clientID, a)
}

// liveOrder checks an appointment's order is one of the client's orders
// and not deleted.
func (d *Device) liveOrder(ctx context.Context, clientID, orderID string) error {
	st, _, err := d.record(ctx, clientID, orderID)
	if err != nil {
		return err
	}
	if st.GetRecordType() != "court_order" || merge.IsDeleted(st) {
		return fmt.Errorf("caseload: %w: appointment.order_id names no order of the client", ErrNotFound)
	}
	return nil
}

func toOrder(clientID string, r *localRecord) Order {
	st := r.state
	return Order{
		ID: st.GetRecordId(), ClientID: clientID, Kind: str(st, "kind"), Court: str(st, "court"),
		Start: date(st, "start_date"), End: date(st, "end_date"), TestingFrequency: str(st, "testing_frequency"),
		ReviewIntervalDays: int(integer(st, "review_interval_days")), ResponsibleOfficer: str(st, "responsible_officer"),
		Notes: str(st, "notes"), Author: str(st, "author"), Deleted: merge.IsDeleted(st), Pending: r.pending,
		Conflicts: conflicts(clientID, st),
	}
}

func sortOrders(os []Order) {
	slices.SortFunc(os, func(a, b Order) int {
		return cmp.Or(b.Start.Compare(a.Start), strings.Compare(a.ID, b.ID))
	})
}
