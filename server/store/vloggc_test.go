package store

import (
	"errors"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/rs/zerolog"
)

var gcNow = time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)

// openGC opens a store on disk whose garbage collection runs on the ticks
// it returns.
func openGC(t *testing.T) (*DB, chan time.Time) {
	t.Helper()
	ticks := make(chan time.Time) // unbuffered: a send returns once the loop has taken it
	s, err := Open(Options{Dir: t.TempDir(), Logger: zerolog.Nop(), GCTicks: ticks, Now: func() time.Time { return gcNow }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() }) // closed again: the tests close it to wait for the loop
	return s, ticks
}

// closeStore closes s, which waits for its GC loop.
func closeStore(t *testing.T, s *DB) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// A pass rewrites value-log files until Badger says there is nothing left
// to rewrite, and counts what it did.
func TestGCPassRunsUntilNothingToRewrite(t *testing.T) {
	boom := errors.New("disk on fire")
	for _, tc := range []struct {
		name  string
		calls []error // what RunValueLogGC returns, in turn
		want  GCStats
	}{
		{"nothing to rewrite", []error{badger.ErrNoRewrite}, GCStats{Passes: 2, LastSuccess: gcNow}},
		{"three files rewritten", []error{nil, nil, nil, badger.ErrNoRewrite}, GCStats{Passes: 2, Rewrites: 3, LastSuccess: gcNow}},
		{"a failure ends the pass", []error{nil, boom, nil}, GCStats{Passes: 2, Rewrites: 1, Failures: 1}},
		{"another GC running", []error{badger.ErrRejected}, GCStats{Passes: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ticks := openGC(t)
			calls := tc.calls
			s.gc.run = func(ratio float64) error {
				if ratio != gcDiscardRatio {
					t.Errorf("discard ratio %v, want %v", ratio, gcDiscardRatio)
				}
				// The second pass (the first has been counted), whether it
				// starts before the close or not: neither success nor
				// failure.
				if s.gc.passes.Load() > 0 || len(calls) == 0 {
					return badger.ErrRejected
				}
				err := calls[0]
				calls = calls[1:]
				return err
			}
			ticks <- gcNow
			ticks <- gcNow   // taken once the first pass is over
			closeStore(t, s) // waits for the second
			if got := s.GCStats(); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if tc.name == "a failure ends the pass" && len(calls) != 1 {
				t.Errorf("%d calls left after the failure, want 1 (the pass must stop at it)", len(calls))
			}
		})
	}
}

// Closing the store stops a pass that would go on rewriting.
func TestGCPassStopsOnClose(t *testing.T) {
	s, ticks := openGC(t)
	running := make(chan struct{}, 1)
	s.gc.run = func(float64) error {
		select {
		case running <- struct{}{}:
		default:
		}
		return nil // always another file to rewrite
	}
	ticks <- gcNow
	<-running
	if err := s.Close(); err != nil { // hangs if the pass does not stop
		t.Fatal(err)
	}
	if got := s.GCStats(); got.Passes != 1 || got.Rewrites == 0 {
		t.Errorf("got %+v, want one pass with rewrites", got)
	}
}

// Badger's own GC runs on a tick: a fresh store has nothing to rewrite.
func TestGCRunsBadger(t *testing.T) {
	s, ticks := openGC(t)
	ticks <- gcNow
	ticks <- gcNow
	closeStore(t, s)
	if got, want := s.GCStats(), (GCStats{Passes: 2, LastSuccess: gcNow}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// The default schedule, and none for a negative interval or a store in
// memory.
func TestGCSchedule(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		want time.Duration
	}{
		{"default", Options{}, DefaultGCInterval},
		{"hourly", Options{GCInterval: time.Hour}, time.Hour},
		{"off", Options{GCInterval: -1}, 0},
		{"in memory", Options{InMemory: true, GCInterval: time.Hour}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			if !o.InMemory {
				o.Dir = t.TempDir()
			}
			o.Logger = zerolog.Nop()
			s, err := Open(o)
			if err != nil {
				t.Fatal(err)
			}
			defer closeStore(t, s)
			if got := s.gc.every; got != tc.want {
				t.Errorf("every %v, want %v", got, tc.want)
			}
		})
	}
}
