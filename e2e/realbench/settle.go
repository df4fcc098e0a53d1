package main

import (
	"context"
	"time"
)

// Seeding leaves the server compacting the tables it wrote for many
// seconds after the last push (half a minute at 100k contacts, minutes at
// a million), holding Badger's table builders in memory meanwhile. The
// idle figures and the full syncs wait for it to finish: "idle" is a
// server at rest, and a full sync's memory is the sync's, not what the
// compaction holds. The figures 5 s after seeding show the other case.

// settler waits for a process to come to rest.
type settler struct {
	cpu    func() (time.Duration, error) // the process's CPU so far
	ticks  <-chan time.Time              // one check each
	quiet  time.Duration                 // CPU between two checks under which it is resting
	checks int                           // checks after which to give up
}

// restingChecks is how many checks in a row must find the process resting.
const restingChecks = 2

// wait checks on each tick until the process used under quiet CPU for
// restingChecks checks in a row, or s.checks passed (settled false). It
// returns the checks made and the CPU used meanwhile.
func (s settler) wait(ctx context.Context) (checks int, used time.Duration, settled bool, err error) {
	start, err := s.cpu()
	if err != nil {
		return 0, 0, false, err
	}
	last, resting := start, 0
	for checks < s.checks && resting < restingChecks {
		select {
		case <-ctx.Done():
			return checks, last - start, false, ctx.Err()
		case <-s.ticks:
		}
		checks++
		now, err := s.cpu()
		if err != nil {
			return checks, last - start, false, err
		}
		if now-last < s.quiet {
			resting++
		} else {
			resting = 0
		}
		last = now
	}
	return checks, last - start, resting == restingChecks, nil
}
