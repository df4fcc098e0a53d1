package store_test

// Benchmarks of durable pushes into an on-disk store, one at a time and
// from concurrent devices (every push is synced before it returns, so
// these measure what a sync costs per acknowledged push), and of a full
// pull of a caseload. The workloads are storetest's, shared with the
// PostgreSQL store's benchmarks (server/pgstore).
//
//	go test -run '^$' -bench . -benchtime 2000x ./server/store/

import (
	"testing"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/store/storetest"
)

func benchStore(b *testing.B) *store.DB {
	s, err := store.Open(store.Options{Dir: b.TempDir(), Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkPushSerial: one device pushing one small batch at a time, so
// every push waits for its own sync.
func BenchmarkPushSerial(b *testing.B) { storetest.BenchPushes(b, benchStore(b), 1) }

// BenchmarkPushConcurrent: 32 devices pushing at once, so syncs can be
// shared.
func BenchmarkPushConcurrent(b *testing.B) { storetest.BenchPushes(b, benchStore(b), 32) }

// BenchmarkPullFull10k: a new device's first pull of a 20-client,
// 10,000-contact caseload, page by page, straight from the store.
func BenchmarkPullFull10k(b *testing.B) { storetest.BenchPullFull(b, benchStore(b), 20, 10_000) }
