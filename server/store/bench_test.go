package store_test

// Benchmarks of durable pushes into an on-disk store, one at a time and
// from concurrent devices: every push is synced before it returns, so these
// measure what a sync costs per acknowledged push.
//
//	go test -run '^$' -bench . -benchtime 2000x ./server/store/

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/syncengine"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// benchPushes pushes b.N small batches (a new contact each) into a fresh
// on-disk store, from goroutines devices at once (one device each), and
// reports pushes per second.
func benchPushes(b *testing.B, devices int) {
	s, err := store.Open(store.Options{Dir: b.TempDir(), Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
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

// BenchmarkPushSerial: one device pushing one small batch at a time, so
// every push waits for its own sync.
func BenchmarkPushSerial(b *testing.B) { benchPushes(b, 1) }

// BenchmarkPushConcurrent: 32 devices pushing at once, so syncs can be
// shared.
func BenchmarkPushConcurrent(b *testing.B) { benchPushes(b, 32) }
