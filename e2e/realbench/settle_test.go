package main

import (
	"context"
	"testing"
	"time"
)

// The settler waits for two quiet checks in a row, starting again after a
// busy one, and gives up after its checks.
func TestSettler(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name        string
		perCheck    []time.Duration // CPU used before each check
		checks      int
		wantChecks  int
		wantUsed    time.Duration
		wantSettled bool
	}{
		{"at rest at once", []time.Duration{0, 10 * ms}, 10, 2, 10 * ms, true},
		{"compacting, then rest", []time.Duration{900 * ms, 800 * ms, 10 * ms, 10 * ms}, 10, 4, 1720 * ms, true},
		{"a busy check starts over", []time.Duration{10 * ms, 500 * ms, 10 * ms, 0}, 10, 4, 520 * ms, true},
		{"the quiet bound is strict", []time.Duration{50 * ms, 50 * ms, 0, 0}, 10, 4, 100 * ms, true},
		{"never at rest", []time.Duration{900 * ms, 900 * ms, 900 * ms}, 3, 3, 2700 * ms, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ticks := make(chan time.Time)
			var cpu time.Duration
			n := 0
			s := settler{
				cpu: func() (time.Duration, error) {
					if n > 0 {
						cpu += tt.perCheck[n-1]
					}
					n++
					return cpu, nil
				},
				ticks:  ticks,
				quiet:  50 * ms,
				checks: tt.checks,
			}
			go func() {
				for range tt.perCheck {
					ticks <- time.Time{}
				}
			}()
			checks, used, settled, err := s.wait(context.Background())
			if err != nil || checks != tt.wantChecks || used != tt.wantUsed || settled != tt.wantSettled {
				t.Fatalf("wait() = %d checks, %v used, settled %v, %v; want %d, %v, %v, nil", checks, used, settled, err, tt.wantChecks, tt.wantUsed, tt.wantSettled)
			}
		})
	}
}
