package caseload

import (
	"context"
	"slices"
	"testing"
	"time"
)

// next waits for a signal on ready and returns the events taken.
func next(t *testing.T, ready <-chan struct{}, take func() []Event) []Event {
	t.Helper()
	select {
	case _, ok := <-ready:
		if !ok {
			t.Fatal("watch channel closed")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event signalled")
	}
	return take()
}

// closed waits for ready to be closed (a signal already queued may come
// first).
func closed(t *testing.T, ready <-chan struct{}) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-ready:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("watch channel not closed")
		}
	}
}

func TestWatchEvents(t *testing.T) {
	ctx := context.Background()
	d, c := enrolledDevice(t)
	ready, take, stop := d.Watch()
	defer stop()

	mustLog(t, d, c, contactAt(time.Now()))
	if got, want := next(t, ready, take), []Event{{Kind: LocalWrite, ClientIDs: []string{c}}}; !equalEvents(got, want) {
		t.Fatalf("after a local write: %+v, want %+v", got, want)
	}

	s := stampAt(time.Now(), otherReplica)
	other := newID()
	pull(t, d, delta(c, contactRecord(newID(), time.Now(), s, otherAuthor)), snapshot(other, clientRecord(other, s, otherAuthor)))
	if got, want := next(t, ready, take), []Event{{Kind: Pulled, ClientIDs: []string{c, other}}}; !equalEvents(got, want) {
		t.Fatalf("after a pull: %+v, want %+v", got, want)
	}

	must(t, d.UpdateClient(ctx, other, Edit{"keyworker_notes", String("Prefers mornings")}))
	if got, want := next(t, ready, take), []Event{{Kind: LocalWrite, ClientIDs: []string{other}}}; !equalEvents(got, want) {
		t.Fatalf("after a client edit: %+v, want %+v", got, want)
	}
	if evs := take(); len(evs) != 0 {
		t.Fatalf("take again: %+v, want nothing", evs)
	}
}

// A watcher that does not keep up gets one signal and the events merged by
// kind (client ids unioned), not a queue that grows with every write.
func TestSlowWatcherGetsMergedEvents(t *testing.T) {
	d := memDevice(t)
	enrol(t, d)
	s := stampAt(time.Now(), otherReplica)
	a, b := newID(), newID()
	pull(t, d, snapshot(a, clientRecord(a, s, otherAuthor)), snapshot(b, clientRecord(b, s, otherAuthor)))

	ready, take, stop := d.Watch()
	defer stop()
	for i := range 100 {
		c := a
		if i%2 == 1 {
			c = b
		}
		mustLog(t, d, c, contactAt(time.Now()))
		if i == 50 {
			pull(t, d, delta(b, contactRecord(newID(), time.Now(), s, otherAuthor)))
		}
	}
	if n := len(ready); n != 1 {
		t.Fatalf("%d signals queued, want 1", n)
	}
	got := take()
	want := []Event{{Kind: LocalWrite, ClientIDs: []string{a, b}}, {Kind: Pulled, ClientIDs: []string{b}}}
	if !equalEvents(got, want) {
		t.Fatalf("slow watcher took %+v, want %+v", got, want)
	}
}

// Every watcher sees every event.
func TestWatchersAreIndependent(t *testing.T) {
	d, c := enrolledDevice(t)
	r1, t1, s1 := d.Watch()
	defer s1()
	r2, t2, s2 := d.Watch()
	defer s2()
	mustLog(t, d, c, contactAt(time.Now()))
	want := []Event{{Kind: LocalWrite, ClientIDs: []string{c}}}
	if got := next(t, r1, t1); !equalEvents(got, want) {
		t.Fatalf("first watcher %+v", got)
	}
	if got := next(t, r2, t2); !equalEvents(got, want) {
		t.Fatalf("second watcher %+v", got)
	}
}

func TestWatchStopAndClose(t *testing.T) {
	d, c := enrolledDevice(t)

	ready, _, stop := d.Watch()
	mustLog(t, d, c, contactAt(time.Now())) // a signal is queued
	stop()
	closed(t, ready)
	stop() // again: a no-op
	mustLog(t, d, c, contactAt(time.Now()))

	r1, _, s1 := d.Watch()
	r2, _, s2 := d.Watch()
	must(t, d.Close())
	closed(t, r1)
	closed(t, r2)
	s1() // after Close: a no-op
	s2()

	r3, t3, s3 := d.Watch()
	closed(t, r3)
	if evs := t3(); len(evs) != 0 {
		t.Fatalf("a watcher made after Close took %+v", evs)
	}
	s3()
}

// Watchers may come and go while writes happen.
func TestWatchConcurrent(t *testing.T) {
	d, c := enrolledDevice(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 50 {
			ready, take, stop := d.Watch()
			select {
			case <-ready:
				take()
			case <-time.After(time.Millisecond):
			}
			stop()
		}
	}()
	for range 50 {
		mustLog(t, d, c, contactAt(time.Now()))
	}
	<-done
}

func equalEvents(got, want []Event) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := slices.Clone(got[i].ClientIDs), slices.Clone(want[i].ClientIDs)
		slices.Sort(g)
		slices.Sort(w)
		if got[i].Kind != want[i].Kind || !slices.Equal(g, w) {
			return false
		}
	}
	return true
}
