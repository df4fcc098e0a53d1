package store

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rs/zerolog"
)

// DefaultGCInterval is how often value-log garbage collection runs unless
// Options.GCInterval says otherwise.
const DefaultGCInterval = 10 * time.Minute

// gcDiscardRatio is the share of a value-log file that must be garbage
// before Badger rewrites it.
const gcDiscardRatio = 0.5

// GCStats counts the store's value-log garbage collection since it opened.
type GCStats struct {
	// Passes is the scheduled passes run; each rewrites value-log files
	// until Badger finds none worth rewriting.
	Passes uint64
	// Rewrites is the value-log files rewritten (space reclaimed).
	Rewrites uint64
	// Failures is the passes that ended with an error other than "nothing
	// left to rewrite" or "a GC is already running".
	Failures uint64
	// LastSuccess is when a pass last ended cleanly (zero: never).
	LastSuccess time.Time
}

// GCStats returns the value-log garbage collection's counts.
func (s *DB) GCStats() GCStats {
	st := GCStats{Passes: s.gc.passes.Load(), Rewrites: s.gc.rewrites.Load(), Failures: s.gc.failures.Load()}
	if ns := s.gc.lastSuccess.Load(); ns != 0 {
		st.LastSuccess = time.Unix(0, ns).UTC()
	}
	return st
}

// vlogGC is the state of the value-log garbage collection.
type vlogGC struct {
	// run is Badger's RunValueLogGC (tests replace it).
	run func(discardRatio float64) error
	// every is the interval of the scheduled passes (0: none, or ticks).
	every                      time.Duration
	passes, rewrites, failures atomic.Uint64
	lastSuccess                atomic.Int64 // Unix ns
}

// startGC starts the value-log garbage collection as o asks: a pass every
// o.GCInterval (default DefaultGCInterval, negative: never), or on every
// tick of o.GCTicks. A store in memory has no value log to collect.
func (s *DB) startGC(o Options) {
	s.gc.run = s.db.RunValueLogGC
	if o.InMemory {
		return
	}
	if o.GCTicks != nil {
		s.wg.Go(func() { s.gcLoop(o.GCTicks, o.Logger) })
		return
	}
	interval := o.GCInterval
	if interval == 0 {
		interval = DefaultGCInterval
	}
	if interval < 0 {
		return
	}
	s.gc.every = interval
	s.wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		s.gcLoop(t.C, o.Logger)
	})
}

// gcLoop runs a pass of value-log garbage collection on every tick until
// the store closes.
func (s *DB) gcLoop(ticks <-chan time.Time, log zerolog.Logger) {
	for {
		select {
		case <-s.stop:
			return
		case <-ticks:
		}
		s.gcPass(log)
	}
}

// gcPass rewrites value-log files until Badger says there is nothing left
// worth rewriting, or the store is closing. The time it takes is spent
// here, off the writers' path.
func (s *DB) gcPass(log zerolog.Logger) {
	defer s.gc.passes.Add(1)
	for {
		select {
		case <-s.stop:
			return
		default:
		}
		err := s.gc.run(gcDiscardRatio)
		switch {
		case err == nil:
			s.gc.rewrites.Add(1)
			continue
		case errors.Is(err, badger.ErrNoRewrite):
			s.gc.lastSuccess.Store(s.now().UnixNano())
		case errors.Is(err, badger.ErrRejected): // another GC is running, or the store is closing
		default:
			s.gc.failures.Add(1)
			log.Warn().Err(err).Msg("value log gc")
		}
		return
	}
}
