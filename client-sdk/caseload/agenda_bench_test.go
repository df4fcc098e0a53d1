package caseload

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload/internal/local"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// A tablet holding a 100-client caseload with 100,000 contacts and 20,000
// appointments over a year (most past ones with an outcome, one in ten
// still booked): Agenda over a week and Overdue, once the index is built.
// "first-read" is the one-off cost of indexing the whole store (a store
// from before the index, or after a reset); later reads rebuild only the
// clients that changed.
func BenchmarkAgenda(b *testing.B) {
	const clients, contacts, appointments = 100, 100_000, 20_000
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	d, _ := enrolledDevice(b, func(c *Config) { c.Now = func() time.Time { return now } })
	seedCaseload(b, d, now, clients, contacts, appointments)
	ctx := context.Background()
	if _, err := d.Overdue(ctx); err != nil { // build the index
		b.Fatal(err)
	}

	b.Run("first-read", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			must(b, d.db.Update(func(txn *local.Txn) error { return txn.Delete(metaIndex) }))
			b.StartTimer()
			if _, err := d.Overdue(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("week", func(b *testing.B) {
		var n int
		for b.Loop() {
			items, err := d.Agenda(ctx, now, now.AddDate(0, 0, 7))
			if err != nil {
				b.Fatal(err)
			}
			n = len(items)
		}
		b.ReportMetric(float64(n), "appointments")
	})
	b.Run("overdue", func(b *testing.B) {
		var n int
		for b.Loop() {
			o, err := d.Overdue(ctx)
			if err != nil {
				b.Fatal(err)
			}
			n = len(o.Appointments) + len(o.FollowUps)
		}
		b.ReportMetric(float64(n), "items")
	})
	b.Run("week-after-a-write", func(b *testing.B) {
		c := firstClient(b, d)
		for b.Loop() {
			b.StopTimer()
			mustBook(b, d, c, keywork(now.Add(time.Hour)))
			b.StartTimer()
			if _, err := d.Agenda(ctx, now, now.AddDate(0, 0, 7)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func firstClient(b *testing.B, d *Device) string {
	cs, err := d.Clients(context.Background())
	if err != nil || len(cs) == 0 {
		b.Fatalf("Clients: %d (%v)", len(cs), err)
	}
	return cs[0].ID
}

// seedCaseload pulls a caseload into the device, as the server would send
// it: clients, contacts (some with follow-ups) and appointments spread over
// the year around now.
func seedCaseload(b *testing.B, d *Device, now time.Time, clients, contacts, appointments int) {
	b.Helper()
	s := stampAt(now.AddDate(-1, 0, 0), otherReplica)
	year := now.AddDate(-1, 0, 0)
	span := int64(now.AddDate(0, 6, 0).Sub(year))
	for c := range clients {
		id := newID()
		recs := []*v1.RecordState{clientRecord(id, s, otherAuthor, field("given_name", String(fmt.Sprintf("Client%03d", c))))}
		flush := func(action v1.BucketAction) {
			pull(b, d, &v1.BucketUpdate{ClientId: id, Action: action, Records: recs})
			recs = nil
		}
		flush(v1.BucketAction_BUCKET_ACTION_SNAPSHOT)
		for i := range contacts / clients {
			at := year.Add(time.Duration(int64(i) * int64(now.Sub(year)) / int64(contacts/clients)))
			r := contactRecord(newID(), at, s, otherAuthor)
			if i%10 == 0 {
				r.Fields = append(r.Fields, field("follow_up_date", DateValue(DateOf(at.AddDate(0, 0, 14)))))
			}
			recs = append(recs, r)
			if len(recs) == 500 {
				flush(v1.BucketAction_BUCKET_ACTION_DELTA)
			}
		}
		for i := range appointments / clients {
			at := year.Add(time.Duration(int64(i) * span / int64(appointments/clients)))
			status := "booked"
			if at.Before(now) {
				status = schema.AppointmentStatuses[1+i%5] // attended, DNA, cancelled, ...
				if i%10 == 0 {
					status = "booked" // no outcome recorded: overdue
				}
			}
			recs = append(recs, appointmentRecord(newID(), at, status))
			if len(recs) == 500 {
				flush(v1.BucketAction_BUCKET_ACTION_DELTA)
			}
		}
		if len(recs) > 0 {
			flush(v1.BucketAction_BUCKET_ACTION_DELTA)
		}
	}
}
