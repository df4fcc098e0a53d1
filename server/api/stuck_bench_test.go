package api_test

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/throughcare/throughcare/server/api"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/servertest"
	"github.com/throughcare/throughcare/server/syncengine"
)

const (
	benchStuckReaders  = 500
	benchStuckBuckets  = 20
	benchStuckContacts = 4000
	// benchStuckWait bounds how long the benchmark waits for the server to
	// drop the stuck readers (twice the default write timeout).
	benchStuckWait = 2 * api.DefaultWriteTimeout
)

// benchProcess is what the process holds at one moment.
type benchProcess struct {
	goroutines int
	heapMB     float64
	rssMB      float64
}

func benchMeasure() benchProcess {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return benchProcess{goroutines: runtime.NumGoroutine(), heapMB: float64(ms.HeapInuse) / 1e6, rssMB: benchRSS()}
}

// benchRSS reads the process's resident set (Linux; 0 elsewhere).
func benchRSS() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1e3
		}
	}
	return 0
}

// benchWaitStreams polls until cond holds for the server's Subscribe
// goroutines or wait passes; it reports whether cond held.
func benchWaitStreams(wait time.Duration, cond func(open, blocked int) bool) bool {
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond(serverStreams()) {
			return true
		}
	}
	return false
}

// BenchmarkStuckReaders: 500 tablets open a Subscribe stream on a 20-client,
// 4,000-contact caseload and never read it (HTTP/1.1 without TLS, as the
// server binary serves behind its TLS proxy; 4 KiB socket buffers at both
// ends), so every stream blocks writing its first catch-up page. The API
// has its default settings (a 30 s write timeout). Reports what the server
// process holds beyond its baseline while all 500 are blocked (stuck-*),
// and again once the server has dropped them or benchStuckWait has passed
// (after-*), and how long from all being blocked to all being dropped
// (drop-s). Client and server share the process; the stuck clients hold
// nothing but their sockets.
func BenchmarkStuckReaders(b *testing.B) {
	env := servertest.New(b, servertest.Options{Engine: syncengine.Config{Keepalive: time.Hour}, Serve: servertest.ServeOptions{Plaintext: true, Listener: smallSendBuffers}})
	clients := benchSeed(b, env.Store, benchStuckBuckets, benchStuckContacts)
	tokens := make([]string, benchStuckReaders)
	for i := range tokens {
		tokens[i] = fmt.Sprintf("stuck-%d", i)
		env.SignIn(tokens[i], identity.Identity{UserID: tokens[i], DeviceID: uuid.NewString(), Role: identity.Admin, Buckets: clients})
	}
	base := benchMeasure()
	var stuck, after benchProcess
	var drop time.Duration
	b.ResetTimer()
	for range b.N {
		var conns []interface{ Close() error }
		for _, tok := range tokens {
			conns = append(conns, stuckSubscribe(b, env, tok))
		}
		if !benchWaitStreams(2*time.Minute, func(_, blocked int) bool { return blocked == benchStuckReaders }) {
			open, blocked := serverStreams()
			b.Fatalf("only %d of %d streams blocked writing (%d open)", blocked, benchStuckReaders, open)
		}
		b.StopTimer()
		stuck = benchMeasure()
		start := time.Now()
		benchWaitStreams(benchStuckWait, func(open, _ int) bool { return open == 0 })
		drop = time.Since(start)
		after = benchMeasure()
		for _, c := range conns {
			c.Close()
		}
		benchWaitStreams(benchStuckWait, func(open, _ int) bool { return open == 0 })
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(stuck.goroutines-base.goroutines), "stuck-goroutines")
	b.ReportMetric(stuck.heapMB-base.heapMB, "stuck-heap-MB")
	b.ReportMetric(stuck.rssMB-base.rssMB, "stuck-rss-MB")
	b.ReportMetric(float64(after.goroutines-base.goroutines), "after-goroutines")
	b.ReportMetric(after.heapMB-base.heapMB, "after-heap-MB")
	b.ReportMetric(after.rssMB-base.rssMB, "after-rss-MB")
	b.ReportMetric(drop.Seconds(), "drop-s")
}
