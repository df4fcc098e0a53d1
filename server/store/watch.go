package store

import "sync"

// Watchers are the functions told of committed pushes (Store.Watch); a
// backend keeps one set and notifies it after each commit. The zero value
// is ready to use.
type Watchers struct {
	mu   sync.Mutex
	next int
	fns  map[int]func(map[string]uint64)
}

// Watch implements Store.Watch.
func (s *DB) Watch(fn func(heads map[string]uint64)) (stop func()) { return s.watchers.Watch(fn) }

// Watch adds fn to the set; the returned function removes it.
func (w *Watchers) Watch(fn func(heads map[string]uint64)) (stop func()) {
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

// Notify calls every function in the set with the new heads of a commit,
// on the caller's goroutine.
func (w *Watchers) Notify(heads map[string]uint64) {
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
