package caseload

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeTimers stands in for RunReminders' timers and clock: the test waits
// for a timer to be set for a time, then moves the clock there, firing
// every timer due by then.
type fakeTimers struct {
	mu     sync.Mutex
	now    time.Time
	timers map[*fakeTimer]bool
	set    chan struct{} // signalled when a timer is set
}

type fakeTimer struct {
	at   time.Time
	fire chan time.Time
}

func newFakeTimers(now time.Time) *fakeTimers {
	return &fakeTimers{now: now, timers: map[*fakeTimer]bool{}, set: make(chan struct{}, 1)}
}

func (f *fakeTimers) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeTimers) after(d time.Duration) (<-chan time.Time, func() bool) {
	f.mu.Lock()
	t := &fakeTimer{at: f.now.Add(d), fire: make(chan time.Time, 1)}
	f.timers[t] = true
	f.mu.Unlock()
	select {
	case f.set <- struct{}{}:
	default:
	}
	return t.fire, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.timers, t)
		return true
	}
}

// pending reports whether a timer is set for at.
func (f *fakeTimers) pending(at time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for t := range f.timers {
		if t.at.Equal(at) {
			return true
		}
	}
	return false
}

// await waits until a timer is set for at.
func (f *fakeTimers) await(at time.Time) {
	for !f.pending(at) {
		<-f.set
	}
}

// advance moves the clock to at, once a timer is set for it, and fires
// every timer due by then.
func (f *fakeTimers) advance(at time.Time) {
	f.await(at)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = at
	for t := range f.timers {
		if !t.at.After(at) {
			t.fire <- at
			delete(f.timers, t)
		}
	}
}

// RunReminders announces an appointment when its start passes with no
// outcome, and a follow-up the day after its date, by the device's clock;
// one given its outcome in time is not announced, nor what was overdue when
// it started.
func TestRunRemindersAnnouncesWhatBecomesOverdue(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	clock := newFakeTimers(day0)
	d, c1 := enrolledDevice(t, func(c *Config) { c.Now = clock.Now })
	d.after = clock.after
	c2, c3 := holdClient(t, d), holdClient(t, d)
	mustBook(t, d, c3, keywork(day0.Add(-time.Hour))) // overdue already
	soon := day0.Add(time.Hour)
	mustBook(t, d, c1, keywork(soon))
	kept := mustBook(t, d, c2, keywork(day0.Add(30*time.Minute)))
	f := contactAt(day0.Add(-time.Hour))
	f.FollowUp = DateOf(day0)
	mustLog(t, d, c2, f)

	ready, take, stop := d.Watch()
	defer stop()
	announced := func() []string {
		t.Helper()
		for range ready {
			for _, ev := range take() {
				if ev.Kind == BecameOverdue {
					out := slices.Clone(ev.ClientIDs)
					slices.Sort(out)
					return out
				}
			}
		}
		t.Fatal("the device closed")
		return nil
	}
	done := make(chan error)
	go func() { done <- d.RunReminders(ctx) }()

	// The kept appointment is due first; its outcome comes in time.
	clock.await(day0.Add(30*time.Minute + time.Nanosecond))
	if _, err := d.RecordAttendance(ctx, c2, kept, Outcome{Attended: true}); err != nil {
		t.Fatal(err)
	}
	clock.advance(soon.Add(time.Nanosecond))
	if got := announced(); !slices.Equal(got, []string{c1}) {
		t.Fatalf("after the start: BecameOverdue for %v, want [%s] only (the kept one is not overdue, %s's was already)", got, c1, c3)
	}
	clock.advance(time.Date(day0.Year(), day0.Month(), day0.Day()+1, 0, 0, 0, 0, time.UTC))
	if got := announced(); !slices.Equal(got, []string{c2}) {
		t.Fatalf("the day after the follow-up date: BecameOverdue for %v, want [%s]", got, c2)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("RunReminders returned %v, want context.Canceled", err)
	}
}
