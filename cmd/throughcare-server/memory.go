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

// DefaultGCPercent is --gc-percent's default, 50: the collector runs once
// the heap has grown by half the live heap (Go's default is all of it).
// The live heap of a server at rest is mostly the store's memtable and
// caches (about 120 MB at a million contacts); a full sync's garbage then
// takes the heap to 1.5 times that, not twice: 60 MB less resident during
// a full sync, for 5-15% more CPU in collections while busy (measured with
// make bench-real, deploy/OPERATIONS.md, Sizing). Near --memory-limit the
// limit governs instead.
const DefaultGCPercent = 50

// setGCPercent sets the collector's target (--gc-percent), as GOGC does;
// GOGC, if set (getenv), replaces the default; 0 keeps GOGC's, or Go's 100.
func setGCPercent(percent int, getenv func(string) string) {
	if percent > 0 && (percent != DefaultGCPercent || getenv("GOGC") == "") {
		debug.SetGCPercent(percent)
	}
}
