package caseload

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A client taken off the caseload is purged from the device: its records
// go, but work not yet sent stays in the outbox, to be delivered (and
// flagged late by the server). Other clients are untouched.
func TestEvictPurgesButKeepsOutbox(t *testing.T) {
	ctx := context.Background()
	d := memDevice(t)
	enrol(t, d)
	s := stampAt(time.Now().Add(-time.Hour), otherReplica)
	gone, stays := newID(), newID()
	pull(t, d,
		snapshot(gone, clientRecord(gone, s, otherAuthor), contactRecord(newID(), time.Now().Add(-time.Hour), s, otherAuthor)),
		snapshot(stays, clientRecord(stays, s, otherAuthor)))
	mustLog(t, d, gone, contactAt(time.Now()))
	mustLog(t, d, stays, contactAt(time.Now()))
	pending := d.Status().Pending
	queued := len(outbox(t, d))

	ready, take, stop := d.Watch()
	defer stop()
	rep := pull(t, d, evict(gone))
	if rep.Evicted != 1 {
		t.Fatalf("report %+v, want 1 evicted", rep)
	}

	if _, err := d.Timeline(ctx, gone); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Timeline of the evicted client: %v, want ErrNotFound", err)
	}
	if _, err := d.Client(ctx, gone); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Client of the evicted client: %v, want ErrNotFound", err)
	}
	if _, err := d.LogContact(ctx, gone, contactAt(time.Now())); !errors.Is(err, ErrNotFound) {
		t.Fatalf("LogContact for the evicted client: %v, want ErrNotFound", err)
	}
	cs, err := d.Clients(ctx)
	must(t, err)
	if len(cs) != 1 || cs[0].ID != stays {
		t.Fatalf("Clients after eviction %+v, want only %s", cs, stays)
	}
	if tl, err := d.Timeline(ctx, stays); err != nil || len(tl.Contacts) != 1 {
		t.Fatalf("the other client after eviction: %+v, %v", tl, err)
	}
	if got := d.Status().Pending; got != pending {
		t.Fatalf("Status().Pending %d after eviction, want %d", got, pending)
	}
	if got := len(outbox(t, d)); got != queued {
		t.Fatalf("outbox %d changes after eviction, want %d", got, queued)
	}
	if countKeys(t, d, pRecord) != 1 {
		t.Fatalf("%d pulled records left, want only the other client's", countKeys(t, d, pRecord))
	}
	<-ready
	evs := take()
	if len(evs) != 1 || evs[0].Kind != Evicted || len(evs[0].ClientIDs) != 1 || evs[0].ClientIDs[0] != gone {
		t.Fatalf("events %+v, want one Evicted for %s", evs, gone)
	}
}

// Changes accepted by the server but not yet seen in a pull are dropped
// with the client's records; unsent ones are not.
func TestEvictDropsAcceptedKeepsUnsent(t *testing.T) {
	d, c := enrolledDevice(t)
	mustLog(t, d, c, contactAt(time.Now()))
	chs := outbox(t, d)
	var rep SyncReport
	must(t, d.settle(chs, acceptAll(chs), &rep))
	mustLog(t, d, c, contactAt(time.Now()))
	unsent := len(outbox(t, d))
	pull(t, d, evict(c))
	if countKeys(t, d, pAcked) != 0 {
		t.Fatalf("%d accepted changes left after eviction", countKeys(t, d, pAcked))
	}
	if got := len(outbox(t, d)); got != unsent || d.Status().Pending != unsent {
		t.Fatalf("outbox %d, pending %d after eviction; want %d", got, d.Status().Pending, unsent)
	}
}
