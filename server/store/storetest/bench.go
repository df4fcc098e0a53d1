package storetest

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// The benchmarks' workloads, one per figure, so every backend is measured
// on the same one (server/store's bench_test.go for Badger, server/pgstore's
// for PostgreSQL).

// BenchPushes pushes b.N small batches (a new contact each) into s, from
// goroutines devices at once (one device each), and reports pushes per
// second: every push is durable before it returns, so this measures what a
// commit costs per acknowledged push.
func BenchPushes(b *testing.B, s store.Store, devices int) {
	ctx := context.Background()
	var left atomic.Int64
	left.Store(int64(b.N))
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for g := range devices {
		wg.Go(func() {
			d := sample.NewDevice(fmt.Sprintf("bench-%d", g), time.Now, uint64(g+1))
			client, chs := d.NewClient("Lambeth")
			for left.Add(-1) >= 0 {
				if _, err := syncengine.Apply(ctx, s, &syncengine.Batch{UserID: d.UserID, DeviceID: d.ID, ReceivedAt: time.Now(), Changes: chs}); err != nil {
					b.Error(err)
					return
				}
				_, chs = d.NewContact(client, time.Now())
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pushes/s")
}

// Seed pushes a caseload into s: buckets clients with contacts contacts
// between them, in batches of up to 3,000 changes from one device per CPU
// (up to 4) at once, and returns the clients' ids, sorted. Every change
// must be applied.
func Seed(b testing.TB, s store.Store, buckets, contacts int) []string {
	b.Helper()
	ctx := context.Background()
	workers := min(runtime.GOMAXPROCS(0), 4)
	clients := make([]string, buckets)
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Go(func() {
			dev := sample.NewDevice(fmt.Sprintf("seed-user-%d", w), time.Now, uint64(7000+w))
			var batch []*v1.Change
			flush := func() error {
				if len(batch) == 0 {
					return nil
				}
				res, err := syncengine.Apply(ctx, s, &syncengine.Batch{UserID: dev.UserID, DeviceID: dev.ID, ReceivedAt: time.Now(), Changes: batch})
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
			at := time.Now().Add(-24 * time.Hour)
			for c := w; c < buckets && errs[w] == nil; c += workers {
				id, chs := dev.NewClient(sample.Areas[c%len(sample.Areas)])
				clients[c] = id
				batch = append(batch, chs...)
				for range contacts / buckets {
					_, chs := dev.NewContact(id, at)
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
	for _, err := range errs {
		if err != nil {
			b.Fatalf("seeding: %v", err)
		}
	}
	slices.Sort(clients)
	return clients
}

// BenchPullFull seeds s with a caseload (buckets clients, contacts
// contacts) and then reads all of it b.N times, from position 0, in the
// sync engine's default pages (2,000 records, 2 MiB), as a new device's
// first sync does; it reports records per second.
func BenchPullFull(b *testing.B, s store.Store, buckets, contacts int) {
	ctx := context.Background()
	clients := Seed(b, s, buckets, contacts)
	want := buckets + buckets*(contacts/buckets)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		from := make(map[string]uint64, len(clients))
		for _, c := range clients {
			from[c] = 0
		}
		got := 0
		for {
			page, err := s.Pull(ctx, store.PullQuery{From: from, Limit: 2000, MaxBytes: 2 << 20})
			if err != nil {
				b.Fatal(err)
			}
			for _, bp := range page.Buckets {
				got += len(bp.Records)
				from[bp.Bucket] = bp.Position
			}
			if !page.HasMore {
				break
			}
		}
		if got != want {
			b.Fatalf("a full pull read %d records, want %d", got, want)
		}
	}
	b.ReportMetric(float64(b.N*want)/time.Since(start).Seconds(), "records/s")
}
