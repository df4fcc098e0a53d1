// Package diskspace measures free space on the filesystem that holds a
// Badger directory, for the server and the tablet SDK alike. Badger writes
// through memory-mapped files, so a write that finds the disk full crashes
// the process (SIGBUS) instead of failing; both sides refuse writes while
// free space is below a threshold, long before the disk is actually full.
// A Meter caches its measurement for a short interval so asking is cheap,
// and follows the disk both ways: when space is freed, it says so.
package diskspace

import (
	"time"
)

// DefaultInterval is how long a measurement of free space is trusted.
const DefaultInterval = time.Second

// Probe measures the bytes free (to an unprivileged user) on the
// filesystem that holds the data.
type Probe func() (uint64, error)

// Reading is a Meter's answer.
type Reading struct {
	// Full is true while the last good measurement was below the threshold.
	Full bool
	// Free is the last good measurement in bytes (0 before any).
	Free uint64
	// Failing is true while the probe fails; Err is its error, set only on
	// the call that probed.
	Failing bool
	Err     error
}

// Meter compares free space with a threshold, measuring at most once per
// interval (and again if the clock steps back). A failing probe keeps the
// last answer (room, before any measurement). A Meter is not safe for
// concurrent use: its owner serialises calls.
type Meter struct {
	probe    Probe
	minFree  uint64
	interval time.Duration
	now      func() time.Time

	measured bool
	at       time.Time
	last     Reading
}

// NewMeter returns a meter refusing below minFree bytes (0: never full,
// and never probes). interval <= 0 means DefaultInterval; now nil means
// time.Now.
func NewMeter(probe Probe, minFree uint64, interval time.Duration, now func() time.Time) *Meter {
	if interval <= 0 {
		interval = DefaultInterval
	}
	if now == nil {
		now = time.Now
	}
	return &Meter{probe: probe, minFree: minFree, interval: interval, now: now}
}

// MinFree is the threshold in bytes.
func (m *Meter) MinFree() uint64 { return m.minFree }

// Read returns the current answer, measuring if the last measurement is
// older than the interval.
func (m *Meter) Read() Reading {
	if m.minFree == 0 {
		return Reading{}
	}
	now := m.now()
	if m.measured && now.Sub(m.at) < m.interval && !now.Before(m.at) {
		r := m.last
		r.Err = nil
		return r
	}
	m.measured, m.at = true, now
	free, err := m.probe()
	if err != nil {
		m.last.Failing, m.last.Err = true, err
		return m.last
	}
	m.last = Reading{Full: free < m.minFree, Free: free}
	return m.last
}
