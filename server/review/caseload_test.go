package review

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/servertest/fixture"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// caseloadWorld is the review world with w1 assigned to c1, c2 and c6 and
// something on each of their records (the clock stands at 16 March 12:00):
//
//	c1 Alex Smith, born 31/01/1990: seen 10 March; a keywork DNA on the
//	   9th (forgot); a booked one on the 12th with no outcome; the next
//	   booked on the 18th (and a later one on the 25th).
//	c2 Jo Jones: seen 5 March, follow-up due the 12th; a conflict on the
//	   client record; an open query about the contact.
//	c6 Lee Brown: seen 1 February.
func caseloadWorld(t *testing.T) *world {
	w := newWorld(t)
	if err := w.st.Directory(w.ctx, func(tx store.DirTx) error {
		for _, c := range []string{w.c1, w.c2, w.c6} {
			if err := tx.PutAssignment(&store.Assignment{ClientID: c, UserID: w.w1.UserID, From: at(1, 0).AddDate(0, -2, 0)}); err != nil {
				return err
			}
		}
		// An ended assignment is not a current worker.
		return tx.PutAssignment(&store.Assignment{ClientID: w.c1, UserID: w.w2.UserID, From: at(1, 0).AddDate(0, -2, 0), To: at(1, 0)})
	}); err != nil {
		t.Fatal(err)
	}
	w.edit(w.dev1, "client", w.c1, w.c1, "date_of_birth", sample.Date(1990, 1, 31), nil)
	w.contact(w.dev1, w.c1, at(10, 10), "general")
	w.appointment(w.dev1, w.c1, at(9, 10), "keywork", "did_not_attend", "forgot")
	w.appointment(w.dev1, w.c1, at(12, 10), "keywork", "booked", "")
	w.appointment(w.dev1, w.c1, at(25, 10), "keywork", "booked", "")
	w.appointment(w.dev1, w.c1, at(18, 10), "court", "booked", "")
	k := w.contact(w.dev1, w.c2, at(5, 10), "general", sample.Field{Name: "follow_up_date", Value: sample.Date(2026, 3, 12)})
	conflictOnClient(t, w, w.c2)
	if _, err := w.svc.ReviewContact(w.ctx, w.supA1, &v1.ReviewContactRequest{ClientId: w.c2, ContactId: k,
		Decision: v1.ReviewDecision_REVIEW_DECISION_QUERY, Comment: "Did the follow-up happen?"}); err != nil {
		t.Fatal(err)
	}
	w.contact(w.dev1, w.c6, at(1, 10).AddDate(0, -1, 0), "general")
	return w
}

func TestCaseload(t *testing.T) {
	w := caseloadWorld(t)
	ts := timestamppb.New
	sam := []*v1.Person{{UserId: w.w1.UserID, DisplayName: "Sam Worker"}}
	alex := &v1.CaseloadClient{ClientId: w.c1, ClientName: "Alex Smith", TeamId: w.teamA1, TeamName: "North", Workers: sam,
		DateOfBirth: &v1.Date{Year: 1990, Month: 1, Day: 31}, Status: "active", LastContact: ts(at(10, 10)),
		NextAppointment: ts(at(18, 10)), NextAppointmentType: "court", MissedAppointments: 1, LastMissed: ts(at(9, 10)), OverdueAppointments: 1}
	jo := &v1.CaseloadClient{ClientId: w.c2, ClientName: "Jo Jones", TeamId: w.teamA1, TeamName: "North", Workers: sam, Status: "active",
		LastContact: ts(at(5, 10)), OverdueFollowUps: 1, OpenConflicts: 1, OpenQueries: 1}
	lee := &v1.CaseloadClient{ClientId: w.c6, ClientName: "Lee Brown", TeamId: w.teamA1, TeamName: "North", Workers: sam, Status: "active",
		LastContact: ts(at(1, 10).AddDate(0, -1, 0))}
	resp, err := w.svc.GetCaseload(w.ctx, w.supA1, &v1.GetCaseloadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	want := &v1.GetCaseloadResponse{Clients: []*v1.CaseloadClient{lee, jo, alex}, Total: 3,
		TopSchedule: &v1.TOPSchedule{IntervalMonths: 3, WindowDays: 14}} // by family name
	if !proto.Equal(resp, want) {
		t.Fatalf("the supervisor's caseload:\n got %s\nwant %s", prototext.Format(resp), prototext.Format(want))
	}
	names := func(req *v1.GetCaseloadRequest) []string {
		t.Helper()
		resp, err := w.svc.GetCaseload(w.ctx, w.supA1, req)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range resp.GetClients() {
			out = append(out, c.GetClientName())
		}
		return out
	}
	for _, tc := range []struct {
		name string
		req  *v1.GetCaseloadRequest
		want []string
	}{
		{"a name", &v1.GetCaseloadRequest{Search: "alex"}, []string{"Alex Smith"}},
		{"a family name, shouting", &v1.GetCaseloadRequest{Search: "JONES"}, []string{"Jo Jones"}},
		{"initials", &v1.GetCaseloadRequest{Search: "lb"}, []string{"Lee Brown"}},
		{"a date of birth", &v1.GetCaseloadRequest{Search: "31/01/1990"}, []string{"Alex Smith"}},
		{"another team's client", &v1.GetCaseloadRequest{Search: "Kelly"}, nil},
		{"pasted junk", &v1.GetCaseloadRequest{Search: "Robert'); DROP TABLE clients; --\x00\xff"}, nil},
		{"punctuation only", &v1.GetCaseloadRequest{Search: "\x00\xff'; --"}, []string{"Lee Brown", "Jo Jones", "Alex Smith"}},
		{"last contact", &v1.GetCaseloadRequest{Sort: v1.CaseloadSort_CASELOAD_SORT_LAST_CONTACT}, []string{"Lee Brown", "Jo Jones", "Alex Smith"}},
		{"next appointment", &v1.GetCaseloadRequest{Sort: v1.CaseloadSort_CASELOAD_SORT_NEXT_APPOINTMENT}, []string{"Alex Smith", "Lee Brown", "Jo Jones"}},
		{"overdue", &v1.GetCaseloadRequest{Sort: v1.CaseloadSort_CASELOAD_SORT_OVERDUE}, []string{"Alex Smith", "Jo Jones", "Lee Brown"}},
		{"name, descending", &v1.GetCaseloadRequest{Descending: true}, []string{"Alex Smith", "Jo Jones", "Lee Brown"}},
		{"last contact, descending", &v1.GetCaseloadRequest{Sort: v1.CaseloadSort_CASELOAD_SORT_LAST_CONTACT, Descending: true},
			[]string{"Alex Smith", "Jo Jones", "Lee Brown"}},
	} {
		if got := names(tc.req); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}

	// The admin's reach: every open client of the area; closed ones on request.
	for _, tc := range []struct {
		closed bool
		want   int
	}{{false, 5}, {true, 6}} {
		resp, err := w.svc.GetCaseload(w.ctx, w.adminA, &v1.GetCaseloadRequest{IncludeClosed: tc.closed})
		if err != nil || len(resp.GetClients()) != tc.want || resp.GetTotal() != 6 {
			t.Errorf("the admin's caseload (closed %v): %d clients of %d, %v; want %d of 6", tc.closed, len(resp.GetClients()), resp.GetTotal(), err, tc.want)
		}
	}
	_, err = w.svc.GetCaseload(w.ctx, w.w1, &v1.GetCaseloadRequest{})
	wantKind(t, "a worker", err, errkind.Forbidden)
	_, err = w.svc.GetCaseload(w.ctx, w.supA1, &v1.GetCaseloadRequest{TeamId: w.teamA2})
	wantKind(t, "another team", err, errkind.NotFound)
	_, err = w.svc.GetCaseload(w.ctx, w.supA1, &v1.GetCaseloadRequest{Sort: 99})
	wantKind(t, "an unknown order", err, errkind.Invalid)

	// Each view is audited with the clients it showed.
	var last *store.Audit
	for _, a := range fixture.AreaAudit(t, w.st, w.areaA) {
		if a.UserID == w.supA1.UserID && a.Action == store.AuditViewContacts {
			last = a
		}
	}
	wantIDs := []string{w.c1, w.c2, w.c6}
	slices.Sort(wantIDs)
	if last == nil || !slices.Equal(slices.Sorted(slices.Values(last.ClientIDs)), wantIDs) || last.Count != 3 {
		t.Errorf("the supervisor's last view is audited as %+v", last)
	}

	// A client deleted (entered in error) is neither listed nor counted.
	w.edit(w.dev1, "client", w.c6, w.c6, "deleted", sample.Tombstone("entered_in_error"), nil)
	resp, err = w.svc.GetCaseload(w.ctx, w.adminA, &v1.GetCaseloadRequest{IncludeClosed: true})
	if err != nil || len(resp.GetClients()) != 5 || resp.GetTotal() != 5 {
		t.Errorf("after a deletion: %d clients of %d, %v; want 5 of 5", len(resp.GetClients()), resp.GetTotal(), err)
	}
}

// Missed appointments count over the MissedWindow only, and a deleted one
// not at all.
func TestCaseloadMissedWindow(t *testing.T) {
	w := newWorld(t)
	w.appointment(w.dev1, w.c1, w.clock.Now().Add(-MissedWindow-time.Hour), "keywork", "did_not_attend", "unwell")
	gone := w.appointment(w.dev1, w.c1, at(2, 10), "keywork", "did_not_attend", "unwell")
	w.edit(w.dev1, "appointment", w.c1, gone, "deleted", sample.Tombstone("entered_in_error"), nil)
	resp, err := w.svc.GetCaseload(w.ctx, w.supA1, &v1.GetCaseloadRequest{Search: "Alex"})
	if err != nil || len(resp.GetClients()) != 1 || resp.GetClients()[0].GetMissedAppointments() != 0 {
		t.Fatalf("GetCaseload = %v, %v; want Alex with no missed appointment", resp, err)
	}
}

// A second view reads what changed since the first (the summaries are
// kept by bucket head), and what is due is worked out at each view's time.
func TestCaseloadSeesChangesAndTime(t *testing.T) {
	w := newWorld(t)
	alex := func() *v1.CaseloadClient {
		t.Helper()
		resp, err := w.svc.GetCaseload(w.ctx, w.supA1, &v1.GetCaseloadRequest{Search: "Alex"})
		if err != nil || len(resp.GetClients()) != 1 {
			t.Fatalf("GetCaseload = %v, %v", resp, err)
		}
		return resp.GetClients()[0]
	}
	if a := alex(); a.GetNextAppointment() != nil || a.GetMissedAppointments() != 0 {
		t.Fatalf("before: %v", a)
	}
	booked := w.appointment(w.dev1, w.c1, at(17, 10), "keywork", "booked", "")
	if a := alex(); !a.GetNextAppointment().AsTime().Equal(at(17, 10)) || a.GetOverdueAppointments() != 0 {
		t.Fatalf("after booking: %v", a)
	}
	w.clock.Advance(48 * time.Hour) // past the appointment, no outcome yet
	if a := alex(); a.GetNextAppointment() != nil || a.GetOverdueAppointments() != 1 {
		t.Fatalf("two days on: %v", a)
	}
	w.edit(w.dev1, "appointment", w.c1, booked, "status", sample.Str("did_not_attend"), nil)
	if a := alex(); a.GetOverdueAppointments() != 0 || a.GetMissedAppointments() != 1 || !a.GetLastMissed().AsTime().Equal(at(17, 10)) {
		t.Fatalf("after the DNA: %v", a)
	}
	w.edit(w.dev1, "client", w.c1, w.c1, "given_name", sample.Str("Alexis"), nil)
	if a := alex(); a.GetClientName() != "Alexis Smith" {
		t.Fatalf("after the rename: %v", a)
	}
}

// Every kind of write made after a cached view shows in the next one: a
// new contact, an appointment's status, a reassignment (a directory change,
// not in the bucket) and the client closed.
func TestCaseloadCacheSeesWrites(t *testing.T) {
	w := newWorld(t)
	start := at(1, 0).AddDate(0, -2, 0)
	assign := func(a *store.Assignment) {
		t.Helper()
		if err := w.st.Directory(w.ctx, func(tx store.DirTx) error { return tx.PutAssignment(a) }); err != nil {
			t.Fatal(err)
		}
	}
	sam := &store.Assignment{ClientID: w.c1, UserID: w.w1.UserID, From: start}
	assign(sam)
	view := func(includeClosed bool) *v1.CaseloadClient {
		t.Helper()
		resp, err := w.svc.GetCaseload(w.ctx, w.supA1, &v1.GetCaseloadRequest{Search: "Alex", IncludeClosed: includeClosed})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetClients()) != 1 {
			return nil
		}
		return resp.GetClients()[0]
	}
	workers := func(c *v1.CaseloadClient) []string {
		var out []string
		for _, p := range c.GetWorkers() {
			out = append(out, p.GetDisplayName())
		}
		return out
	}
	booked := w.appointment(w.dev1, w.c1, at(20, 10), "keywork", "booked", "")
	if c := view(false); c == nil || !c.GetNextAppointment().AsTime().Equal(at(20, 10)) || c.GetLastContact() != nil {
		t.Fatalf("first view: %v", c)
	}
	for _, tc := range []struct {
		name  string
		write func()
		check func(c *v1.CaseloadClient) bool
	}{
		{"a new contact", func() { w.contact(w.dev1, w.c1, at(15, 10), "general") },
			func(c *v1.CaseloadClient) bool { return c.GetLastContact().AsTime().Equal(at(15, 10)) }},
		{"an appointment cancelled", func() { w.edit(w.dev1, "appointment", w.c1, booked, "status", sample.Str("cancelled"), nil) },
			func(c *v1.CaseloadClient) bool { return c.GetNextAppointment() == nil }},
		{"a reassignment", func() {
			ended := *sam
			ended.To = at(16, 0)
			assign(&ended)
			assign(&store.Assignment{ClientID: w.c1, UserID: w.w2.UserID, From: at(16, 0)})
		}, func(c *v1.CaseloadClient) bool { return slices.Equal(workers(c), []string{"Ali Worker"}) }},
		{"the client closed", func() { w.edit(w.dev1, "client", w.c1, w.c1, "status", sample.Str("closed"), nil) },
			func(c *v1.CaseloadClient) bool {
				return c.GetStatus() == "closed" && view(false) == nil
			}},
	} {
		if c := view(true); c == nil || tc.check(c) {
			t.Fatalf("%s: already so before the write: %v", tc.name, c)
		}
		tc.write()
		if c := view(true); c == nil || !tc.check(c) {
			t.Errorf("%s: not in the next view: %v", tc.name, c)
		}
	}
}
