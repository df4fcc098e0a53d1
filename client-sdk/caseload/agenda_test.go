package caseload

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload/internal/local"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

func appointmentRecord(id string, at time.Time, status string) *v1.RecordState {
	s := stampAt(at.Add(-72*time.Hour), otherReplica)
	return record(id, "appointment", s, otherAuthor,
		field("appointment_type", String("probation")), field("starts_at", Time(at)),
		field("status", String(status)), field("author", String(otherAuthor.GetUserId())))
}

func agendaIDs(items []AgendaItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}

// Agenda lists the window's appointments across the caseload by start,
// with the client's name, whether booked here or pulled, and follows
// reschedules, evictions and resets.
func TestAgenda(t *testing.T) {
	ctx := context.Background()
	d, c1 := enrolledDevice(t)
	c2 := holdClient(t, d)
	a := mustBook(t, d, c1, keywork(day0.Add(26*time.Hour)))
	b := mustBook(t, d, c2, keywork(day0.Add(2*time.Hour)))
	outside := mustBook(t, d, c1, keywork(day0.Add(8*24*time.Hour)))
	pulled := newID()
	pull(t, d, delta(c2, appointmentRecord(pulled, day0.Add(50*time.Hour), "booked")))
	name := "Sam Jones"
	week := func() []string {
		t.Helper()
		items, err := d.Agenda(ctx, day0, day0.Add(7*24*time.Hour))
		must(t, err)
		for _, it := range items {
			if it.ClientName != name {
				t.Fatalf("agenda item %s: client name %q, want %q", it.ID, it.ClientName, name)
			}
		}
		return agendaIDs(items)
	}
	if got, want := week(), []string{b, a, pulled}; !slices.Equal(got, want) {
		t.Fatalf("Agenda = %v, want %v (by start; %s is outside the week)", got, want, outside)
	}

	moved, err := d.RescheduleAppointment(ctx, c1, a, Appointment{StartsAt: day0.Add(time.Hour)})
	must(t, err)
	if got, want := week(), []string{moved, b, a, pulled}; !slices.Equal(got, want) {
		t.Fatalf("after rescheduling: Agenda = %v, want %v", got, want)
	}
	must(t, d.Delete(ctx, c1, a, "entered_in_error"))
	if got, want := week(), []string{moved, b, pulled}; !slices.Equal(got, want) {
		t.Fatalf("after deleting: Agenda = %v, want %v", got, want)
	}
	pull(t, d, evict(c2))
	if got, want := week(), []string{moved}; !slices.Equal(got, want) {
		t.Fatalf("after an eviction: Agenda = %v, want %v", got, want)
	}
	must(t, d.resetLocal())
	name = "" // the client record is gone until pulled again
	if got := week(); len(got) != 1 || got[0] != moved {
		t.Fatalf("after a reset (only the outbox left): Agenda = %v, want [%s]", got, moved)
	}
}

// Overdue lists booked appointments past their start and follow-ups passed
// with no later contact, by the device's clock.
func TestOverdue(t *testing.T) {
	ctx := context.Background()
	now := day0
	d, c1 := enrolledDevice(t, func(c *Config) { c.Now = func() time.Time { return now } })
	c2 := holdClient(t, d)
	missed := mustBook(t, d, c1, keywork(day0.Add(-2*time.Hour)))
	kept := mustBook(t, d, c1, keywork(day0.Add(-26*time.Hour)))
	_, err := d.RecordAttendance(ctx, c1, kept, Outcome{Attended: true})
	must(t, err)
	later := mustBook(t, d, c2, keywork(day0.Add(time.Hour)))

	due := contactAt(day0.Add(-10 * 24 * time.Hour))
	due.FollowUp = DateOf(day0.Add(-3 * 24 * time.Hour))
	dueID := mustLog(t, d, c2, due)
	followed := contactAt(day0.Add(-9 * 24 * time.Hour))
	followed.FollowUp = DateOf(day0.Add(-5 * 24 * time.Hour))
	mustLog(t, d, c1, followed)
	mustLog(t, d, c1, contactAt(day0.Add(-4*24*time.Hour))) // a later contact: c1's follow-up was done
	today := contactAt(day0.Add(-20 * 24 * time.Hour))
	today.FollowUp = DateOf(day0)
	mustLog(t, d, holdClient(t, d), today) // due today: not yet overdue

	check := func(wantAppts, wantFollowUps []string) {
		t.Helper()
		o, err := d.Overdue(ctx)
		must(t, err)
		if got := agendaIDs(o.Appointments); !slices.Equal(got, wantAppts) {
			t.Fatalf("Overdue appointments = %v, want %v", got, wantAppts)
		}
		var got []string
		for _, f := range o.FollowUps {
			got = append(got, f.ID)
			if f.ClientName != "Sam Jones" {
				t.Fatalf("follow-up %s: client name %q", f.ID, f.ClientName)
			}
		}
		if !slices.Equal(got, wantFollowUps) {
			t.Fatalf("Overdue follow-ups = %v, want %v", got, wantFollowUps)
		}
	}
	check([]string{missed}, []string{dueID})
	now = day0.Add(2 * time.Hour)
	check([]string{missed, later}, []string{dueID})
	_, err = d.RecordAttendance(ctx, c1, missed, Outcome{DNAReason: "forgot"})
	must(t, err)
	mustLog(t, d, c2, contactAt(day0.Add(90*time.Minute)))
	check([]string{later}, nil)
}

// A store written before the index existed is indexed at its first read.
func TestAgendaIndexesAnOldStore(t *testing.T) {
	ctx := context.Background()
	d, c := enrolledDevice(t)
	id := mustBook(t, d, c, keywork(day0))
	must(t, d.db.Update(func(txn *local.Txn) error {
		for _, p := range []byte{pAgenda, pBooked, pFollowUp, pIndexed, pStale} {
			if err := deleteUnder(txn, p); err != nil {
				return err
			}
		}
		return txn.Delete(metaIndex)
	}))
	items, err := d.Agenda(ctx, day0.Add(-time.Hour), day0.Add(time.Hour))
	must(t, err)
	if got := agendaIDs(items); !slices.Equal(got, []string{id}) {
		t.Fatalf("Agenda on a store without an index = %v, want [%s]", got, id)
	}
}

// Booking, changing and pulling appointments are announced.
func TestAppointmentEvents(t *testing.T) {
	ctx := context.Background()
	d, c := enrolledDevice(t)
	ready, take, stop := d.Watch()
	defer stop()
	kinds := func() map[EventKind][]string {
		<-ready
		out := map[EventKind][]string{}
		for _, ev := range take() {
			out[ev.Kind] = ev.ClientIDs
		}
		return out
	}
	id := mustBook(t, d, c, keywork(day0))
	if got := kinds()[AppointmentsChanged]; !slices.Equal(got, []string{c}) {
		t.Fatalf("booking: AppointmentsChanged for %v, want [%s]", got, c)
	}
	must(t, d.CancelAppointment(ctx, c, id, CancelledByClient))
	if got := kinds()[AppointmentsChanged]; !slices.Equal(got, []string{c}) {
		t.Fatalf("cancelling: AppointmentsChanged for %v, want [%s]", got, c)
	}
	mustLog(t, d, c, contactAt(day0))
	if got, ok := kinds()[AppointmentsChanged]; ok {
		t.Fatalf("logging a contact announced AppointmentsChanged for %v", got)
	}
	pull(t, d, delta(c, appointmentRecord(newID(), day0, "booked")))
	if got := kinds()[AppointmentsChanged]; !slices.Equal(got, []string{c}) {
		t.Fatalf("pulling: AppointmentsChanged for %v, want [%s]", got, c)
	}
	pull(t, d, delta(c, contactRecord(newID(), day0, stampAt(day0, otherReplica), otherAuthor)))
	if got, ok := kinds()[AppointmentsChanged]; ok {
		t.Fatalf("pulling a contact announced AppointmentsChanged for %v", got)
	}
}

func deleteUnder(txn *local.Txn, p byte) error {
	it := txn.NewIterator(local.IterOptions{Prefix: []byte{p}})
	var keys [][]byte
	for it.Rewind(); it.Valid(); it.Next() {
		keys = append(keys, it.KeyCopy())
	}
	it.Close()
	for _, k := range keys {
		if err := txn.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// A follow-up turns overdue at midnight in the service's zone (London),
// as the server counts it, not at midnight on the tablet's clock: at 23:30
// UTC on 1 July it is already 2 July in London.
func TestOverdueFollowUpTurnsAtLondonMidnight(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, time.July, 1, 22, 30, 0, 0, time.UTC) // 23:30 BST
	d, c := enrolledDevice(t, func(cfg *Config) { cfg.Now = func() time.Time { return now } })
	ct := contactAt(now.Add(-48 * time.Hour))
	ct.FollowUp = Date{2026, time.July, 1}
	mustLog(t, d, c, ct)
	count := func() int {
		t.Helper()
		o, err := d.Overdue(ctx)
		must(t, err)
		return len(o.FollowUps)
	}
	if n := count(); n != 0 {
		t.Fatalf("at 23:30 BST on the follow-up day: %d overdue, want 0", n)
	}
	now = time.Date(2026, time.July, 1, 23, 30, 0, 0, time.UTC) // 00:30 BST on 2 July
	if n := count(); n != 1 {
		t.Fatalf("at 00:30 BST the day after (23:30 UTC the same day): %d overdue, want 1", n)
	}
}
