package auth

import "time"

// SetAfterFunc makes the timers that end a session's streams at its access
// expiry use afterFunc instead of time.AfterFunc, so that tests fire them
// on their own clock rather than sleeping. Call it before s resolves
// anyone.
func SetAfterFunc(s *Service, afterFunc func(d time.Duration, f func()) (stop func() bool)) {
	s.notify.mu.Lock()
	defer s.notify.mu.Unlock()
	s.notify.afterFunc = afterFunc
}
