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
	// mappedEvery is how often a server with a --mapped-limit checks its
	// mapped files: a full sync of a large store reads 20-50 MB of tables
	// a second. A check reads /proc/self/statm.
	mappedEvery = 250 * time.Millisecond
	// DefaultMappedLimit is how much of the server's resident memory may
	// be mapped files (--mapped-limit) before a busy check hands back the
	// store's table pages: the binary's own (about 20 MB), the
	// write-ahead logs' and the tables'. A full sync of a million contacts
	// otherwise keeps every page it read resident, 270 MB of them.
	DefaultMappedLimit = 64 << 20
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
// memory (rss) is over limit, or its mapped files over mappedLimit: Go's
// soft limit keeps the heap near the limit, and this keeps the mapped
// tables from taking the process past it (a long pull reads through
// them). Between ticks, each of mappedTicks releases if the mapped files
// are over mappedLimit.
type memoryReturner struct {
	ticks <-chan time.Time
	// mappedTicks are checks of the mapped files alone (past mappedLimit:
	// release), between ticks.
	mappedTicks <-chan time.Time
	allocated   func() uint64 // bytes allocated since the start, only growing
	free        func()
	release     func()
	rss         func() resident
	quiet       uint64 // bytes a tick below which the server is quiet
	limit       int64  // resident bytes over which a busy tick releases; 0: never
	// mappedLimit is the resident bytes of mapped files over which a busy
	// tick releases; 0: never.
	mappedLimit int64
}

// run returns memory on the ticks until ctx ends.
func (r *memoryReturner) run(ctx context.Context) {
	last := r.allocated()
	quietTicks, gap := 0, 1
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.mappedTicks:
			if r.mappedLimit > 0 && r.rss().mapped > r.mappedLimit {
				r.release()
			}
			continue
		case <-r.ticks:
		}
		busy := r.allocated()-last >= r.quiet
		switch {
		case busy:
			quietTicks, gap = 0, 1
			if r.overLimit() {
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

// overLimit reports whether the process is resident past limit, or its
// mapped files past mappedLimit.
func (r *memoryReturner) overLimit() bool {
	if r.limit <= 0 && r.mappedLimit <= 0 {
		return false
	}
	m := r.rss()
	return (r.limit > 0 && m.total > r.limit) || (r.mappedLimit > 0 && m.mapped > r.mappedLimit)
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

// resident is how much of the process is in memory, in bytes.
type resident struct {
	total  int64 // all of it
	mapped int64 // mapped files: the binary, the store's logs and tables
}

// residentBytes reads the process's resident memory (/proc/self/statm:
// size, resident, shared pages; shared counts the file-backed ones), zeros
// where it cannot be read.
func residentBytes() resident {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return resident{}
	}
	f := bytes.Fields(b)
	if len(f) < 3 {
		return resident{}
	}
	total, err1 := strconv.ParseInt(string(f[1]), 10, 64)
	shared, err2 := strconv.ParseInt(string(f[2]), 10, 64)
	if err1 != nil || err2 != nil {
		return resident{}
	}
	page := int64(os.Getpagesize())
	return resident{total: total * page, mapped: shared * page}
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
// is resident past Go's memory limit or its mapped files past mappedLimit
// (0: never).
func returnMemoryWhenQuiet(ctx context.Context, every time.Duration, mappedLimit int64, st any, log zerolog.Logger) {
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
		r.mappedLimit = mappedLimit
	}
	t := time.NewTicker(every)
	r.ticks = t.C
	var m *time.Ticker
	if r.mappedLimit > 0 {
		m = time.NewTicker(min(every, mappedEvery))
		r.mappedTicks = m.C
	}
	go func() {
		defer t.Stop()
		if m != nil {
			defer m.Stop()
		}
		r.run(ctx)
	}()
}
