package e2e

// A tablet's offline queue always syncs: however long the day, wherever a
// push limit falls, whatever the size of the notes, and whatever happened
// to an earlier push's answer.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// contactShapes are contacts of every size LogContact writes, largest
// first: 12, 9, 8, 6 and 4 changes (the 4 required fields lead).
var contactShapes = []caseload.Contact{
	{Category: "drug_test", Mode: "office", Outcome: "Tested at the hub", Notes: "Agreed a reduction plan", DurationMinutes: 15,
		TestResult: "positive", Substances: []string{"opiates", "cocaine", "cannabis"}},
	{Category: "employment", Mode: "phone", Outcome: "Started a course", Notes: "Course at the college", DurationMinutes: 20, ETEStatusAfter: "in_training"},
	{Category: "treatment_attendance", Mode: "community", Attendance: "attended", Provider: "Lambeth Recovery Service", Notes: "Keeps going"},
	{Category: "housing", Mode: "home_visit", Outcome: "Viewed a flat", HousingStatusAfter: "temporary_accommodation"},
	{Category: "general", Mode: "phone"},
}

// largestContact is the change count of contactShapes[0] with the
// follow-up date logContact adds.
const largestContact = 12

// logContact logs contact i of a day in shape i (mod the shapes), with a
// follow-up date on the largest.
func logContact(t *testing.T, d *device, client string, i int, day time.Time) string {
	t.Helper()
	c := contactShapes[i%len(contactShapes)]
	c.OccurredAt = day.Add(time.Duration(i) * time.Minute)
	if i%len(contactShapes) == 0 {
		c.FollowUp = caseload.DateOf(day.AddDate(0, 0, 7))
	}
	id, err := d.LogContact(context.Background(), client, c)
	if err != nil {
		t.Fatalf("LogContact %d: %v", i, err)
	}
	return id
}

// holdsExactly fails unless the device shows exactly the logged contacts
// for the client.
func holdsExactly(t *testing.T, who string, d *device, client string, logged []string) {
	t.Helper()
	have := contactIDs(t, d, client)
	if len(have) != len(logged) || countIn(have, logged) != len(logged) {
		t.Fatalf("%s shows %d contacts, %d of the %d logged", who, len(have), countIn(have, logged), len(logged))
	}
}

// outboxWorld is a worker with two clients and their supervisor, synced.
type outboxWorld struct {
	a      *area
	w, sup *device
	c1, c2 string
}

func newOutboxWorld(t *testing.T, s *server) *outboxWorld {
	t.Helper()
	a := newArea(t, s)
	team := a.team("Lambeth Outreach")
	o := &outboxWorld{a: a, w: a.enrol(v1.Role_ROLE_WORKER, team), sup: a.enrol(v1.Role_ROLE_SUPERVISOR, team)}
	o.c1, o.c2 = a.client(team, "Sam", "Jones"), a.client(team, "Alex", "Smith")
	a.assign(o.c1, o.w)
	a.assign(o.c2, o.w)
	o.w.mustSync(t)
	o.sup.mustSync(t)
	return o
}

// A worker logs 2,000 contacts with no signal (about 15,000 field changes,
// thirty pushes); one sync sends them all and the supervisor sees every
// one. The SDK used to cut pushes every 500 changes, inside a contact, and
// the server refused such a push whole, every time.
func TestSDKLongOfflineDaySyncs(t *testing.T) {
	s := startServer(t)
	o := newOutboxWorld(t, s)
	day := time.Now().Add(-12 * time.Hour)
	logged := map[string][]string{}
	for i := range 2000 {
		c := o.c1
		if i%2 == 1 {
			c = o.c2
		}
		logged[c] = append(logged[c], logContact(t, o.w, c, i, day))
	}
	pending := o.w.Status().Pending
	rep, err := o.w.Sync(context.Background())
	if err != nil {
		t.Fatalf("sync of a long offline day: %v", err)
	}
	if rep.Accepted != pending || rep.Rejected != 0 || o.w.Status().Pending != 0 {
		t.Fatalf("sync %+v, status %+v: want all %d changes accepted", rep, o.w.Status(), pending)
	}
	o.sup.mustSync(t)
	for _, c := range []string{o.c1, o.c2} {
		holdsExactly(t, "the worker", o.w, c, logged[c])
		holdsExactly(t, "the supervisor", o.sup, c, logged[c])
	}
	t.Logf("2,000 contacts, %d changes, synced in one Sync", pending)
}

// Whatever the push limit, wherever it falls inside a contact's changes
// (every place inside the largest, which is logged first), the queue syncs.
func TestSDKPushLimitInsideAContact(t *testing.T) {
	s := startServer(t)
	o := newOutboxWorld(t, s)
	day := time.Now().Add(-12 * time.Hour)
	var logged []string
	for batch := 1; batch <= largestContact+2; batch++ {
		t.Run(fmt.Sprintf("PushBatch=%d", batch), func(t *testing.T) {
			must(t, o.w.Close())
			o.w.tune = func(c *caseload.Config) { c.PushBatch = batch }
			o.w.reopen(t, o.a.url)
			at := day.Add(time.Duration(batch) * time.Hour)
			before := o.w.Status().Pending
			for i := range 2 * len(contactShapes) {
				logged = append(logged, logContact(t, o.w, o.c1, i, at))
				if n := o.w.Status().Pending - before; i == 0 && n != largestContact {
					t.Fatalf("the largest contact has %d changes, want %d", n, largestContact)
				}
			}
			rep, err := o.w.Sync(context.Background())
			if err != nil {
				t.Fatalf("sync with PushBatch %d: %v", batch, err)
			}
			if rep.Rejected != 0 || o.w.Status().Pending != 0 {
				t.Fatalf("sync %+v, status %+v", rep, o.w.Status())
			}
		})
	}
	o.sup.mustSync(t)
	holdsExactly(t, "the supervisor", o.sup, o.c1, logged)
}

// Pushes stay under the server's request size: contacts with long notes,
// which fit 500 to a push only in a few MiB, sync through a server that
// takes 64 KiB requests.
func TestSDKPushBytesLimit(t *testing.T) {
	const limit = 64 << 10
	s := startServer(t, "--max-request-bytes", fmt.Sprint(limit))
	o := newOutboxWorld(t, s)
	must(t, o.w.Close())
	o.w.tune = func(c *caseload.Config) { c.ServerMaxRequestBytes = limit }
	o.w.reopen(t, o.a.url)
	day := time.Now().Add(-12 * time.Hour)
	var logged []string
	for i := range 40 {
		c := caseload.Contact{OccurredAt: day.Add(time.Duration(i) * time.Minute), Category: "general", Mode: "office",
			Notes: strings.Repeat(fmt.Sprintf("Long session %02d. ", i), 10_000/18)}
		id, err := o.w.LogContact(context.Background(), o.c1, c)
		must(t, err)
		logged = append(logged, id)
	}
	rep, err := o.w.Sync(context.Background())
	if err != nil {
		t.Fatalf("sync of %d contacts with long notes: %v", len(logged), err)
	}
	if rep.Rejected != 0 || o.w.Status().Pending != 0 {
		t.Fatalf("sync %+v, status %+v", rep, o.w.Status())
	}
	o.sup.mustSync(t)
	holdsExactly(t, "the supervisor", o.sup, o.c1, logged)
}

// The server applies a push but its answer is lost; the app restarts with
// another push limit, so the queue is regrouped and resent: the server
// answers what it already holds as duplicates (by device_seq, never
// renumbered), takes the rest, and holds every contact once.
func TestSDKLostAnswerThenRegrouped(t *testing.T) {
	s := startServer(t)
	proxy := newFaultProxy(t, s.URL, 11)
	a := newArea(t, s)
	a.url = proxy.URL
	team := a.team("Lambeth Outreach")
	w, sup := a.enrol(v1.Role_ROLE_WORKER, team), a.enrol(v1.Role_ROLE_SUPERVISOR, team)
	c := a.client(team, "Sam", "Jones")
	a.assign(c, w)
	w.mustSync(t)
	must(t, w.Close())
	w.tune = func(cfg *caseload.Config) { cfg.PushBatch = 50 }
	w.reopen(t, a.url)

	day := time.Now().Add(-12 * time.Hour)
	var logged []string
	for i := range 60 {
		logged = append(logged, logContact(t, w, c, i, day))
	}
	pending := w.Status().Pending
	proxy.Set(Faults{DropResponse: 1})
	if _, err := w.Sync(context.Background()); err == nil {
		t.Fatal("sync succeeded though its answer was lost")
	}
	proxy.Set(Faults{})
	if got := w.Status().Pending; got != pending {
		t.Fatalf("pending %d after a lost answer, want %d", got, pending)
	}

	must(t, w.Close())
	w.tune = func(cfg *caseload.Config) { cfg.PushBatch = 7 }
	w.reopen(t, a.url)
	rep := w.mustSync(t)
	if rep.Accepted != pending || rep.Rejected != 0 || w.Status().Pending != 0 {
		t.Fatalf("sync %+v, status %+v: want all %d changes accepted", rep, w.Status(), pending)
	}
	sup.mustSync(t)
	holdsExactly(t, "the supervisor", sup, c, logged)
	if proxy.Counts()["drop_response"] == 0 {
		t.Fatal("no answer was lost")
	}
}
