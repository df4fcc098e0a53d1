package store

import "sync"

// watchers are the functions told of committed pushes (Store.Watch).
type watchers struct {
	mu   sync.Mutex
	next int
	fns  map[int]func(map[string]uint64)
}

// Watch implements Store.Watch.
func (s *DB) Watch(fn func(heads map[string]uint64)) (stop func()) {
	w := &s.watchers
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fns == nil {
		w.fns = map[int]func(map[string]uint64){}
	}
	id := w.next
	w.next++
	w.fns[id] = fn
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		delete(w.fns, id)
	}
}

func (w *watchers) notify(heads map[string]uint64) {
	w.mu.Lock()
	fns := make([]func(map[string]uint64), 0, len(w.fns))
	for _, fn := range w.fns {
		fns = append(fns, fn)
	}
	w.mu.Unlock()
	for _, fn := range fns {
		fn(heads)
	}
}
