package main

import (
	"bytes"
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/store"
)

// Go's collector runs only as the heap grows, and its scavenger hands
// freed memory back to the system slowly: a server that goes quiet after
// a burst (a seeding, a day's pushes, the store compacting) keeps the
// burst's RSS for minutes, holding the garbage of its last cycle and up to
// the heap goal (twice the live heap by default). Badger reads its tables
// through memory maps, and every page a read or a compaction touched stays
// resident too. The returner below hands both back.

const (
	// DefaultReturnEvery is how often the server checks whether it has
	// gone quiet (--return-memory-every).
	DefaultReturnEvery = 5 * time.Second
	// quietBytesPerSecond is the allocation rate below which the server
	// counts as quiet: a few pushes or pulls a second allocate less; a
	// seeding, a full sync or a compaction building tables allocates
	// hundreds of MB a second.
	quietBytesPerSecond = 2 << 20
	// maxReturnGap bounds how many quiet checks pass between two returns
	// (they double from one: 1, 2, 4, … checks apart). Badger lets go of
	// its compaction buffers a few seconds after its last compaction, so a
	// long quiet spell still gets them back, but costs at most one
	// collection every maxReturnGap checks.
	maxReturnGap = 64
)

// memoryReturner hands memory back to the system. On each tick it reads
// how much the program allocated since the last one; below quiet bytes
// (the server is quiet) it calls free (a full collection that releases
// every free page, debug.FreeOSMemory) and release (the store's mapped
// table pages, store.DB.ReleaseTablePages), on the first quiet tick and
// then on ticks 2, 4, 8, … apart (at most maxReturnGap), until the server
// allocates again. On a busy tick it calls release only if the resident
// memory (rss) is over limit: Go's soft limit keeps the heap near it, and
// this keeps the mapped tables from taking the process far past it.
type memoryReturner struct {
	ticks     <-chan time.Time
	allocated func() uint64 // bytes allocated since the start, only growing
	free      func()
	release   func()
	rss       func() int64
	quiet     uint64 // bytes a tick below which the server is quiet
	limit     int64  // resident bytes over which a busy tick releases; 0: never
}

// run returns memory on the ticks until ctx ends.
func (r *memoryReturner) run(ctx context.Context) {
	last := r.allocated()
	quietTicks, gap := 0, 1
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.ticks:
		}
		busy := r.allocated()-last >= r.quiet
		switch {
		case busy:
			quietTicks, gap = 0, 1
			if r.limit > 0 && r.rss() > r.limit {
				r.release()
			}
		case quietTicks+1 == gap:
			r.free()
			r.release()
			quietTicks, gap = 0, min(2*gap, maxReturnGap)
		default:
			quietTicks++
		}
		last = r.allocated() // what returning allocated is not the server's
	}
}

// heapAllocated is the bytes the program has allocated on the heap since
// it started.
func heapAllocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// residentBytes is the process's resident memory (/proc/self/statm), 0
// where it cannot be read.
func residentBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}

// tablePages is a store whose mapped files' resident pages can be handed
// back (store.DB.ReleaseTablePages).
type tablePages interface {
	ReleaseTablePages() (int64, error)
}

var _ tablePages = (*store.DB)(nil)

// returnMemoryWhenQuiet starts the server's returner (every > 0) for as
// long as ctx lasts: it returns the heap's free memory and, if st is a
// tablePages, the pages of the store's tables, also whenever the process
// is resident past Go's memory limit.
func returnMemoryWhenQuiet(ctx context.Context, every time.Duration, st any, log zerolog.Logger) {
	if every <= 0 {
		return
	}
	r := &memoryReturner{
		allocated: heapAllocated,
		free:      debug.FreeOSMemory,
		release:   func() {},
		rss:       residentBytes,
		quiet:     uint64(every.Seconds() * quietBytesPerSecond),
	}
	if tp, ok := st.(tablePages); ok {
		r.release = func() {
			if _, err := tp.ReleaseTablePages(); err != nil {
				log.Warn().Err(err).Msg("returning the store's table pages")
			}
		}
		if l := debug.SetMemoryLimit(-1); l != 1<<63-1 {
			r.limit = l
		}
	}
	t := time.NewTicker(every)
	r.ticks = t.C
	go func() {
		defer t.Stop()
		r.run(ctx)
	}()
}
