package main

import (
	"runtime/debug"

	"github.com/rs/zerolog"
)

// DefaultMemoryLimit is --memory-limit's default, 512 MiB: for an area's
// server on a box of 1 to 2 GB. The store's memtables and caches
// (store.Default*, about 130 MiB) and its compaction buffers (up to 300
// MiB while a large seeding is compacted) fit under it; the rest of the
// heap is garbage, which the collector then keeps near the limit instead
// of letting it grow to twice the live heap (deploy/OPERATIONS.md, Sizing).
const DefaultMemoryLimit = 512 << 20

// setMemoryLimit sets Go's soft memory limit to limit bytes (--memory-limit),
// if it is set; 0 keeps GOMEMLIMIT's, or none. GOMEMLIMIT, if set (getenv),
// also replaces the default. Near the limit the collector runs more often
// and the runtime returns freed memory to the system sooner, so the server
// stays under it while the store's memtables and caches fit well inside.
// The limit is soft: what the store holds live can take the heap past it,
// at the cost of collecting more often.
func setMemoryLimit(limit int64, getenv func(string) string, log zerolog.Logger) {
	if limit > 0 && (limit != DefaultMemoryLimit || getenv("GOMEMLIMIT") == "") {
		debug.SetMemoryLimit(limit)
	}
	if l := debug.SetMemoryLimit(-1); l != 1<<63-1 {
		log.Info().Int64("bytes", l).Msg("memory limit")
	}
}
