package store

import "sync/atomic"

// dirVersion numbers the states of a DB's directory: it is incremented
// after each write to the directory commits, before the call that wrote
// returns (Directory; PurgeClient's transactions). Callers that keep what
// they read from the directory (auth.Service.Identify) use it to tell
// whether it may have changed since.
type dirVersion struct{ n atomic.Uint64 }

// DirectoryVersion returns the number of the directory's current state.
// Read it before reading the directory: if it still returns the same
// number later, every directory write whose call returned before that
// later reading was visible to those reads (a write that commits while they
// run increments it after its commit, so it reads as a change). It starts
// at 0 when the store opens and counts this process's writes, which are
// all the writes to a Badger store: one process holds it (lock_unix.go).
//
// Every committed Directory transaction moves it, including those that
// only append audit entries; sealing the audit chains (auditchain.go)
// does not, nor do bucket transactions, which write no directory entity.
func (s *DB) DirectoryVersion() uint64 { return s.dirSeq.n.Load() }

// dirWritten records that a directory write committed (or may have: a
// commit that failed is counted too, which only costs a re-read). Call it
// after the commit, before the writing call returns.
func (s *DB) dirWritten() { s.dirSeq.n.Add(1) }
