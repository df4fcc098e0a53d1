package caseload

import (
	"bytes"
	"context"
	"encoding/binary"
	"slices"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload/internal/local"
)

// RunReminders announces BecameOverdue, for the clients concerned, when a
// booked appointment's start passes with no outcome or a follow-up date
// passes with no later contact (what Overdue lists), until ctx is done or
// the device is closed. What is overdue when it starts is not announced:
// read Overdue then. Time is the device's clock (Config.Now); it wakes at
// the next item's due time and when local data changes. Run it beside Run.
func (d *Device) RunReminders(ctx context.Context) error {
	ready, take, stop := d.Watch()
	defer stop()
	seen, err := d.overdueSet(ctx)
	if err != nil {
		return err
	}
	for {
		now := d.cfg.Now()
		next, ok, err := d.nextDue(now)
		if err != nil {
			return err
		}
		if err := d.waitDue(ctx, ready, take, now, next, ok); err != nil {
			return err
		}
		cur, err := d.overdueSet(ctx)
		if err != nil {
			return err
		}
		var clients []string
		for id, client := range cur {
			if _, ok := seen[id]; !ok && !slices.Contains(clients, client) {
				clients = append(clients, client)
			}
		}
		seen = cur
		if len(clients) > 0 {
			d.events.emit(Event{Kind: BecameOverdue, ClientIDs: clients})
		}
	}
}

// waitDue waits until next (if ok) or until something happens on the
// device (the clock may have moved on too, so any wake looks again).
func (d *Device) waitDue(ctx context.Context, ready <-chan struct{}, take func() []Event, now, next time.Time, ok bool) error {
	var fire <-chan time.Time
	if ok {
		c, stop := d.after(max(next.Sub(now), 0))
		defer stop()
		fire = c
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case _, open := <-ready:
		if !open {
			return ErrClosed
		}
		take()
		return nil
	case <-fire:
		return nil
	}
}

// realTimer is Device.after outside tests.
func realTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// overdueSet is what is overdue now: record id to client id.
func (d *Device) overdueSet(ctx context.Context) (map[string]string, error) {
	o, err := d.Overdue(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, a := range o.Appointments {
		out[a.ID] = a.ClientID
	}
	for _, f := range o.FollowUps {
		out[f.ID] = f.ClientID
	}
	return out, nil
}

// nextDue is when the next item not yet overdue becomes overdue: a booked
// appointment's start, or the day after a follow-up date (midnight in the
// clock's location).
func (d *Device) nextDue(now time.Time) (time.Time, bool, error) {
	var (
		next time.Time
		ok   bool
	)
	consider := func(t time.Time) {
		if !ok || t.Before(next) {
			next, ok = t, true
		}
	}
	err := d.read(func(txn *local.Txn) error {
		if k, found := firstFrom(txn, pBooked, timeKey(pBooked, now)); found {
			// Overdue once its start has passed.
			consider(time.Unix(0, int64(binary.BigEndian.Uint64(k[1:9])^(1<<63))).Add(time.Nanosecond))
		}
		if k, found := firstFrom(txn, pFollowUp, dayKey(pFollowUp, DateOf(now))); found {
			day := int64(binary.BigEndian.Uint64(k[1:9]) ^ (1 << 63))
			y, m, dd := time.Unix(day*86400, 0).UTC().Date()
			consider(time.Date(y, m, dd+1, 0, 0, 0, 0, now.Location()))
		}
		return nil
	})
	return next, ok, err
}

// firstFrom is the first key under prefix p at or after from.
func firstFrom(txn *local.Txn, p byte, from []byte) ([]byte, bool) {
	it := txn.NewIterator(local.IterOptions{Prefix: []byte{p}})
	defer it.Close()
	it.Seek(from)
	if !it.Valid() || !bytes.HasPrefix(it.Key(), []byte{p}) {
		return nil, false
	}
	return it.KeyCopy(), true
}
