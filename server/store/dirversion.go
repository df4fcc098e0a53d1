package store

import "sync/atomic"

// dirStripes is how many counters the sessions and devices of all users
// share (UserVersion): users whose ids fall in one stripe move each
// other's, which costs only re-reads.
const dirStripes = 1024

// dirVersion numbers the states of a DB's directory so that callers that
// keep what they read from it (auth.Service.Identify) can tell whether it
// may have changed since. The counters move after a write commits, before
// the call that wrote returns (Directory; PurgeClient's transactions).
//
// Sessions and devices change on every sign-in and refresh (a session's
// tokens, a device's last use), so their writes move only their user's
// stripe, not the whole directory's count: a refresh does not make every
// other device's resolved identity stale.
type dirVersion struct {
	all   atomic.Uint64
	users [dirStripes]atomic.Uint64
}

// DirectoryVersion returns the number of the directory's current state,
// sessions, devices, ceremonies and the audit chains left out (see
// UserVersion). Read it before reading the directory: if it returns the
// same number later, every directory write whose call returned before that
// later reading was visible to those reads (a write that commits while
// they run moves it after its commit, so it reads as a change). It starts
// at 0 when the store opens and counts this process's writes, which are
// all the writes to a Badger store: one process holds it (lock_unix.go).
//
// Left out, as nothing that keeps directory reads depends on them:
// ceremonies (single-use sign-in state) and the audit chains, which only
// grow.
func (s *DB) DirectoryVersion() uint64 { return s.dirSeq.all.Load() }

// UserVersion is DirectoryVersion for the sessions and devices of a user:
// it moves after every committed write to one of them (and sometimes for
// another user's: a stripe is shared), with the same guarantee. A write
// that moves a session or device from one user to another moves both.
func (s *DB) UserVersion(userID string) uint64 { return s.dirSeq.users[stripe(userID)].Load() }

// stripe is the counter of a user's sessions and devices (FNV-1a).
func stripe(userID string) int {
	h := uint32(2166136261)
	for i := 0; i < len(userID); i++ {
		h = (h ^ uint32(userID[i])) * 16777619
	}
	return int(h % dirStripes)
}

// dirWritten records that a write to the directory as a whole committed
// (or may have: a commit that failed is counted too, which only costs a
// re-read). Call it after the commit, before the writing call returns.
func (s *DB) dirWritten() { s.dirSeq.all.Add(1) }

// dirCommitted records what a directory transaction wrote, as dirWritten
// does: the directory as a whole, and the users whose sessions or devices
// it wrote.
func (s *DB) dirCommitted(tx *badgerDirTx) {
	if tx.all {
		s.dirWritten()
	}
	for _, u := range tx.users {
		s.dirSeq.users[stripe(u)].Add(1)
	}
}

// userScoped runs fn, a write to sessions or devices of users (none: to
// ceremonies), which moves their UserVersion but not DirectoryVersion.
func (tx *badgerDirTx) userScoped(fn func() error, users ...string) error {
	tx.users = append(tx.users, users...)
	tx.scoped = true
	defer func() { tx.scoped = false }()
	return fn()
}

// noteWrite records a write to key for the versions: one outside
// userScoped, and not to an audit chain, is to the directory as a whole.
func (tx *badgerDirTx) noteWrite(key []byte) {
	tx.wrote = true
	if !tx.scoped && !isAuditKey(key) {
		tx.all = true
	}
}

// isAuditKey reports whether key is in the audit chains' tables
// (auditchain.go).
func isAuditKey(key []byte) bool {
	return len(key) > 0 && key[0] >= dAuditEntry && key[0] <= dAuditOfUser
}
