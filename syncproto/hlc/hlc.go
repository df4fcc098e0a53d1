// Package hlc implements the hybrid logical clock that stamps every change in
// Throughcare.
//
// A stamp packs wall-clock milliseconds and a logical counter into one
// uint64 (milliseconds << 16 | counter) and is paired with the replica (device)
// id that made it. Stamps order changes across devices: the higher time wins,
// and equal times are ordered by replica id. A clock never goes backwards and
// always stamps later than anything it has observed, so an edit made after
// seeing another edit is always ordered after it, even when the device's wall
// clock is behind.
//
// The same code runs on the server and in the SDK.
package hlc

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// CounterBits is the number of low bits of a packed time that hold the
// logical counter.
const CounterBits = 16

const counterMask = 1<<CounterBits - 1

// Pack combines wall-clock milliseconds since the Unix epoch and a logical
// counter into a packed time.
func Pack(wallMillis int64, counter uint16) uint64 {
	return uint64(wallMillis)<<CounterBits | uint64(counter)
}

// Wall returns the wall-clock part of a packed time.
func Wall(t uint64) time.Time {
	return time.UnixMilli(int64(t >> CounterBits)).UTC()
}

// WallMillis returns the wall-clock milliseconds of a packed time.
func WallMillis(t uint64) int64 { return int64(t >> CounterBits) }

// Counter returns the logical counter of a packed time.
func Counter(t uint64) uint16 { return uint16(t & counterMask) }

// Stamp is a packed time and the replica that made it.
type Stamp struct {
	Time    uint64
	Replica string
}

// IsZero reports whether s is the zero stamp (no value).
func (s Stamp) IsZero() bool { return s.Time == 0 && s.Replica == "" }

// String formats the stamp for logs and tests: wall time, counter, replica.
func (s Stamp) String() string {
	return fmt.Sprintf("%s+%d@%s", Wall(s.Time).Format(time.RFC3339Nano), Counter(s.Time), s.Replica)
}

// Compare orders two stamps: by time, then by replica id. It returns -1, 0
// or +1.
func Compare(aTime uint64, aReplica string, bTime uint64, bReplica string) int {
	switch {
	case aTime < bTime:
		return -1
	case aTime > bTime:
		return 1
	}
	return strings.Compare(aReplica, bReplica)
}

// Compare orders s against o (see the package function Compare).
func (s Stamp) Compare(o Stamp) int { return Compare(s.Time, s.Replica, o.Time, o.Replica) }

// ErrClockAhead reports a stamp further in the future than the clock allows.
var ErrClockAhead = errors.New("hlc: stamp is too far in the future")

// Clock is a hybrid logical clock for one replica. It is safe for concurrent
// use.
type Clock struct {
	now     func() time.Time
	replica string
	maxSkew time.Duration

	mu   sync.Mutex
	last uint64
}

// NewClock returns a clock for replica that reads wall time from now and
// refuses to observe stamps more than maxSkew ahead of it (0 means no bound).
func NewClock(replica string, now func() time.Time, maxSkew time.Duration) *Clock {
	return &Clock{now: now, replica: replica, maxSkew: maxSkew}
}

// Replica returns the clock's replica id.
func (c *Clock) Replica() string { return c.replica }

// Now returns a new stamp, later than every stamp this clock has made or
// observed. When the wall clock lags behind what the clock has seen, the
// logical counter counts on; if it runs out within one millisecond it
// carries into the milliseconds, which keeps stamps ordered (and a peer
// stamping at the edge of the counter can never stop this clock).
func (c *Clock) Now() Stamp {
	c.mu.Lock()
	defer c.mu.Unlock()
	next := max(Pack(c.now().UnixMilli(), 0), c.last+1)
	c.last = next
	return Stamp{Time: next, Replica: c.replica}
}

// Observe moves the clock past a stamp received from another replica, so
// that the next stamp it makes orders after it. A stamp further ahead than
// the clock's skew bound is refused with ErrClockAhead and not observed.
func (c *Clock) Observe(t uint64) error {
	if err := CheckSkew(t, c.now(), c.maxSkew); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t > c.last {
		c.last = t
	}
	return nil
}

// CheckSkew returns ErrClockAhead if packed time t is more than maxSkew ahead
// of now. A maxSkew of 0 disables the check.
func CheckSkew(t uint64, now time.Time, maxSkew time.Duration) error {
	if maxSkew <= 0 {
		return nil
	}
	if WallMillis(t) > now.Add(maxSkew).UnixMilli() {
		return ErrClockAhead
	}
	return nil
}
