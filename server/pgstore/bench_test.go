package pgstore_test

// The Badger store's benchmarks (server/store/bench_test.go), on the same
// workloads (storetest's), against PostgreSQL: a throwaway cluster on a
// unix socket, fsync and synchronous_commit on, so every push is durable
// before it returns.
//
//	go test -run '^$' -bench . -benchtime 2000x ./server/pgstore/

import (
	"testing"

	"github.com/throughcare/throughcare/server/pgstore"
	"github.com/throughcare/throughcare/server/pgstore/pgtest"
	"github.com/throughcare/throughcare/server/store/storetest"
)

func benchStore(b *testing.B) *pgstore.DB {
	return openURL(b, pgtest.Shared(b).Database(b, b.Name()))
}

// BenchmarkPostgresPushSerial is BenchmarkPushSerial: one device pushing
// one small batch at a time.
func BenchmarkPostgresPushSerial(b *testing.B) { storetest.BenchPushes(b, benchStore(b), 1) }

// BenchmarkPostgresPushConcurrent is BenchmarkPushConcurrent: 32 devices
// pushing at once.
func BenchmarkPostgresPushConcurrent(b *testing.B) { storetest.BenchPushes(b, benchStore(b), 32) }

// BenchmarkPostgresPullFull10k is BenchmarkPullFull10k: a first pull of a
// 20-client, 10,000-contact caseload.
func BenchmarkPostgresPullFull10k(b *testing.B) {
	storetest.BenchPullFull(b, benchStore(b), 20, 10_000)
}
