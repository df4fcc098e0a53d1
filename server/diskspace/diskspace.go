// Package diskspace owns one question: is there room on the data
// directory's filesystem to write? Badger writes through memory-mapped
// files, so a write that finds the disk full crashes the process (SIGBUS)
// instead of failing; the server asks a Guard before each write and refuses
// the write while free space is below a threshold, long before the disk is
// actually full. The answer is cached for a short interval so asking is
// cheap, and it follows the disk both ways: when space is freed, writes
// resume without a restart.
package diskspace

import (
	"errors"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/internal/diskspace"
	"github.com/throughcare/throughcare/server/errkind"
)

// DefaultMinFree is the default threshold: writes are refused while less
// than this many bytes are free. It leaves room for Badger's preallocated
// memtable and value-log files and for compaction.
const DefaultMinFree = 512 << 20

// DefaultInterval is how long a measurement of free space is trusted.
const DefaultInterval = diskspace.DefaultInterval

// Probe measures the bytes free (to an unprivileged user) on the
// filesystem that holds the data.
type Probe = diskspace.Probe

// Statfs returns a probe of the bytes available to unprivileged users on
// the filesystem holding dir.
func Statfs(dir string) Probe { return diskspace.Statfs(dir) }

// Config configures a Guard.
type Config struct {
	// Dir is the data directory; it is measured with Statfs unless Probe
	// is set, and named in log lines.
	Dir string
	// Probe, when set, replaces Statfs(Dir) (tests).
	Probe Probe
	// MinFree is the threshold in bytes; 0 turns the guard off.
	MinFree uint64
	// Interval is how long a measurement is trusted (default
	// DefaultInterval).
	Interval time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger gets one line each time the guard starts or stops refusing
	// writes, and when the probe starts or stops failing.
	Logger zerolog.Logger
}

// Guard answers whether there is room to write. It is safe for concurrent
// use.
type Guard struct {
	cfg Config

	mu    sync.Mutex
	meter *diskspace.Meter
	last  diskspace.Reading
}

// New returns a guard.
func New(cfg Config) (*Guard, error) {
	if cfg.Probe == nil {
		if cfg.Dir == "" {
			return nil, errors.New("diskspace: a data directory or a probe is required")
		}
		cfg.Probe = Statfs(cfg.Dir)
	}
	return &Guard{cfg: cfg, meter: diskspace.NewMeter(cfg.Probe, cfg.MinFree, cfg.Interval, cfg.Now)}, nil
}

// Room returns nil if there is room to write, or an errkind.Exhausted error
// whose message tells the caller (an operator, in the end) how much space
// is free and how much is required. It measures at most once per
// interval. A probe that fails keeps the last answer (room, before any
// measurement) and is logged.
func (g *Guard) Room() error {
	if g.cfg.MinFree == 0 {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.meter.Read()
	g.logChange(g.last, r)
	g.last = r
	if !r.Full {
		return nil
	}
	return errkind.E(errkind.Exhausted,
		"the server's disk is nearly full (%d MiB free, %d MiB required); writes are refused until space is freed",
		r.Free>>20, mib(g.cfg.MinFree))
}

// logChange logs a change of state from was to now. g.mu is held.
func (g *Guard) logChange(was, now diskspace.Reading) {
	switch {
	case now.Failing && !was.Failing:
		g.cfg.Logger.Error().Err(now.Err).Str("data", g.cfg.Dir).Msg("cannot measure free disk space; keeping the last answer")
	case !now.Failing && was.Failing:
		g.cfg.Logger.Info().Str("data", g.cfg.Dir).Msg("free disk space can be measured again")
	}
	switch {
	case now.Full && !was.Full:
		g.cfg.Logger.Warn().Str("data", g.cfg.Dir).Uint64("free_bytes", now.Free).Uint64("min_free_bytes", g.cfg.MinFree).
			Msg("disk nearly full: refusing writes until space is freed (reads go on)")
	case !now.Full && was.Full:
		g.cfg.Logger.Info().Str("data", g.cfg.Dir).Uint64("free_bytes", now.Free).Uint64("min_free_bytes", g.cfg.MinFree).
			Msg("disk space recovered: writes resume")
	}
}

// mib rounds a threshold up to whole MiB, so a message never says less is
// required than is.
func mib(n uint64) uint64 { return (n + 1<<20 - 1) >> 20 }
