package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// A worker books an appointment with no signal, the client misses it, and
// the worker records the DNA with its reason, still offline. When the
// tablet reconnects, the supervisor's sync shows the missed appointment and
// why, and the contact logged with it.
func TestSDKOfflineDNAReachesSupervisor(t *testing.T) {
	s := startServer(t)
	a := newArea(t, s)
	ctx := context.Background()
	team := a.team("Lambeth Outreach")
	sup := a.enrol(v1.Role_ROLE_SUPERVISOR, team)
	worker := a.enrol(v1.Role_ROLE_WORKER, team)
	client := a.client(team, "Sam", "Jones")
	a.assign(client, worker)
	worker.mustSync(t)
	sup.mustSync(t)

	// Offline from here until the reconnect.
	start := time.Now().Add(-3 * time.Hour).Truncate(time.Second)
	id, err := worker.BookAppointment(ctx, client, caseload.Appointment{Type: "required_assessment", StartsAt: start, DurationMinutes: 60,
		WithWhom: "Lambeth Recovery Service", Place: "Brixton Hill"})
	if err != nil {
		t.Fatalf("booking offline: %v", err)
	}
	overdue, err := worker.Overdue(ctx)
	if err != nil || len(overdue.Appointments) != 1 || overdue.Appointments[0].ID != id || overdue.Appointments[0].ClientName != "Sam Jones" {
		t.Fatalf("offline Overdue = %+v (%v), want the booked appointment with Sam Jones", overdue, err)
	}
	contact, err := worker.RecordAttendance(ctx, client, id, caseload.Outcome{DNAReason: "in_custody", Contact: &caseload.Contact{
		OccurredAt: start.Add(time.Hour), Category: "general", Mode: "phone", Outcome: "Custody suite confirmed he was held overnight"}})
	if err != nil {
		t.Fatalf("recording the DNA offline: %v", err)
	}
	if st := worker.Status(); st.Pending == 0 {
		t.Fatalf("status %+v: nothing pending after offline work", st)
	}

	if rep := worker.mustSync(t); rep.Rejected != 0 || worker.Status().Pending != 0 {
		t.Fatalf("reconnect sync %+v, status %+v", rep, worker.Status())
	}
	sup.mustSync(t)
	tl, err := sup.Timeline(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	if len(tl.Appointments) != 1 {
		t.Fatalf("the supervisor sees appointments %+v, want the one booked", tl.Appointments)
	}
	got := tl.Appointments[0]
	if got.ID != id || got.Status != "did_not_attend" || got.DNAReason != "in_custody" || got.ContactID != contact ||
		got.Author != worker.UserID() || got.Pending || !got.StartsAt.Equal(start) {
		t.Fatalf("the supervisor sees %+v, want %s missed (in_custody), booked by %s, with contact %s", got, id, worker.UserID(), contact)
	}
	if len(tl.Contacts) != 1 || tl.Contacts[0].ID != contact {
		t.Fatalf("the supervisor sees contacts %+v, want the DNA's contact %s", tl.Contacts, contact)
	}
	agenda, err := sup.Agenda(ctx, start.Add(-time.Hour), start.Add(time.Hour))
	if err != nil || len(agenda) != 1 || agenda[0].Status != "did_not_attend" {
		t.Fatalf("the supervisor's Agenda = %+v (%v), want the DNA", agenda, err)
	}
}
