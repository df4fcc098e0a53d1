package diskspace_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/diskspace"
	"github.com/throughcare/throughcare/server/errkind"
)

// disk is a filesystem the test fills and empties by hand.
type disk struct {
	free   uint64
	err    error
	probes int
}

func (d *disk) probe() (uint64, error) {
	d.probes++
	return d.free, d.err
}

// clock is a clock the test moves by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newGuard(t *testing.T, d *disk, c *clock, logs *bytes.Buffer) *diskspace.Guard {
	t.Helper()
	g, err := diskspace.New(diskspace.Config{
		Dir: "/data", Probe: d.probe, MinFree: 100 << 20, Interval: time.Second, Now: c.now, Logger: zerolog.New(logs),
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestRefusesBelowThresholdAndResumes(t *testing.T) {
	d, c, logs := &disk{free: 500 << 20}, &clock{t: time.Unix(1000, 0)}, &bytes.Buffer{}
	g := newGuard(t, d, c, logs)
	steps := []struct {
		name    string
		free    uint64
		advance time.Duration
		full    bool
	}{
		{"plenty", 500 << 20, 0, false},
		{"filled, not yet measured again", 10 << 20, 500 * time.Millisecond, false},
		{"filled, measured", 10 << 20, 500 * time.Millisecond, true},
		{"still full", 10 << 20, 2 * time.Second, true},
		{"just below", 100<<20 - 1, 2 * time.Second, true},
		{"at the threshold", 100 << 20, 2 * time.Second, false},
		{"freed", 300 << 20, 2 * time.Second, false},
	}
	for _, s := range steps {
		d.free = s.free
		c.t = c.t.Add(s.advance)
		err := g.Room()
		if got := err != nil; got != s.full {
			t.Fatalf("%s: Room() = %v, want refused %v", s.name, err, s.full)
		}
		if err != nil && errkind.Of(err) != errkind.Exhausted {
			t.Fatalf("%s: Room() kind = %v, want Exhausted", s.name, errkind.Of(err))
		}
	}
	if got := strings.Count(logs.String(), "disk nearly full"); got != 1 {
		t.Errorf("%d warnings for one spell of full disk, want 1:\n%s", got, logs)
	}
	if got := strings.Count(logs.String(), "writes resume"); got != 1 {
		t.Errorf("%d recoveries logged, want 1:\n%s", got, logs)
	}
}

func TestMessageSaysFreeAndRequired(t *testing.T) {
	d, c := &disk{free: 42 << 20}, &clock{t: time.Unix(1000, 0)}
	err := newGuard(t, d, c, &bytes.Buffer{}).Room()
	want := "the server's disk is nearly full (42 MiB free, 100 MiB required); writes are refused until space is freed"
	if err == nil || err.Error() != want {
		t.Fatalf("Room() = %v, want %q", err, want)
	}
}

func TestMeasuresAtMostOncePerInterval(t *testing.T) {
	d, c := &disk{free: 500 << 20}, &clock{t: time.Unix(1000, 0)}
	g := newGuard(t, d, c, &bytes.Buffer{})
	for range 1000 {
		g.Room()
	}
	c.t = c.t.Add(999 * time.Millisecond)
	g.Room()
	if d.probes != 1 {
		t.Fatalf("%d probes within one interval, want 1", d.probes)
	}
	c.t = c.t.Add(time.Millisecond)
	g.Room()
	c.t = c.t.Add(-time.Hour) // a clock stepped back measures again
	g.Room()
	if d.probes != 3 {
		t.Fatalf("%d probes, want 3", d.probes)
	}
}

func TestFailingProbeKeepsLastAnswer(t *testing.T) {
	d, c, logs := &disk{free: 10 << 20}, &clock{t: time.Unix(1000, 0)}, &bytes.Buffer{}
	g := newGuard(t, d, c, logs)
	if g.Room() == nil {
		t.Fatal("full disk allowed")
	}
	d.err = errors.New("statfs: input/output error")
	for range 3 {
		c.t = c.t.Add(2 * time.Second)
		if g.Room() == nil {
			t.Fatal("a failing probe turned a full disk into room")
		}
	}
	if got := strings.Count(logs.String(), "cannot measure"); got != 1 {
		t.Errorf("%d probe failures logged, want 1:\n%s", got, logs)
	}
	fresh := newGuard(t, &disk{err: d.err}, c, &bytes.Buffer{})
	if err := fresh.Room(); err != nil {
		t.Fatalf("unmeasurable disk refused before any measurement: %v", err)
	}
}

func TestZeroThresholdIsOff(t *testing.T) {
	d := &disk{free: 0}
	g, err := diskspace.New(diskspace.Config{Probe: d.probe})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Room(); err != nil || d.probes != 0 {
		t.Fatalf("Room() = %v after %d probes, want nil without probing", err, d.probes)
	}
}

func TestStatfsMeasuresARealDirectory(t *testing.T) {
	free, err := diskspace.Statfs(t.TempDir())()
	if err != nil || free == 0 {
		t.Fatalf("Statfs = %d, %v; want some free bytes", free, err)
	}
	if _, err := diskspace.Statfs("/does/not/exist")(); err == nil {
		t.Fatal("Statfs of a missing directory did not fail")
	}
}
