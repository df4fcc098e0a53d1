package metrics_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/throughcare/throughcare/server/metrics"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// BenchmarkMeterPush: what the metrics add to one push of 500 changes
// (its RPC counted and timed, its changes counted), and to one pull page.
// A durable push of that size takes milliseconds (BenchmarkPushIngest).
func BenchmarkMeterPush(b *testing.B) {
	m, err := metrics.New(metrics.Config{Registry: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	results := make([]syncengine.Result, 500)
	for i := range results {
		results[i] = syncengine.Result{Verdict: v1.Verdict_VERDICT_APPLIED, Position: uint64(i + 1)}
	}
	results[7] = syncengine.Result{Verdict: v1.Verdict_VERDICT_REJECTED, Reason: v1.RejectReason_REJECT_REASON_ACCESS_ENDED}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Applied(false, results)
			m.Call("/throughcare.v1.SyncService/Push", "ok", false, 3*time.Millisecond)
			m.Paged(2000, 900_000)
		}
	})
}
