package colzstd

import (
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// The cost of a pull page of the peers' contacts, framed and rebuilt,
// beside plain zstd (the compression older clients get) on the same page:
// bytes on the wire per record and time per page. A full sync's pages are
// 2,000 records (1.3 MB); a reconnect storm's about 201 (132 kB).

func BenchmarkPage(b *testing.B) {
	for _, n := range []int{201, 2000} {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) { benchPage(b, n) })
	}
}

func benchPage(b *testing.B, records int) {
	page := peerPage(b, records)
	plain, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(4<<20))
	c := NewCompressor().(*compressor)
	frame := slices.Clone(c.frame(page))
	zframe := plain.EncodeAll(page, nil)
	d := NewDecompressor().(*decompressor)
	for _, bc := range []struct {
		name string
		size int
		run  func()
	}{
		{"compress/colzstd", len(frame), func() { c.frame(page) }},
		{"compress/zstd", len(zframe), func() { plain.EncodeAll(page, nil) }},
		{"decompress/colzstd", len(frame), func() {
			if _, err := d.st.decode(d.dec, frame, DefaultMaxBytes); err != nil {
				b.Fatal(err)
			}
		}},
		{"decompress/zstd", len(zframe), func() {
			if _, err := d.dec.DecodeAll(zframe, nil); err != nil {
				b.Fatal(err)
			}
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(page)))
			b.ReportAllocs()
			cpu0 := processCPU()
			for b.Loop() {
				bc.run()
			}
			// CPU time, which other work on a shared machine moves less than
			// the wall clock (the collector's work on other cores counts too).
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/page")
			b.ReportMetric(float64(bc.size)/float64(records), "wire-bytes/record")
		})
	}
}

// processCPU is the CPU time this process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
