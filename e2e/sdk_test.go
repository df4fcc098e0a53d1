package e2e

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// A worker logs a day of contacts with no signal; when the tablet
// reconnects the supervisor sees every one of them, and the other worker
// (another caseload) sees none.
func TestSDKOfflineDayReachesSupervisor(t *testing.T) {
	s := startServer(t)
	a := newArea(t, s)
	ctx := context.Background()
	team := a.team("Lambeth Outreach")
	sup := a.enrol(v1.Role_ROLE_SUPERVISOR, team)
	w1, w2 := a.enrol(v1.Role_ROLE_WORKER, team), a.enrol(v1.Role_ROLE_WORKER, team)
	c1, c2 := a.client(team, "Sam", "Jones"), a.client(team, "Alex", "Smith")
	a.assign(c1, w1)
	a.assign(c2, w2)
	for _, d := range []*device{sup, w1, w2} {
		d.mustSync(t)
	}
	if got := clientIDs(t, w1); !slices.Equal(got, []string{c1}) {
		t.Fatalf("worker 1 holds %v, want only their client", got)
	}

	// Offline: nothing is synced while the day's contacts are logged.
	morning := time.Now().Add(-8 * time.Hour)
	var logged []string
	for i, c := range []caseload.Contact{
		{Category: "housing", Mode: "home_visit", Outcome: "Discussed tenancy arrears", HousingStatusAfter: "temporary_accommodation"},
		{Category: "treatment_attendance", Mode: "community", Attendance: "attended", Provider: "Lambeth Recovery Service"},
		{Category: "drug_test", Mode: "office", TestResult: "positive", Substances: []string{"opiates", "cocaine"}},
		{Category: "employment", Mode: "phone", ETEStatusAfter: "in_training", DurationMinutes: 20},
	} {
		c.OccurredAt = morning.Add(time.Duration(i) * 2 * time.Hour)
		id, err := w1.LogContact(ctx, c1, c)
		if err != nil {
			t.Fatalf("LogContact %s: %v", c.Category, err)
		}
		logged = append(logged, id)
	}
	if st := w1.Status(); st.Pending == 0 {
		t.Fatalf("status %+v: nothing pending after offline work", st)
	}
	tl, err := w1.Timeline(ctx, c1)
	if err != nil {
		t.Fatal(err)
	}
	if len(tl.Contacts) != 4 || !tl.Contacts[0].Pending || tl.Contacts[0].Category != "employment" {
		t.Fatalf("offline timeline %+v: want 4 pending contacts, newest first", tl.Contacts)
	}

	rep := w1.mustSync(t)
	if rep.Accepted == 0 || rep.Rejected != 0 || w1.Status().Pending != 0 {
		t.Fatalf("reconnect sync %+v, status %+v", rep, w1.Status())
	}
	sup.mustSync(t)
	tl, err = sup.Timeline(ctx, c1)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, c := range tl.Contacts {
		seen = append(seen, c.ID)
		if c.Author != w1.UserID() || c.Pending {
			t.Errorf("supervisor sees contact %+v: want author %s, not pending", c, w1.UserID())
		}
	}
	slices.Sort(seen)
	slices.Sort(logged)
	if !slices.Equal(seen, logged) {
		t.Fatalf("supervisor sees %v, want %v", seen, logged)
	}
	drug := tl.Contacts[1]
	if drug.TestResult != "positive" || !slices.Equal(drug.Substances, []string{"cocaine", "opiates"}) {
		t.Fatalf("drug test arrived as %+v", drug)
	}
	w2.mustSync(t)
	if _, err := w2.Timeline(ctx, c1); !errors.Is(err, caseload.ErrNotFound) {
		t.Fatalf("another worker's device holds the client: %v", err)
	}
}

// Two devices edit the same client offline, then sync in either order:
// every device converges; the same field edited on both keeps both values
// as a conflict, different fields simply merge.
func TestSDKConcurrentEditsConverge(t *testing.T) {
	for _, order := range []string{"worker first", "supervisor first"} {
		t.Run(order, func(t *testing.T) {
			s := startServer(t)
			a := newArea(t, s)
			ctx := context.Background()
			team := a.team("Hackney Outreach")
			sup := a.enrol(v1.Role_ROLE_SUPERVISOR, team)
			w := a.enrol(v1.Role_ROLE_WORKER, team)
			c := a.client(team, "Jo", "Taylor")
			a.assign(c, w)
			w.mustSync(t)
			sup.mustSync(t)

			// Same field on both; different fields on each.
			must(t, w.UpdateClient(ctx, c, caseload.Edit{Field: "housing_status", Value: caseload.String("temporary_accommodation")},
				caseload.Edit{Field: "treatment_provider", Value: caseload.String("Hackney Recovery Service")}))
			must(t, sup.UpdateClient(ctx, c, caseload.Edit{Field: "housing_status", Value: caseload.String("settled_tenancy")},
				caseload.Edit{Field: "keyworker_notes", Value: caseload.String("Moved in with sister.")}))

			first, second := w, sup
			if order == "supervisor first" {
				first, second = sup, w
			}
			first.mustSync(t)
			second.mustSync(t)
			first.mustSync(t)

			cw, err := w.Client(ctx, c)
			must(t, err)
			cs, err := sup.Client(ctx, c)
			must(t, err)
			if cw.HousingStatus != cs.HousingStatus || cw.TreatmentProvider != "Hackney Recovery Service" || cs.TreatmentProvider != cw.TreatmentProvider ||
				cw.KeyworkerNotes != "Moved in with sister." || cs.KeyworkerNotes != cw.KeyworkerNotes {
				t.Fatalf("devices disagree:\nworker     %+v\nsupervisor %+v", cw, cs)
			}
			for _, got := range [][]caseload.Conflict{cw.Conflicts, cs.Conflicts} {
				if len(got) != 1 || got[0].Field != "housing_status" {
					t.Fatalf("conflicts %+v, want one on housing_status", got)
				}
				vals := []string{got[0].Current.Value, got[0].Incoming.Value}
				slices.Sort(vals)
				if !slices.Equal(vals, []string{"settled_tenancy", "temporary_accommodation"}) {
					t.Fatalf("conflict keeps %v, want both values", vals)
				}
			}
		})
	}
}

// A device is offline when its client is reassigned. On reconnect the
// contact it logged before is kept (and flagged late, in the review
// console's late filter and timeline), the one logged after is refused
// with a reason the user can read, and the client is purged from the
// device.
func TestSDKReassignedWhileOffline(t *testing.T) {
	s := startServer(t)
	a := newArea(t, s)
	ctx := context.Background()
	team := a.team("Southwark Outreach")
	w1, w2 := a.enrol(v1.Role_ROLE_WORKER, team), a.enrol(v1.Role_ROLE_WORKER, team)
	sup := a.enrol(v1.Role_ROLE_SUPERVISOR, team)
	c := a.client(team, "Chris", "Brown")
	a.assign(c, w1)
	w1.mustSync(t)

	before, err := w1.LogContact(ctx, c, caseload.Contact{OccurredAt: time.Now(), Category: "family", Mode: "home_visit", Outcome: "Sees children at weekends"})
	must(t, err)
	a.unassign(c, w1)
	a.assign(c, w2)
	// The next contact is made a minute later, well after access ended
	// (the device's clock moves on; the server's skew bound is minutes).
	w1.shift.Store(int64(time.Minute))
	after, err := w1.LogContact(ctx, c, caseload.Contact{OccurredAt: time.Now(), Category: "general", Mode: "phone", Outcome: "Rang about appointment"})
	must(t, err)

	rep := w1.mustSync(t)
	if rep.Late == 0 || rep.Rejected == 0 || rep.Evicted != 1 {
		t.Fatalf("reconnect %+v: want late work accepted, later work refused, the client evicted", rep)
	}
	rej, err := w1.Rejections(ctx)
	must(t, err)
	if len(rej) == 0 {
		t.Fatal("no rejections kept")
	}
	for _, r := range rej {
		if r.RecordID != after || r.Reason != "access_ended" || r.Message == "" {
			t.Fatalf("rejection %+v: want the later contact, access_ended, with a message", r)
		}
	}
	if _, err := w1.Timeline(ctx, c); !errors.Is(err, caseload.ErrNotFound) {
		t.Fatalf("the client is still on the device: %v", err)
	}
	if got := clientIDs(t, w1); len(got) != 0 {
		t.Fatalf("device still lists %v", got)
	}
	for _, d := range []*device{w2, sup} {
		d.mustSync(t)
		tl, err := d.Timeline(ctx, c)
		must(t, err)
		var ids []string
		for _, x := range tl.Contacts {
			ids = append(ids, x.ID)
		}
		if !slices.Equal(ids, []string{before}) {
			t.Fatalf("contacts %v, want only the one logged before the reassignment", ids)
		}
	}
	a.wantLateForReview(c, before)
}

func clientIDs(t *testing.T, d *device) []string {
	t.Helper()
	cs, err := d.Clients(context.Background())
	must(t, err)
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
