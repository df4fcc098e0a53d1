package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/throughcare/throughcare/syncproto/topschedule"
)

// The directory: who may do what. Areas (tenants), teams, users, their
// devices (installations signed in with a passkey), invites, sessions,
// WebAuthn ceremonies, clients and the history of which worker was assigned
// to which client when.
// Entities are stored as JSON under their id, with index keys (empty values)
// for every lookup; a DirTx keeps entity and indexes consistent. Areas,
// teams and users are here; devices, sessions and ceremonies in sessions.go,
// clients and assignments in clients.go.
//
//	0x10 area                      → Area
//	0x11 team                      → Team        0x12 area 0 team           (index)
//	0x13 user                      → User        0x14 area 0 user, 0x15 handle → user id
//	0x16 device                    → Device      0x17 credential → device id, 0x18 user 0 device
//	0x19 invite hash               → Invite (kept a week past its expiry)
//	0x1a session                   → Session     0x1b access hash, 0x1c refresh hash → session id,
//	                                             0x1d user 0 session, 0x1e device 0 session
//	0x1f ceremony                  → Ceremony (expires)
//	0x20 client                    → Client      0x21 area 0 client, 0x22 team 0 client
//	0x23 user 0 client 0 from(8)   → Assignment  0x24 client 0 user 0 from(8) (index)
//	0x25, 0x26                     (entries of the audit written before its chain; not read)
//	0x27 area 0 invite id → invite hash (expires with the invite; see invites.go)
//	0x28 client                    → PurgedClient: a client purged for retention (see purge.go)
//	0x29 … 0x2d                    the audit chains (see auditchain.go)
//
// Expiry follows the store's clock (Options.Now), read once per
// transaction. Ceremonies and invites are also given a Badger TTL so that
// Badger drops them eventually, but Badger's TTL runs on the wall clock, so
// it is only garbage collection: Ceremony and Invite check the expiry
// themselves against the store's clock, and that check is the contract.
const (
	dArea byte = 0x10 + iota
	dTeam
	dTeamsOfArea
	dUser
	dUsersOfArea
	dUserByHandle
	dDevice
	dDeviceByCredential
	dDevicesOfUser
	dInvite
	dSession
	dSessionByAccess
	dSessionByRefresh
	dSessionsOfUser
	dSessionsOfDevice
	dCeremony
	dClient
	dClientsOfArea
	dClientsOfTeam
	dAssignment
	dAssignmentsOfClient
	_ // 0x25, 0x26: the audit before its chain (see auditchain.go)
	_
	dInvitesOfArea
)

// ErrNotFound reports a directory entry that does not exist (or expired).
var ErrNotFound = errors.New("store: not found")

// Area is a tenant: nothing crosses areas.
type Area struct {
	ID, Name  string
	CreatedAt time.Time
	// Retention is how long the area keeps a client after their case was
	// closed (0: for ever), if RetentionSet; otherwise the server's
	// default applies.
	Retention    time.Duration `json:",omitempty"`
	RetentionSet bool          `json:",omitempty"`
	// TOPIntervalMonths and TOPWindowDays are the area's TOP review
	// schedule, if TOPIntervalMonths is set (see TOPSchedule); otherwise
	// the default applies.
	TOPIntervalMonths int `json:",omitempty"`
	TOPWindowDays     int `json:",omitempty"`
}

// TOPSchedule is the area's TOP review schedule, and whether it is the
// area's own (else topschedule's default).
func (a *Area) TOPSchedule() (s topschedule.Schedule, own bool) {
	if a.TOPIntervalMonths <= 0 {
		return topschedule.Schedule{IntervalMonths: topschedule.DefaultIntervalMonths, WindowDays: topschedule.DefaultWindowDays}, false
	}
	return topschedule.Schedule{IntervalMonths: a.TOPIntervalMonths, WindowDays: cmp.Or(a.TOPWindowDays, topschedule.DefaultWindowDays)}, true
}

// Team is a team of an area.
type Team struct {
	ID, AreaID, Name string
}

// User is a person who signs in. Role is "worker", "supervisor" or
// "admin". Handle is the random WebAuthn user handle.
type User struct {
	ID, AreaID, DisplayName, Role string
	TeamIDs                       []string
	Disabled                      bool
	Handle                        []byte
	CreatedAt                     time.Time
}

// badgerDirTx is the Badger DirTx. Its methods may only be used inside the
// function given to Directory or DirectoryView.
type badgerDirTx struct {
	txn   *badger.Txn
	now   time.Time // the store's clock, read once when the transaction began
	wrote bool      // a write was made: the transaction must be committed
	// audited: an audit entry was appended, to be sealed after the commit
	audited bool
	floor   *pendingFloor // nil in a read-only transaction
	// For the versions (dirversion.go): all, a write to the directory as
	// a whole; users, those whose sessions or devices were written;
	// scoped, inside userScoped.
	all    bool
	users  []string
	scoped bool
}

var _ DirTx = (*badgerDirTx)(nil)

func (tx *badgerDirTx) set(key, value []byte) error {
	tx.noteWrite(key)
	return tx.txn.Set(key, value)
}

func (tx *badgerDirTx) setEntry(e *badger.Entry) error {
	tx.noteWrite(e.Key)
	return tx.txn.SetEntry(e)
}

func (tx *badgerDirTx) delete(key []byte) error {
	tx.noteWrite(key)
	return tx.txn.Delete(key)
}

// Directory runs fn in a read-write transaction, committed durably if fn
// returns nil and retried (a bounded number of times) if it conflicts with
// a concurrent one, so fn must not have other side effects. The
// transaction's time is the store's clock (Options.Now) when it began.
//
// Audit entries it appended are sealed into their chains before it
// returns, and entries pending from Buckets before it begins (see
// auditchain.go). A transaction that wrote moves DirectoryVersion or
// UserVersion on before it returns.
func (s *DB) Directory(ctx context.Context, fn func(tx DirTx) error) error {
	s.sealBehind(ctx)
	audited := false
	var wrote *badgerDirTx
	err := s.retry(ctx, func(txn *badger.Txn) error {
		tx := &badgerDirTx{txn: txn, now: s.now(), floor: &s.audit.floor}
		audited, wrote = false, nil
		if err := fn(tx); err != nil {
			return err
		}
		if !tx.wrote {
			return errNothingWritten // nothing to commit or sync
		}
		audited, wrote = tx.audited, tx
		return nil
	})
	if wrote != nil {
		s.dirCommitted(wrote) // before the caller hears of the write (dirversion.go)
	}
	if err == nil && audited {
		s.afterAudited(ctx, true)
	}
	return err
}

// DirectoryView runs fn in a read-only transaction (after sealing the
// audit entries pending, see auditchain.go).
func (s *DB) DirectoryView(ctx context.Context, fn func(tx DirTx) error) error {
	s.sealBehind(ctx)
	return mapErr(s.db.View(func(txn *badger.Txn) error { return fn(&badgerDirTx{txn: txn, now: s.now()}) }))
}

func dkey(table byte, parts ...string) []byte {
	k := []byte{table}
	for i, p := range parts {
		if i > 0 {
			k = append(k, 0)
		}
		k = append(k, p...)
	}
	return k
}

func (tx *badgerDirTx) get(key []byte, v any) error {
	item, err := tx.txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	return item.Value(func(b []byte) error { return json.Unmarshal(b, v) })
}

func (tx *badgerDirTx) put(key []byte, v any, expires time.Time) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.setEntry(tx.entry(key, b, expires))
}

// entry is a Badger entry that Badger removes a second after expires (never
// if expires is zero; a second from now if it has passed).
func (tx *badgerDirTx) entry(key, value []byte, expires time.Time) *badger.Entry {
	e := badger.NewEntry(key, value)
	if !expires.IsZero() {
		ttl := expires.Sub(tx.now)
		if ttl <= 0 {
			ttl = time.Second
		}
		e = e.WithTTL(ttl + time.Second)
	}
	return e
}

func (tx *badgerDirTx) index(key []byte) error { return tx.set(key, nil) }

func (tx *badgerDirTx) lookup(key []byte) (string, error) {
	item, err := tx.txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", err
	}
	v, err := item.ValueCopy(nil)
	return string(v), err
}

// scan returns the last segment of every index key under prefix parts.
func (tx *badgerDirTx) scan(table byte, parts ...string) []string {
	prefix := append(dkey(table, parts...), 0)
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Prefix = prefix
	it := tx.txn.NewIterator(opts)
	defer it.Close()
	var out []string
	for it.Rewind(); it.ValidForPrefix(prefix); it.Next() {
		out = append(out, string(it.Item().Key()[len(prefix):]))
	}
	return out
}

// Area returns an area.
func (tx *badgerDirTx) Area(id string) (*Area, error) {
	var a Area
	return &a, tx.get(dkey(dArea, id), &a)
}

// PutArea stores an area.
func (tx *badgerDirTx) PutArea(a *Area) error { return tx.put(dkey(dArea, a.ID), a, time.Time{}) }

// Areas returns every area.
func (tx *badgerDirTx) Areas() ([]*Area, error) {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = []byte{dArea}
	it := tx.txn.NewIterator(opts)
	defer it.Close()
	var out []*Area
	for it.Rewind(); it.ValidForPrefix(opts.Prefix); it.Next() {
		var a Area
		if err := it.Item().Value(func(b []byte) error { return json.Unmarshal(b, &a) }); err != nil {
			return nil, err
		}
		out = append(out, &a)
	}
	return out, nil
}

// Team returns a team.
func (tx *badgerDirTx) Team(id string) (*Team, error) {
	var t Team
	return &t, tx.get(dkey(dTeam, id), &t)
}

// PutTeam stores a team.
func (tx *badgerDirTx) PutTeam(t *Team) error {
	if err := tx.put(dkey(dTeam, t.ID), t, time.Time{}); err != nil {
		return err
	}
	return tx.index(dkey(dTeamsOfArea, t.AreaID, t.ID))
}

// TeamsOfArea returns the ids of an area's teams.
func (tx *badgerDirTx) TeamsOfArea(area string) []string { return tx.scan(dTeamsOfArea, area) }

// User returns a user.
func (tx *badgerDirTx) User(id string) (*User, error) {
	var u User
	return &u, tx.get(dkey(dUser, id), &u)
}

// UserByHandle returns the user with a WebAuthn user handle.
func (tx *badgerDirTx) UserByHandle(handle []byte) (*User, error) {
	id, err := tx.lookup(dkey(dUserByHandle, string(handle)))
	if err != nil {
		return nil, err
	}
	return tx.User(id)
}

// PutUser stores a user.
func (tx *badgerDirTx) PutUser(u *User) error {
	if err := tx.put(dkey(dUser, u.ID), u, time.Time{}); err != nil {
		return err
	}
	if err := tx.set(dkey(dUserByHandle, string(u.Handle)), []byte(u.ID)); err != nil {
		return err
	}
	return tx.index(dkey(dUsersOfArea, u.AreaID, u.ID))
}

// UsersOfArea returns the ids of an area's users.
func (tx *badgerDirTx) UsersOfArea(area string) []string { return tx.scan(dUsersOfArea, area) }
