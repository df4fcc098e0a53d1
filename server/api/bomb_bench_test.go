//go:build unix

package api_test

import (
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
)

// BenchmarkBomb sends one decompression bomb per iteration, without
// credentials, over the Connect protocol, to a procedure that needs a
// session (Push: the general read limit), a public one (BeginLogin), the
// gRPC health check and (over gRPC) reflection, and reports what the server spent on it: CPU time
// of the whole process (rusage), the heap in use at its peak above where it
// started (sampled every millisecond) and, with -benchmem, bytes allocated.
// Every bomb inflates to 1 GiB; the zstd ones declare an 8 MiB window (the
// most a frame may declare) or a 64 MiB one.
func BenchmarkBomb(b *testing.B) {
	env := newBombEnv(b, nil, 0, 4<<20) // the server's defaults
	bodies := []struct {
		name, encoding string
		body           []byte
	}{
		{"gzip", "gzip", gzipBomb1G()},
		{"zstd", "zstd", zstdBomb(23, 1<<30)},
		{"zstd-window64M", "zstd", zstdBomb(26, 1<<30)},
	}
	targets := []struct{ name, protocol, procedure string }{
		{"push", "connect", throughcarev1connect.SyncServicePushProcedure},
		{"login", "connect", throughcarev1connect.AuthServiceBeginLoginProcedure},
		{"health", "connect", "/grpc.health.v1.Health/Check"},
		{"reflection", "grpc", "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"},
	}
	for _, body := range bodies {
		for _, target := range targets {
			b.Run(body.name+"/"+target.name, func(b *testing.B) {
				b.SetBytes(int64(len(body.body)))
				runtime.GC()
				stop := sampleHeapPeak()
				cpu := cpuTime()
				for b.Loop() {
					code, msg := rawCall(b, env.HTTPClient, env.URL, target.protocol, target.procedure, body.encoding, body.body)
					if code != connect.CodeResourceExhausted {
						b.Fatalf("bomb answered %v (%s), want resource_exhausted", code, msg)
					}
				}
				spent := cpuTime() - cpu
				peak := stop()
				b.ReportMetric(float64(spent)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
				b.ReportMetric(float64(peak)/mib, "peak-heap-MiB")
			})
		}
	}
}

// cpuTime is the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sampleHeapPeak samples HeapInuse every millisecond until the returned
// function is called, which returns the highest sample above the first.
func sampleHeapPeak() (stop func() uint64) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapInuse, ms.HeapInuse
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak - base
	}
}
