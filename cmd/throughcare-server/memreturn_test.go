package main

import (
	"context"
	"slices"
	"testing"
	"time"
)

// The returner frees memory on quiet ticks only: the first quiet tick
// after a busy one, then 2, 4, 8, … quiet ticks apart (at most
// maxReturnGap); any busy tick starts again from one.
func TestMemoryReturner(t *testing.T) {
	const quiet = 1000
	tests := []struct {
		name   string
		allocs []uint64 // bytes allocated in each tick
		want   []int    // the ticks (from 1) on which memory was returned
	}{
		{"busy: never", []uint64{5000, 1000, 9999}, nil},
		{"quiet at once", []uint64{0}, []int{1}},
		{"backs off while quiet", make([]uint64, 16), []int{1, 3, 7, 15}},
		{"under the threshold is quiet", []uint64{999, 999, 0}, []int{1, 3}},
		{"busy again starts over", []uint64{0, 0, 0, 5000, 0, 0, 0}, []int{1, 3, 5, 7}},
		{"returns after a burst", []uint64{1 << 30, 1 << 30, 10, 10}, []int{3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := returnsOn(t, quiet, tt.allocs, 0); !slices.Equal(got, tt.want) {
				t.Fatalf("returned on ticks %v, want %v", got, tt.want)
			}
		})
	}
}

// The gap between two returns stops doubling at maxReturnGap.
func TestMemoryReturnerGapBounded(t *testing.T) {
	const n = 5 * maxReturnGap
	var want []int
	for tick, gap := 1, 2; tick <= n; tick, gap = tick+gap, min(2*gap, maxReturnGap) {
		want = append(want, tick)
	}
	got := returnsOn(t, 1000, make([]uint64, n), 0)
	if !slices.Equal(got, want) {
		t.Fatalf("returned on ticks %v, want %v", got, want)
	}
	if last := got[len(got)-1] - got[len(got)-2]; last != maxReturnGap {
		t.Fatalf("last gap %d ticks, want %d", last, maxReturnGap)
	}
}

// What the collection itself allocates does not count against the next
// tick: a server quiet but for its own returns stays quiet.
func TestMemoryReturnerOwnAllocations(t *testing.T) {
	got := returnsOn(t, 1000, make([]uint64, 7), 5000)
	if want := []int{1, 3, 7}; !slices.Equal(got, want) {
		t.Fatalf("returned on ticks %v, want %v", got, want)
	}
}

// returnsOn runs a returner over len(allocs) ticks, allocs[i] bytes
// allocated before tick i+1 and freeCost bytes by each return, and gives
// the ticks memory was returned on. The returner reads what was allocated
// once as it starts and twice a tick; each read is waited for, so every
// tick's allocations land between its reads.
func returnsOn(t *testing.T, quiet uint64, allocs []uint64, freeCost uint64) []int {
	t.Helper()
	ticks := make(chan time.Time)
	read := make(chan struct{})
	var total uint64
	tick := 0
	var returned []int
	r := &memoryReturner{
		ticks: ticks,
		allocated: func() uint64 {
			n := total
			read <- struct{}{}
			return n
		},
		free: func() {
			returned = append(returned, tick)
			total += freeCost
		},
		quiet: quiet,
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.run(ctx) }()
	<-read
	for i, n := range allocs {
		total += n
		tick = i + 1
		ticks <- time.Time{}
		<-read
		<-read
	}
	cancel()
	<-done
	return returned
}
