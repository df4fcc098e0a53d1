package caseload

import (
	"context"
	"testing"
	"time"

	"github.com/throughcare/throughcare/syncproto/schema"
)

// The change-from-start view on a tablet holding BenchmarkAgenda's
// 100-client caseload (100,000 contacts, 20,000 appointments), for a client
// with 4 TOPs (start, two reviews, an exit, 12 weeks apart) recorded on the
// tablet, every item answered: "caseload-client" is one of the seeded
// clients (1,000 contacts and 200 appointments besides), "tops-only" a
// client with nothing but the TOPs.
func BenchmarkChangeFromStart(b *testing.B) {
	const clients, contacts, appointments, tops = 100, 100_000, 20_000, 4
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	d, bare := enrolledDevice(b, func(c *Config) { c.Now = func() time.Time { return now } })
	seedCaseload(b, d, now, clients, contacts, appointments)
	cs, err := d.Clients(context.Background())
	must(b, err)
	busy := ""
	for _, c := range cs {
		if c.GivenName == "Client000" {
			busy = c.ID
		}
	}
	if busy == "" || len(cs) != clients+1 {
		b.Fatalf("%d clients, Client000 %q", len(cs), busy)
	}
	start := now.AddDate(0, 0, -84*(tops-1)-7)
	for _, c := range []string{busy, bare} {
		for n := range tops {
			stage := []string{"start", "review", "review", "exit"}[n]
			mustTOP(b, d, c, benchOutcomeReview(DateOf(start.AddDate(0, 0, 84*n)), stage, n))
		}
	}
	for _, bc := range []struct{ name, client string }{{"caseload-client", busy}, {"tops-only", bare}} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				ch, err := d.ChangeFromStart(ctx, bc.client)
				if err != nil {
					b.Fatal(err)
				}
				if ch.Latest.Stage != "exit" || len(ch.Items) != len(schema.TOPItems) || ch.Items[0].Movement != Improved {
					b.Fatalf("latest %q, %d items, first %v", ch.Latest.Stage, len(ch.Items), ch.Items[0])
				}
			}
		})
	}
}

// benchOutcomeReview is the n-th TOP of an episode: every item answered,
// use falling and functioning rising as n grows.
func benchOutcomeReview(day Date, stage string, n int) OutcomeReview {
	r := OutcomeReview{InterviewDate: day, Stage: stage, Answers: make(map[string]TOPAnswer, len(schema.TOPItems))}
	for _, it := range schema.TOPItems {
		var a TOPAnswer
		switch it.Kind {
		case schema.TOPWeeklyDays:
			a.Weeks = [4]int{7 - n, 6 - n, 5 - n, 4 - n}
		case schema.TOPDays:
			a.Days = 20 - 5*n
		case schema.TOPRating:
			a.Rating = 5 + 4*n
		case schema.TOPYesNo:
			a.Yes = n < 2
		}
		r.Answers[it.Name] = a
	}
	return r
}
