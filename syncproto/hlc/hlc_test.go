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
		s, err := c.Now()
		if err != nil {
			t.Fatal(err)
		}
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
	s, err := c.Now()
	if err != nil {
		t.Fatal(err)
	}
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
	s, _ := c.Now()
	if s.Time >= far {
		t.Fatalf("refused stamp moved the clock: %d >= %d", s.Time, far)
	}
}

func TestCounterOverflow(t *testing.T) {
	w := &fakeWall{t: time.UnixMilli(5)}
	c := NewClock("a", w.now, 0)
	for range 1 << CounterBits {
		if _, err := c.Now(); err != nil {
			t.Fatalf("Now() failed early: %v", err)
		}
	}
	if _, err := c.Now(); !errors.Is(err, ErrCounterOverflow) {
		t.Fatalf("Now() after 65536 stamps in one ms = %v, want ErrCounterOverflow", err)
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
