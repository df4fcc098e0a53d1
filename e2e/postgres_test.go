package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	"github.com/throughcare/throughcare/server/pgstore/pgtest"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// The real binary on a throwaway PostgreSQL (--store postgres://…): the
// first admin enrols through the bootstrap invite, a worker's contacts
// reach the supervisor, and after the server is killed (no clean close)
// and started again on the same database everything acknowledged is still
// there: the supervisor pulls it again on a new device, the worker's
// session still works, and new work syncs.
func TestPostgresStoreOnTheRealBinary(t *testing.T) {
	url := pgtest.Start(t).Database(t, "e2e")
	s := startServer(t, "--store", url)
	if !strings.Contains(s.Out.String(), "PostgreSQL store open") {
		t.Fatalf("the server did not say it opened the PostgreSQL store:\n%s", s.Out)
	}
	a := newArea(t, s)
	ctx := context.Background()
	team := a.team("Lambeth Outreach")
	w, sup := a.enrol(v1.Role_ROLE_WORKER, team), a.enrol(v1.Role_ROLE_SUPERVISOR, team)
	c := a.client(team, "Sam", "Jones")
	a.assign(c, w)
	w.mustSync(t)
	var logged []string
	for i, ct := range []caseload.Contact{
		{Category: "housing", Mode: "home_visit", Outcome: "Discussed tenancy arrears"},
		{Category: "employment", Mode: "phone", ETEStatusAfter: "in_training", DurationMinutes: 20},
		{Category: "treatment_attendance", Mode: "community", Attendance: "attended", Provider: "Lambeth Recovery Service"},
	} {
		ct.OccurredAt = time.Now().Add(-time.Duration(i+1) * time.Hour)
		id, err := w.LogContact(ctx, c, ct)
		must(t, err)
		logged = append(logged, id)
	}
	if rep := w.mustSync(t); rep.Accepted == 0 || rep.Rejected != 0 || w.Status().Pending != 0 {
		t.Fatalf("push %+v, status %+v: want everything accepted", rep, w.Status())
	}
	sup.mustSync(t)
	if got := countIn(contactIDs(t, sup, c), logged); got != len(logged) {
		t.Fatalf("the supervisor holds %d of %d contacts before the restart", got, len(logged))
	}

	s.kill(t)
	s.restart(t)

	again := a.enrol(v1.Role_ROLE_SUPERVISOR, team) // a new device: pulls everything afresh
	again.mustSync(t)
	if got := countIn(contactIDs(t, again, c), logged); got != len(logged) {
		t.Fatalf("after the restart a new device pulls %d of %d acknowledged contacts", got, len(logged))
	}
	id, err := w.LogContact(ctx, c, caseload.Contact{Category: "housing", Mode: "home_visit", Outcome: "Moved into a flat", OccurredAt: time.Now()})
	must(t, err)
	if rep := w.mustSync(t); rep.Accepted == 0 || rep.Rejected != 0 || w.Status().Pending != 0 {
		t.Fatalf("push after the restart %+v, status %+v: want everything accepted", rep, w.Status())
	}
	sup.mustSync(t)
	if got := countIn(contactIDs(t, sup, c), append(logged, id)); got != len(logged)+1 {
		t.Fatalf("the supervisor holds %d of %d contacts after the restart", got, len(logged)+1)
	}
}

// Two server processes on one PostgreSQL database, devices on each: the
// first is killed while a worker's tablet syncs through it, the tablet
// fails over to the second (its session is in the database, so it carries
// on without signing in again), and every device converges on the second
// with nothing lost: every contact the worker logged, acknowledged before
// the kill or not, reaches the supervisor, and the other worker's too.
func TestPostgresReplicaKilledDevicesFailOver(t *testing.T) {
	url := pgtest.Start(t).Database(t, "e2e")
	s1 := startServer(t, "--store", url)
	s2 := startServer(t, "--store", url) // the database is set up: no second bootstrap
	a := newArea(t, s1)
	ctx := context.Background()
	team := a.team("Lambeth Outreach")
	w1, w2, sup := a.enrol(v1.Role_ROLE_WORKER, team), a.enrol(v1.Role_ROLE_WORKER, team), a.enrol(v1.Role_ROLE_SUPERVISOR, team)
	c1, c2 := a.client(team, "Sam", "Jones"), a.client(team, "Alex", "Smith")
	a.assign(c1, w1)
	a.assign(c2, w2)
	for _, d := range []*device{w2, sup} { // enrolled through s1, they sync through s2
		must(t, d.Close())
		d.reopen(t, s2.URL)
	}
	for _, d := range []*device{w1, w2, sup} {
		d.mustSync(t)
	}
	logContacts := func(d *device, client string, n int) []string {
		var ids []string
		for i := range n {
			id, err := d.LogContact(ctx, client, caseload.Contact{Category: "employment", Mode: "phone", ETEStatusAfter: "in_training",
				DurationMinutes: 10 + i, OccurredAt: time.Now().Add(-time.Duration(i+1) * time.Minute)})
			must(t, err)
			ids = append(ids, id)
		}
		return ids
	}
	acked := logContacts(w1, c1, 5)
	if rep := w1.mustSync(t); rep.Accepted == 0 || rep.Rejected != 0 || w1.Status().Pending != 0 {
		t.Fatalf("push through the first server %+v, status %+v: want everything accepted", rep, w1.Status())
	}

	// Mid-sync: the first server dies while the tablet pushes through it.
	inFlight := logContacts(w1, c1, 5)
	syncing := make(chan error, 1)
	go func() {
		_, err := w1.Sync(ctx)
		syncing <- err
	}()
	s1.kill(t)
	<-syncing // succeeded before the kill, or failed: either way the tablet still holds what it logged
	must(t, w1.Close())
	w1.reopen(t, s2.URL)
	syncUntilOK(t, w1, 50)
	if st := w1.Status(); st.Pending != 0 {
		t.Fatalf("after failing over the worker still has %d changes pending", st.Pending)
	}
	other := logContacts(w2, c2, 3)
	w2.mustSync(t)
	sup.mustSync(t)

	all := append(append([]string(nil), acked...), inFlight...)
	if got := countIn(contactIDs(t, sup, c1), all); got != len(all) {
		t.Errorf("the supervisor holds %d of the %d contacts the first worker logged (%d acknowledged before the kill)", got, len(all), len(acked))
	}
	if got := countIn(contactIDs(t, sup, c2), other); got != len(other) {
		t.Errorf("the supervisor holds %d of the %d contacts the second worker logged", got, len(other))
	}
	if got := countIn(contactIDs(t, w1, c1), all); got != len(all) {
		t.Errorf("the first worker holds %d of their %d contacts after failing over", got, len(all))
	}
}
