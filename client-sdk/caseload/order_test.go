package caseload

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/throughcare/throughcare/syncproto/schema"
)

func drr() Order {
	return Order{Kind: "drr", Court: "Leeds Crown Court", Start: Date{2026, time.March, 1}, End: Date{2027, time.August, 31},
		TestingFrequency: "weekly", ReviewIntervalDays: 28, ResponsibleOfficer: "A. Officer"}
}

// A recorded order reads back whole, authored by the user; orders come
// latest start first.
func TestRecordOrder(t *testing.T) {
	ctx := context.Background()
	d, c := enrolledDevice(t)
	first, err := d.RecordOrder(ctx, c, drr())
	must(t, err)
	lic := Order{Kind: "licence", Start: Date{2026, time.November, 2}}
	second, err := d.RecordOrder(ctx, c, lic)
	must(t, err)
	got, err := d.Orders(ctx, c)
	must(t, err)
	if len(got) != 2 || got[0].ID != second || got[1].ID != first {
		t.Fatalf("Orders = %+v, want the licence then the DRR", got)
	}
	want := drr()
	want.ID, want.ClientID, want.Author, want.Pending = first, c, d.UserID(), true
	if g := got[1]; !reflect.DeepEqual(g, want) {
		t.Fatalf("order = %+v, want %+v", g, want)
	}
}

// Invalid orders are refused before anything is queued, naming the field
// and never the value.
func TestRecordOrderValidation(t *testing.T) {
	ctx := context.Background()
	d, c := enrolledDevice(t)
	queued := len(outbox(t, d))
	tests := []struct {
		name, field string
		o           func(o *Order)
	}{
		{"no kind", "kind", func(o *Order) { o.Kind = "" }},
		{"unknown kind", "kind", func(o *Order) { o.Kind = "asbo-order" }},
		{"no start", "start_date", func(o *Order) { o.Start = Date{} }},
		{"end on the start", "end_date", func(o *Order) { o.End = o.Start }},
		{"end before the start", "end_date", func(o *Order) { o.End = Date{2026, time.February, 28} }},
		{"negative interval", "review_interval_days", func(o *Order) { o.ReviewIntervalDays = -3 }},
		{"interval too long", "review_interval_days", func(o *Order) { o.ReviewIntervalDays = schema.MaxReviewIntervalDays + 1 }},
		{"unknown frequency", "testing_frequency", func(o *Order) { o.TestingFrequency = "hourly-ish" }},
		{"officer too long", "responsible_officer", func(o *Order) { o.ResponsibleOfficer = strings.Repeat("Q", 201) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := drr()
			tt.o(&o)
			_, err := d.RecordOrder(ctx, c, o)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.field) {
				t.Errorf("%q does not name %s", msg, tt.field)
			}
			for _, v := range []string{"asbo-order", "hourly-ish", "QQQQ", "-3", "367", "2026-02-28"} {
				if strings.Contains(msg, v) {
					t.Errorf("%q echoes the value %s", msg, v)
				}
			}
		})
	}
	if _, err := d.RecordOrder(ctx, newID(), drr()); !errors.Is(err, ErrNotFound) {
		t.Errorf("an order for a client not held: %v, want ErrNotFound", err)
	}
	if got := len(outbox(t, d)); got != queued {
		t.Fatalf("outbox holds %d changes after refused orders, want %d", got, queued)
	}
}

// A review hearing is an appointment of the review-hearing type linked to
// its order; a rescheduled hearing stays linked. A hearing needs a live
// order of the client's and no other appointment type.
func TestBookReviewHearing(t *testing.T) {
	ctx := context.Background()
	d, c := enrolledDevice(t)
	order, err := d.RecordOrder(ctx, c, drr())
	must(t, err)
	id, err := d.BookReviewHearing(ctx, c, order, Appointment{StartsAt: day0, WithWhom: "Leeds Crown Court"})
	must(t, err)
	a, err := d.Appointment(ctx, c, id)
	must(t, err)
	if a.Type != schema.ReviewHearingType || a.OrderID != order || a.Status != "booked" {
		t.Fatalf("hearing = %+v, want a booked %s of order %s", a, schema.ReviewHearingType, order)
	}
	next, err := d.RescheduleAppointment(ctx, c, id, Appointment{StartsAt: day0.Add(7 * 24 * time.Hour)})
	must(t, err)
	if n, err := d.Appointment(ctx, c, next); err != nil || n.OrderID != order || n.Type != schema.ReviewHearingType {
		t.Fatalf("rescheduled hearing = %+v, %v; want still of order %s", n, err, order)
	}

	other := holdClient(t, d)
	theirs, err := d.RecordOrder(ctx, other, drr())
	must(t, err)
	if err := d.Delete(ctx, c, order, "entered in error"); !errors.Is(err, ErrInvalid) {
		t.Errorf("a worker deleting an order: %v, want refused (only supervisors and admins delete orders)", err)
	}
	for _, tc := range []struct {
		name    string
		orderID string
		typ     string
		want    error
	}{
		{"keywork type", order, "keywork", ErrInvalid},
		{"another client's order", theirs, "", ErrNotFound},
		{"no such order", newID(), "", ErrNotFound},
		{"an appointment, not an order", id, "", ErrNotFound},
	} {
		if _, err := d.BookReviewHearing(ctx, c, tc.orderID, Appointment{Type: tc.typ, StartsAt: day0}); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
}
