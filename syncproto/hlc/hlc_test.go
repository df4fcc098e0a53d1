package hlc

import (
	"errors"
	"testing"
	"time"
)

type fakeWall struct{ t time.Time }

func (f *fakeWall) now() time.Time { return f.t }

func TestPackRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		ms      int64
		counter uint16
	}{{0, 0}, {1, 1}, {1_763_900_000_000, 65535}, {1 << 47, 7}} {
		p := Pack(tc.ms, tc.counter)
		if got := WallMillis(p); got != tc.ms {
			t.Errorf("WallMillis(Pack(%d,%d)) = %d, want %d", tc.ms, tc.counter, got, tc.ms)
		}
		if got := Counter(p); got != tc.counter {
			t.Errorf("Counter(Pack(%d,%d)) = %d, want %d", tc.ms, tc.counter, got, tc.counter)
		}
	}
}

func TestClockMonotonicWhenWallStandsStillOrGoesBack(t *testing.T) {
	w := &fakeWall{t: time.UnixMilli(1_000_000)}
	c := NewClock("a", w.now, 0)
	var prev Stamp
	for i := range 100 {
		if i == 50 {
			w.t = w.t.Add(-time.Hour) // the device's clock is wound back
		}
		s := c.Now()
		if s.Compare(prev) <= 0 {
			t.Fatalf("stamp %d = %v, not after %v", i, s, prev)
		}
		prev = s
	}
}

func TestClockOrdersAfterObserved(t *testing.T) {
	w := &fakeWall{t: time.UnixMilli(1_000_000)}
	c := NewClock("b", w.now, time.Hour)
	remote := Pack(1_000_000+60_000, 3) // another device is a minute ahead
	if err := c.Observe(remote); err != nil {
		t.Fatal(err)
	}
	s := c.Now()
	if s.Time <= remote {
		t.Fatalf("Now() = %d after observing %d, want later", s.Time, remote)
	}
}

func TestClockRefusesFarFuture(t *testing.T) {
	w := &fakeWall{t: time.UnixMilli(1_000_000)}
	c := NewClock("b", w.now, time.Minute)
	far := Pack(1_000_000+2*60_000, 0)
	if err := c.Observe(far); !errors.Is(err, ErrClockAhead) {
		t.Fatalf("Observe(2 min ahead) = %v, want ErrClockAhead", err)
	}
	s := c.Now()
	if s.Time >= far {
		t.Fatalf("refused stamp moved the clock: %d >= %d", s.Time, far)
	}
}

// A peer stamping at the very end of a millisecond's counter must not stop
// this clock: the counter carries into the milliseconds and order holds.
func TestCounterCarriesIntoMilliseconds(t *testing.T) {
	w := &fakeWall{t: time.UnixMilli(5)}
	c := NewClock("a", w.now, time.Hour)
	edge := Pack(60_000, 1<<CounterBits-1) // a minute ahead, counter exhausted
	if err := c.Observe(edge); err != nil {
		t.Fatal(err)
	}
	prev := Stamp{Time: edge}
	for range 3 {
		s := c.Now()
		if s.Time <= prev.Time {
			t.Fatalf("Now() = %v, not after %v", s, prev)
		}
		prev = s
	}
	if WallMillis(prev.Time) != 60_001 {
		t.Fatalf("carried stamp wall = %d ms, want 60001", WallMillis(prev.Time))
	}
}

func TestCompareTieBreaksByReplica(t *testing.T) {
	a := Stamp{Time: 10, Replica: "a"}
	b := Stamp{Time: 10, Replica: "b"}
	if a.Compare(b) != -1 || b.Compare(a) != 1 || a.Compare(a) != 0 {
		t.Fatalf("replica tie-break wrong: %d %d %d", a.Compare(b), b.Compare(a), a.Compare(a))
	}
	if (Stamp{Time: 11, Replica: "a"}).Compare(b) != 1 {
		t.Fatal("time must dominate replica")
	}
}
