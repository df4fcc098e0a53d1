package syncengine

import "sync"

// hub tells live subscribers which of their buckets have new changes. A
// notification carries bucket ids, not data: the subscriber reads those
// buckets from its cursor, so a slow subscriber never holds up a push and
// notifications coalesce.
type hub struct {
	mu   sync.Mutex
	subs map[string]map[*subscriber]struct{}
}

type subscriber struct {
	notify chan struct{}

	mu      sync.Mutex
	pending map[string]bool
}

func newHub() *hub { return &hub{subs: map[string]map[*subscriber]struct{}{}} }

// subscribe registers for the buckets; the returned func unregisters.
func (h *hub) subscribe(buckets []string) (*subscriber, func()) {
	s := &subscriber{notify: make(chan struct{}, 1), pending: map[string]bool{}}
	h.mu.Lock()
	for _, b := range buckets {
		m := h.subs[b]
		if m == nil {
			m = map[*subscriber]struct{}{}
			h.subs[b] = m
		}
		m[s] = struct{}{}
	}
	h.mu.Unlock()
	return s, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, b := range buckets {
			delete(h.subs[b], s)
			if len(h.subs[b]) == 0 {
				delete(h.subs, b)
			}
		}
	}
}

// publish tells every subscriber of the buckets that they changed.
func (h *hub) publish(buckets map[string]uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for b := range buckets {
		for s := range h.subs[b] {
			s.mu.Lock()
			s.pending[b] = true
			s.mu.Unlock()
			select {
			case s.notify <- struct{}{}:
			default: // already pending
			}
		}
	}
}

// take returns the buckets changed since the last take.
func (s *subscriber) take() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending
	s.pending = map[string]bool{}
	return p
}
