package review

import (
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// TestStatisticsQuietAndUnbooked pins the quiet and unbooked lists: days
// from the last live contact before the period's end (or from when the
// client was added), the threshold counted inclusively, clients added
// after the period or closed left out, and their orders (quiet: longest
// first, then by id; unbooked: by name). It also pins that of two housing
// statuses recorded at one instant the later change is the last.
func TestStatisticsQuietAndUnbooked(t *testing.T) {
	w := newWorld(t)
	feb := func(day, hour int) time.Time { return time.Date(2026, 2, day, hour, 0, 0, 0, time.UTC) }
	housing := func(v string) sample.Field { return sample.Field{Name: "housing_status_after", Value: sample.Str(v)} }
	// c1: two statuses at one instant, 9 days 14 hours before the end.
	w.contact(w.dev1, w.c1, feb(10, 10), "housing", housing("hostel"))
	w.contact(w.dev1, w.c1, feb(10, 10), "housing", housing("settled_tenancy"))
	// c2: only a contact after the period: quiet since added (1 January).
	w.contact(w.dev1, w.c2, feb(21, 10), "general")
	// c3: no contact, but an appointment booked after the period.
	w.appointment(w.dev2, w.c3, feb(25, 10), "keywork", "booked", "")
	// c6: exactly 14 days; a later contact is deleted.
	w.contact(w.dev1, w.c6, feb(6, 0), "general")
	gone := w.contact(w.dev1, w.c6, feb(19, 10), "general")
	w.edit(w.dev1, "contact", w.c6, gone, "deleted", sample.Tombstone("entered_in_error"), nil)
	// c4 was added 1 March, after the period; c5 is closed.

	got, err := w.svc.GetStatistics(w.ctx, w.adminA, &v1.GetStatisticsRequest{From: timestamppb.New(feb(1, 0)), To: timestamppb.New(feb(20, 0))})
	if err != nil {
		t.Fatal(err)
	}
	ts := timestamppb.New
	c2, c3 := &v1.QuietClient{ClientId: w.c2, ClientName: "Jo Jones", Days: 50}, &v1.QuietClient{ClientId: w.c3, ClientName: "Kelly Evans", Days: 50}
	if c3.ClientId < c2.ClientId {
		c2, c3 = c3, c2
	}
	want := &v1.GetStatisticsResponse{
		Quiet: []*v1.QuietClient{c2, c3, {ClientId: w.c6, ClientName: "Lee Brown", LastContact: ts(feb(6, 0)), Days: 14}},
		Unbooked: []*v1.QuietClient{
			{ClientId: w.c1, ClientName: "Alex Smith", LastContact: ts(feb(10, 10)), Days: 9},
			{ClientId: w.c2, ClientName: "Jo Jones", Days: 50},
			{ClientId: w.c6, ClientName: "Lee Brown", LastContact: ts(feb(6, 0)), Days: 14},
		},
		Housing:  []*v1.Movement{{From: "hostel", To: "settled_tenancy", Clients: 1}},
		Contacts: 3,
		Clients:  6,
	}
	got.Weekly, got.Attendance, got.Appointments, got.AttendanceDefinition = nil, nil, nil, ""
	if !proto.Equal(got, want) {
		t.Fatalf("statistics:\n got %s\nwant %s", prototext.Format(got), prototext.Format(want))
	}
}
