package diskspace_test

import (
	"errors"
	"testing"
	"time"

	"github.com/throughcare/throughcare/internal/diskspace"
)

func TestMeterCachesFollowsAndKeepsLastOnFailure(t *testing.T) {
	free, probes := uint64(500), 0
	var fail error
	at := time.Unix(1000, 0)
	m := diskspace.NewMeter(func() (uint64, error) { probes++; return free, fail }, 100, time.Second, func() time.Time { return at })
	steps := []struct {
		name    string
		free    uint64
		fail    error
		advance time.Duration
		want    diskspace.Reading
		probes  int
	}{
		{"plenty", 500, nil, 0, diskspace.Reading{Free: 500}, 1},
		{"filled, cached", 10, nil, 999 * time.Millisecond, diskspace.Reading{Free: 500}, 1},
		{"filled, measured", 10, nil, time.Millisecond, diskspace.Reading{Full: true, Free: 10}, 2},
		{"probe fails: last answer kept", 500, errors.New("eio"), time.Second, diskspace.Reading{Full: true, Free: 10, Failing: true}, 3},
		{"freed, clock stepped back", 300, nil, -time.Hour, diskspace.Reading{Free: 300}, 4},
	}
	for _, s := range steps {
		free, fail, at = s.free, s.fail, at.Add(s.advance)
		got := m.Read()
		if (got.Err != nil) != (s.fail != nil) {
			t.Errorf("%s: Err = %v, want the probe's error %v", s.name, got.Err, s.fail)
		}
		got.Err = nil
		if got != s.want || probes != s.probes {
			t.Errorf("%s: Read() = %+v after %d probes, want %+v after %d", s.name, got, probes, s.want, s.probes)
		}
	}
}

func TestMeterZeroThresholdNeverProbes(t *testing.T) {
	m := diskspace.NewMeter(func() (uint64, error) { t.Fatal("probed"); return 0, nil }, 0, 0, nil)
	if r := m.Read(); r.Full {
		t.Fatal("a meter with no threshold reports full")
	}
}
