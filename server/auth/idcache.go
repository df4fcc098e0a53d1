package auth

import (
	"slices"
	"sync"

	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
)

// directoryVersioner is a store that numbers the states of its directory
// (store.DB.DirectoryVersion and UserVersion: the numbers move on after a
// directory write commits, before the writing call returns; a user's
// sessions and devices have a number of their own, so that a refresh or
// sign-in does not count as a change to everyone). Over such a store
// Identify keeps what it resolved for an access token under the numbers it
// read before resolving it, and answers from that while they have not
// moved; only the checks that depend on the clock are made again.
//
// pgstore.DB does not implement it, on purpose: several replicas share its
// database, so a number kept in one process cannot see a device revoked or
// a session ended through another, and Identify reads the directory on
// every call there. For the same reason a Service with a Relay (several
// processes) never keeps anything.
type directoryVersioner interface {
	// DirectoryVersion numbers the directory's state, but for sessions,
	// devices and ceremonies.
	DirectoryVersion() uint64
	// UserVersion numbers the state of a user's sessions and devices.
	UserVersion(userID string) uint64
}

// The bounds of the cache: past either (entries, or bucket ids they hold
// together, about 50 bytes each), it starts empty again. A caseload larger
// than idCacheBuckets on its own is not kept.
const (
	idCacheEntries = 20_000
	idCacheBuckets = 250_000
)

// resolved is what Identify resolved for an access token: the session as
// read (for the checks that depend on the clock, made on every call, and
// its channels) and its user's role, area and caseload. Nothing in it is
// changed once it is made: each identity gets copies of its slices and map
// (fill).
type resolved struct {
	// all and user: the versions (directoryVersioner) read before the
	// reads: the directory's and sess's user's; keep: it may be cached.
	all, user uint64
	keep      bool
	sess      *store.Session
	role      identity.Role
	area      string
	buckets   []string
	former    map[string][]identity.Period
}

// fill sets id's role, area and caseload from r, copying them.
func (r *resolved) fill(id *identity.Identity) {
	id.Role, id.Area = r.role, r.area
	id.Buckets = slices.Clone(r.buckets)
	if r.former != nil {
		id.Former = make(map[string][]identity.Period, len(r.former))
		for c, ps := range r.former {
			id.Former[c] = slices.Clone(ps)
		}
	}
}

// idCache holds what Identify resolved at one DirectoryVersion, by
// access-token hash: storing an entry of a newer version drops the others,
// one of an older version is not stored, and a lookup at another version
// finds nothing. So a directory write empties it, in effect.
type idCache struct {
	mu      sync.Mutex
	version uint64
	entries map[string]*resolved
	buckets int // bucket ids held by entries
}

// get returns the entry of an access-token hash resolved at version, or
// nil.
func (c *idCache) get(hash []byte, version uint64) *resolved {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.version != version {
		return nil
	}
	return c.entries[string(hash)]
}

// put stores what was resolved for an access-token hash (at r.all).
func (c *idCache) put(hash []byte, r *resolved) {
	version := r.all
	if len(r.buckets) > idCacheBuckets {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if version < c.version {
		return
	}
	if c.entries == nil || version > c.version || len(c.entries) >= idCacheEntries || c.buckets+len(r.buckets) > idCacheBuckets {
		c.version, c.entries, c.buckets = version, map[string]*resolved{}, 0
	}
	if old := c.entries[string(hash)]; old != nil {
		c.buckets -= len(old.buckets)
	}
	c.entries[string(hash)] = r
	c.buckets += len(r.buckets)
}

// cached resolves the caller whose access token hashes to hash from what
// an earlier call resolved, if the directory has not changed since; ok is
// false if it cannot (Identify then reads the directory).
//
// The channels are taken before the versions are checked a second time: a
// session ending (or caseload change) committed before that check moved
// a version first (the store moves it before the writing call returns,
// and the writer notifies after that), so it is seen; one committed after
// it notifies after the channels were taken, and closes them.
func (s *Service) cached(hash []byte) (id *identity.Identity, ok bool, err error) {
	if s.version == nil {
		return nil, false, nil
	}
	r := s.cache.get(hash, s.version.DirectoryVersion())
	if r == nil || s.version.UserVersion(r.sess.UserID) != r.user {
		return nil, false, nil
	}
	if reason := s.expired(r.sess); reason != "" {
		return nil, true, unauthenticated(reason)
	}
	if s.graceOpen(r.sess, s.now()) {
		return nil, false, nil // Identify closes the window (a write)
	}
	id = &identity.Identity{
		UserID: r.sess.UserID, DeviceID: r.sess.DeviceID,
		Ended:   s.notify.session(r.sess.ID, r.sess.AccessExpiresAt),
		Changed: s.notify.user(r.sess.UserID),
	}
	if s.version.DirectoryVersion() != r.all || s.version.UserVersion(r.sess.UserID) != r.user {
		return nil, false, nil
	}
	r.fill(id)
	return id, true, nil
}
