package main

import (
	"runtime/debug"

	"github.com/rs/zerolog"
)

// setMemoryLimit sets Go's soft memory limit to limit bytes (--memory-limit),
// if it is set; otherwise the runtime keeps GOMEMLIMIT's, or none. Near
// the limit the collector runs more often and the runtime returns freed
// memory to the system sooner, so the server stays under it while the
// store's memtables and caches (store.Default*) fit well inside.
func setMemoryLimit(limit int64, log zerolog.Logger) {
	if limit > 0 {
		debug.SetMemoryLimit(limit)
	}
	if l := debug.SetMemoryLimit(-1); l != 1<<63-1 {
		log.Info().Int64("bytes", l).Msg("memory limit")
	}
}
