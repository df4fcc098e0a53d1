package main

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/store"
)

// Go's collector runs only as the heap grows, and its scavenger hands
// freed memory back to the system slowly: a server that goes quiet after
// a burst (a seeding, a day's pushes, the store compacting) keeps the
// burst's RSS for minutes, holding the garbage of its last cycle and up to
// the heap goal (twice the live heap by default). The returner below
// collects and returns it once the server is quiet.

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

// memoryReturner returns the heap's free memory (and the store's mapped
// table pages: store.DB.ReleaseTablePages) to the system when the server is
// quiet: on each tick it reads how much the program allocated
// since the last one; below quiet bytes it calls free (a full collection
// that releases every free page, debug.FreeOSMemory), on the first quiet
// tick and then on ticks 2, 4, 8, … ticks apart (at most maxReturnGap),
// until the server allocates again.
type memoryReturner struct {
	ticks     <-chan time.Time
	allocated func() uint64 // bytes allocated since the start, only growing
	free      func()
	quiet     uint64 // bytes a tick below which the server is quiet
}

// newMemoryReturner is the server's returner, checking every every.
func newMemoryReturner(ticks <-chan time.Time, every time.Duration) *memoryReturner {
	return &memoryReturner{
		ticks:     ticks,
		allocated: heapAllocated,
		free:      debug.FreeOSMemory,
		quiet:     uint64(every.Seconds() * quietBytesPerSecond),
	}
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
		now := r.allocated()
		busy := now-last >= r.quiet
		if busy {
			quietTicks, gap = 0, 1
		} else {
			quietTicks++
		}
		if !busy && quietTicks == gap {
			r.free()
			quietTicks, gap = 0, min(2*gap, maxReturnGap)
		}
		last = r.allocated() // what free allocated is not the server's
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

// tablePages is a store whose mapped files' resident pages can be handed
// back (store.DB.ReleaseTablePages).
type tablePages interface {
	ReleaseTablePages() (int64, error)
}

var _ tablePages = (*store.DB)(nil)

// returnMemoryWhenQuiet starts the server's returner (every > 0) for as
// long as ctx lasts: it returns the heap's free memory and, if st is a
// tablePages, the pages of the store's tables.
func returnMemoryWhenQuiet(ctx context.Context, every time.Duration, st any, log zerolog.Logger) {
	if every <= 0 {
		return
	}
	r := newMemoryReturner(nil, every)
	if tp, ok := st.(tablePages); ok {
		r.free = func() {
			debug.FreeOSMemory()
			if _, err := tp.ReleaseTablePages(); err != nil {
				log.Warn().Err(err).Msg("returning the store's table pages")
			}
		}
	}
	t := time.NewTicker(every)
	r.ticks = t.C
	go func() {
		defer t.Stop()
		r.run(ctx)
	}()
}
