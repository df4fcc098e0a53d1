package caseload

import (
	"slices"
	"sync"
	"time"
)

// Status is what a UI shows about sync.
type Status struct {
	// Pending is the number of changes not yet accepted by the server.
	Pending int
	// Rejected is the number of changes the server refused, kept until the
	// user dismisses them (see Rejections).
	Rejected int
	// LastSync is when a sync last completed (push and pull), or zero.
	LastSync time.Time
	// Syncing is true while a sync runs; Progress counts its pull.
	Syncing  bool
	Progress Progress
	// SignInRequired is set when the session could not be refreshed.
	SignInRequired bool
	// LastError is the last sync error, cleared by a successful sync.
	LastError error
	// StorageFull is set while the tablet's storage is nearly full: writes
	// return ErrStorageFull and Sync sends but does not pull. It clears
	// when a write or sync finds space again. Changes are announced with
	// StatusChanged.
	StorageFull bool
}

// Progress counts a sync's pull so far.
type Progress struct {
	// Records and Bytes pulled (bytes of records, as received).
	Records int
	Bytes   int64
	// Pages applied.
	Pages int
}

// EventKind says what changed.
type EventKind int

const (
	// LocalWrite: the app wrote a change on this device.
	LocalWrite EventKind = iota + 1
	// Pulled: records arrived from the server.
	Pulled
	// Evicted: clients left the caseload and were purged from the device.
	Evicted
	// Reset: the server asked the device to pull everything again.
	Reset
	// Pushed: changes were accepted or refused by the server.
	Pushed
	// StatusChanged: Status changed (sync started or ended, sign-in needed).
	StatusChanged
	// AppointmentsChanged: appointments were booked or changed, on this
	// device or pulled (besides LocalWrite or Pulled).
	AppointmentsChanged
	// BecameOverdue: an appointment's start or a follow-up date passed with
	// no outcome (see Overdue; announced by RunReminders).
	BecameOverdue
)

func (k EventKind) String() string {
	switch k {
	case LocalWrite:
		return "local_write"
	case Pulled:
		return "pulled"
	case Evicted:
		return "evicted"
	case Reset:
		return "reset"
	case Pushed:
		return "pushed"
	case StatusChanged:
		return "status_changed"
	case AppointmentsChanged:
		return "appointments_changed"
	case BecameOverdue:
		return "became_overdue"
	}
	return "unknown"
}

// Event tells a UI that local data or status changed.
type Event struct {
	Kind EventKind
	// ClientIDs are the clients whose data changed (none for StatusChanged
	// and Reset).
	ClientIDs []string
}

// events fans out to watchers. A slow watcher misses nothing that matters:
// its pending events are merged per kind (client ids unioned) rather than
// queued without bound.
type events struct {
	mu       sync.Mutex
	watchers map[*watcher]struct{}
	closed   bool
}

type watcher struct {
	ch      chan struct{}
	mu      sync.Mutex
	pending []Event
}

func newEvents() *events { return &events{watchers: map[*watcher]struct{}{}} }

func (e *events) emit(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for w := range e.watchers {
		w.mu.Lock()
		merged := false
		for i := range w.pending {
			if w.pending[i].Kind == ev.Kind {
				for _, id := range ev.ClientIDs {
					if !slices.Contains(w.pending[i].ClientIDs, id) {
						w.pending[i].ClientIDs = append(w.pending[i].ClientIDs, id)
					}
				}
				merged = true
				break
			}
		}
		if !merged {
			w.pending = append(w.pending, Event{Kind: ev.Kind, ClientIDs: slices.Clone(ev.ClientIDs)})
		}
		w.mu.Unlock()
		select {
		case w.ch <- struct{}{}:
		default:
		}
	}
}

func (e *events) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	for w := range e.watchers {
		close(w.ch)
	}
	clear(e.watchers)
}

// Watch returns a channel that is signalled when local data or status
// changes, and a function that returns (and clears) the events since the
// last call. The channel is closed by Close or by stop.
//
//	ready, take, stop := dev.Watch()
//	defer stop()
//	for range ready {
//		for _, ev := range take() { refresh(ev) }
//	}
func (d *Device) Watch() (ready <-chan struct{}, take func() []Event, stop func()) {
	w := &watcher{ch: make(chan struct{}, 1)}
	e := d.events
	e.mu.Lock()
	if e.closed {
		close(w.ch)
	} else {
		e.watchers[w] = struct{}{}
	}
	e.mu.Unlock()
	take = func() []Event {
		w.mu.Lock()
		defer w.mu.Unlock()
		p := w.pending
		w.pending = nil
		return p
	}
	stop = func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		if _, ok := e.watchers[w]; ok {
			delete(e.watchers, w)
			close(w.ch)
		}
	}
	return w.ch, take, stop
}

// Status returns the device's sync status.
func (d *Device) Status() Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.status
}

// setStatus changes the status under d.mu and announces it.
func (d *Device) setStatus(fn func(*Status)) {
	d.mu.Lock()
	fn(&d.status)
	d.mu.Unlock()
	d.events.emit(Event{Kind: StatusChanged})
}
