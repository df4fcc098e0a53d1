package colzstd

import (
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// The cost of a pull page of 2,000 of the peers' contacts (1.3 MB), framed
// and rebuilt, beside plain zstd (the compression older clients get) on
// the same page: bytes on the wire per record and time per page.

func BenchmarkPage(b *testing.B) {
	page := peerPage(b, 2000)
	plain, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(4<<20))
	c := NewCompressor().(*compressor)
	frame := c.frame(page)
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
			b.ReportMetric(float64(bc.size)/2000, "wire-bytes/record")
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
