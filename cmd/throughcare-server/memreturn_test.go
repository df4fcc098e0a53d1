package main

import (
	"context"
	"slices"
	"testing"
	"time"
)

// The returner frees memory on quiet ticks only: the first quiet tick
// after a busy one, then 2, 4, 8, … quiet ticks apart (at most
// maxReturnGap); any busy tick starts again from one. It hands back the
// store's table pages with the heap's free memory.
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
			freed, released := returnsOn(t, quiet, tt.allocs, nil, 0)
			if !slices.Equal(freed, tt.want) || !slices.Equal(released, tt.want) {
				t.Fatalf("freed the heap on ticks %v and the tables on %v, want both on %v", freed, released, tt.want)
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
	got, _ := returnsOn(t, 1000, make([]uint64, n), nil, 0)
	if !slices.Equal(got, want) {
		t.Fatalf("returned on ticks %v, want %v", got, want)
	}
	if last := got[len(got)-1] - got[len(got)-2]; last != maxReturnGap {
		t.Fatalf("last gap %d ticks, want %d", last, maxReturnGap)
	}
}

// What returning allocates does not count against the next tick: a
// server quiet but for its own returns stays quiet.
func TestMemoryReturnerOwnAllocations(t *testing.T) {
	got, _ := returnsOn(t, 1000, make([]uint64, 7), nil, 5000)
	if want := []int{1, 3, 7}; !slices.Equal(got, want) {
		t.Fatalf("returned on ticks %v, want %v", got, want)
	}
}

// A busy server resident past its limit, or with its mapped files past
// theirs, hands back the table pages (not the heap: Go's own limit sees
// to that) on every tick it is over.
func TestMemoryReturnerOverLimit(t *testing.T) {
	allocs := []uint64{5000, 5000, 5000, 5000, 5000, 5000, 0}
	rss := []resident{
		{100, 10}, {600, 10}, {400, 10}, {900, 10}, // the whole over 500
		{300, 200}, {300, 100}, // mapped files over 100
		{300, 300}, // quiet: returns anyway
	}
	tests := []struct {
		name         string
		limit        int64
		mapped       int64
		wantReleased []int
	}{
		{"both", 500, 100, []int{2, 4, 5, 7}},
		{"whole only", 500, 0, []int{2, 4, 7}},
		{"mapped only", 0, 100, []int{5, 7}},
		{"neither", 0, 0, []int{7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			freed, released := returnsOn(t, 1000, allocs, func(r *memoryReturner, tick func() int) {
				r.rss = func() resident { return rss[tick()-1] }
				r.limit, r.mappedLimit = tt.limit, tt.mapped
			}, 0)
			if want := []int{7}; !slices.Equal(freed, want) {
				t.Errorf("freed the heap on ticks %v, want %v", freed, want)
			}
			if !slices.Equal(released, tt.wantReleased) {
				t.Errorf("released the tables on ticks %v, want %v", released, tt.wantReleased)
			}
		})
	}
}

// returnsOn runs a returner over len(allocs) ticks, allocs[i] bytes
// allocated before tick i+1, set up further by with (if not nil; tick
// gives the current tick, from 1), and freeCost bytes allocated by each
// return; it gives the ticks the heap was freed on and those the tables
// were released on. The returner reads what was allocated once as it
// starts and twice a tick; each read is waited for, so every tick's
// allocations land between its reads.
func returnsOn(t *testing.T, quiet uint64, allocs []uint64, with func(*memoryReturner, func() int), freeCost uint64) (freed, released []int) {
	t.Helper()
	ticks := make(chan time.Time)
	read := make(chan struct{})
	var total uint64
	tick := 0
	r := &memoryReturner{
		ticks: ticks,
		allocated: func() uint64 {
			n := total
			read <- struct{}{}
			return n
		},
		free: func() {
			freed = append(freed, tick)
			total += freeCost
		},
		release: func() { released = append(released, tick) },
		quiet:   quiet,
	}
	if with != nil {
		with(r, func() int { return tick })
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
	return freed, released
}

// The process's resident memory reads from /proc: some of it is the
// mapped binary, and the mapped part is never more than the whole.
func TestResidentBytes(t *testing.T) {
	r := residentBytes()
	if r.total <= 0 || r.mapped <= 0 || r.mapped > r.total {
		t.Fatalf("residentBytes() = %+v, want 0 < mapped <= total", r)
	}
}

// Between the quiet checks, each check of the mapped files alone hands
// the table pages back while they are over their limit, whatever the
// allocations.
func TestMemoryReturnerMappedChecks(t *testing.T) {
	mapped := []int64{10, 200, 100, 300, 0} // the last only shows the one before is done
	checks := make(chan time.Time)
	read := make(chan struct{})
	var released []int
	check := 0 // the checks read so far, in the returner's goroutine
	r := &memoryReturner{
		ticks:       make(chan time.Time), // never
		mappedTicks: checks,
		allocated:   func() uint64 { return 0 },
		free:        func() { t.Error("freed the heap on a check of the mapped files") },
		release:     func() { released = append(released, check) },
		rss: func() resident {
			check++
			read <- struct{}{}
			return resident{total: 1 << 30, mapped: mapped[check-1]}
		},
		mappedLimit: 100,
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.run(ctx) }()
	for range mapped {
		checks <- time.Time{}
		<-read
	}
	cancel()
	<-done
	if want := []int{2, 4}; !slices.Equal(released, want) {
		t.Fatalf("released the tables on checks %v, want %v (over 100 bytes mapped)", released, want)
	}
}
