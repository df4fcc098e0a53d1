package review

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/syncengine"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// The benchmarks read a supervisor's reach of 100 clients with 1,000
// realistic contacts each (sample.Device.NewContact), spread over the 12
// weeks before the clock, as 4 workers' tablets logged them.
const (
	benchClients           = 100
	benchContactsPerClient = 1000
)

type benchEnv struct {
	svc *Service
	sup *identity.Identity
}

var (
	benchOnce sync.Once
	benchData *benchEnv
	benchErr  error
)

func benchSeed(b *testing.B) *benchEnv {
	b.Helper()
	benchOnce.Do(func() { benchData, benchErr = seedBench(benchClients, benchContactsPerClient, 0) })
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchData
}

// seedBench writes a supervisor's reach of nClients with contacts and
// appointments each, spread over the 12 weeks before the clock (of the
// appointments, one in ten is still to come).
func seedBench(nClients, contacts, appointments int) (*benchEnv, error) {
	ctx := context.Background()
	st, err := store.Open(store.Options{InMemory: true, GCInterval: -1, Logger: zerolog.Nop()})
	if err != nil {
		return nil, err
	}
	now := time.Date(2026, 3, 16, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	area, team, sup := newID(), newID(), newID()
	workers := make([]string, min(runtime.GOMAXPROCS(0), 4))
	for i := range workers {
		workers[i] = newID()
	}
	clients := make([]string, nClients)
	for i := range clients {
		clients[i] = newID()
	}
	err = st.Directory(ctx, func(tx store.DirTx) error {
		if err := tx.PutArea(&store.Area{ID: area, Name: "Lambeth"}); err != nil {
			return err
		}
		if err := tx.PutTeam(&store.Team{ID: team, AreaID: area, Name: "North"}); err != nil {
			return err
		}
		if err := tx.PutUser(&store.User{ID: sup, AreaID: area, DisplayName: "Sue", Role: "supervisor", TeamIDs: []string{team}, Handle: []byte(sup)}); err != nil {
			return err
		}
		for i, w := range workers {
			if err := tx.PutUser(&store.User{ID: w, AreaID: area, DisplayName: fmt.Sprintf("Worker %d", i), Role: "worker", TeamIDs: []string{team}, Handle: []byte(w)}); err != nil {
				return err
			}
		}
		for _, c := range clients {
			if err := tx.PutClient(&store.Client{ID: c, AreaID: area, TeamID: team, CreatedAt: now.AddDate(0, -6, 0)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	errs := make([]error, len(workers))
	for w := range workers {
		wg.Go(func() {
			dev := sample.NewDevice(workers[w], clock, uint64(9000+w))
			var batch []*v1.Change
			flush := func() error {
				if len(batch) == 0 {
					return nil
				}
				res, err := syncengine.Apply(ctx, st, &syncengine.Batch{UserID: dev.UserID, DeviceID: dev.ID, ReceivedAt: now, Changes: batch})
				if err != nil {
					return err
				}
				for i, r := range res.Results {
					if r.Verdict != v1.Verdict_VERDICT_APPLIED {
						return fmt.Errorf("seed change %d: %v", i, r.Verdict)
					}
				}
				batch = batch[:0]
				return nil
			}
			for c := w; c < nClients; c += len(workers) {
				_, chs := dev.NewClient("Lambeth")
				for _, ch := range chs {
					ch.RecordId, ch.ClientId = clients[c], clients[c]
				}
				batch = append(batch, chs...)
				for i := range contacts + appointments {
					var chs []*v1.Change
					if i < contacts {
						_, chs = dev.NewContact(clients[c], now.Add(-time.Minute-time.Duration(i)*84*24*time.Hour/time.Duration(contacts)))
					} else {
						chs = benchAppointment(dev, clients[c], now, i-contacts, appointments)
					}
					if len(batch)+len(chs) > 3000 {
						if errs[w] = flush(); errs[w] != nil {
							return
						}
					}
					batch = append(batch, chs...)
				}
			}
			errs[w] = flush()
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	eng, err := syncengine.New(syncengine.Config{Store: st, Now: clock})
	if err != nil {
		return nil, err
	}
	svc, err := New(Config{Store: st, Now: clock, Logger: zerolog.Nop(), Writer: eng})
	if err != nil {
		return nil, err
	}
	slices.Sort(clients)
	runtime.GC()
	for _, c := range clients { // a supervisor's directory: assignments
		if err := st.Directory(ctx, func(tx store.DirTx) error {
			return tx.PutAssignment(&store.Assignment{ClientID: c, UserID: workers[int(c[len(c)-1])%len(workers)], From: now.AddDate(0, -6, 0)})
		}); err != nil {
			return nil, err
		}
	}
	return &benchEnv{svc: svc, sup: &identity.Identity{UserID: sup, DeviceID: newID(), Role: identity.Supervisor, Area: area, Buckets: clients}}, nil
}

// benchAppointment is the i-th of n appointments of a client: most in the
// past with an outcome, the last tenth still booked ahead.
func benchAppointment(dev *sample.Device, client string, now time.Time, i, n int) []*v1.Change {
	statuses := []string{"attended", "attended", "attended", "did_not_attend", "cancelled_by_client", "rescheduled"}
	at := now.Add(-time.Duration(i) * 84 * 24 * time.Hour / time.Duration(n))
	status := statuses[i%len(statuses)]
	if i < n/10 {
		at, status = now.Add(time.Duration(i+1)*24*time.Hour), "booked"
	}
	fields := []sample.Field{{Name: "appointment_type", Value: sample.Str("keywork")}, {Name: "starts_at", Value: sample.Time(at)},
		{Name: "status", Value: sample.Str(status)}, {Name: "author", Value: sample.Str(dev.UserID)}}
	if status == "did_not_attend" {
		fields = append(fields, sample.Field{Name: "dna_reason", Value: sample.Str("forgot")})
	}
	return dev.Record("appointment", dev.NewID(), client, fields)
}

// BenchmarkGetStatistics computes a supervisor's statistics over 100,000
// contacts (the default period holds all of them).
func BenchmarkGetStatistics(b *testing.B) {
	env := benchSeed(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		st, err := env.svc.GetStatistics(ctx, env.sup, &v1.GetStatisticsRequest{})
		if err != nil {
			b.Fatal(err)
		}
		if st.GetContacts() != benchClients*benchContactsPerClient {
			b.Fatalf("counted %d contacts", st.GetContacts())
		}
	}
	b.ReportMetric(float64(benchClients*benchContactsPerClient), "contacts")
}

// BenchmarkListContacts reads the first page (50) of a supervisor's queue
// over 100,000 contacts.
func BenchmarkListContacts(b *testing.B) {
	env := benchSeed(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		resp, err := env.svc.ListContacts(ctx, env.sup, &v1.ListContactsRequest{})
		if err != nil {
			b.Fatal(err)
		}
		if len(resp.GetContacts()) != DefaultPageSize {
			b.Fatalf("page of %d", len(resp.GetContacts()))
		}
	}
}

// BenchmarkListContactsFiltered reads the first page of one worker's open
// queries in one category: the scan is the same, few contacts qualify.
func BenchmarkListContactsFiltered(b *testing.B) {
	env := benchSeed(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := env.svc.ListContacts(ctx, env.sup, &v1.ListContactsRequest{Filter: &v1.ContactFilter{
			Category: "housing", ReviewState: v1.ReviewState_REVIEW_STATE_UNREVIEWED}}); err != nil {
			b.Fatal(err)
		}
	}
}
