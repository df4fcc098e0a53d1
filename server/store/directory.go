package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/throughcare/throughcare/syncproto/topschedule"
)

// The directory: who may do what. Areas (tenants), teams, users, their
// devices (installations signed in with a passkey), invites, sessions,
// WebAuthn ceremonies, clients and the history of which worker was assigned
// to which client when.
// Entities are stored as JSON under their id, with index keys (empty values)
// for every lookup; a DirTx keeps entity and indexes consistent.
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

// Device is one installation of the app signed in with a passkey; its ID is
// the replica id the installation stamps its changes with.
//
// The device created at enrolment is the passkey's primary: it holds the
// WebAuthn Credential (as its owner encodes it; the store does not look
// inside) and the credential index points at it. A synced passkey may sign
// in on other installations too: each is a Device of the same user with its
// own ID and Name, the same CredentialID, no Credential, and PrimaryID
// naming the primary. Records stored before PrimaryID existed decode with
// it empty: primaries.
type Device struct {
	ID, UserID, Name      string
	CredentialID          []byte
	Credential            []byte
	PrimaryID             string `json:",omitempty"`
	CreatedAt, LastUsedAt time.Time
	RevokedAt             time.Time
}

// IsPrimary reports whether d is the device a passkey was enrolled on.
func (d *Device) IsPrimary() bool { return d.PrimaryID == "" }

// PrimaryOf returns the id of the device whose credential backs d: d's
// own id for a primary.
func (d *Device) PrimaryOf() string {
	if d.PrimaryID != "" {
		return d.PrimaryID
	}
	return d.ID
}

// Session is a signed-in device. Only hashes of its tokens are stored.
type Session struct {
	ID, UserID, DeviceID                                 string
	AccessHash, RefreshHash, PreviousRefreshHash         []byte
	CreatedAt, LastUsedAt                                time.Time
	AccessExpiresAt, RefreshExpiresAt, AbsoluteExpiresAt time.Time
	// GraceClosed says the refresh token PreviousRefreshHash names may not
	// be answered again: the current pair has been used, or it was itself
	// such an answer.
	GraceClosed bool
}

// Ceremony is a WebAuthn ceremony in progress (single use, short-lived).
type Ceremony struct {
	ID, Kind   string
	Data       []byte
	InviteHash []byte
	DeviceName string
	ExpiresAt  time.Time
}

// Client is a person on a caseload: their id names their bucket.
type Client struct {
	ID, AreaID, TeamID string
	CreatedAt          time.Time
}

// Assignment is one period in which a worker was assigned to a client. To
// is zero while it lasts.
type Assignment struct {
	ClientID, UserID string
	From, To         time.Time
}

// Open reports whether the assignment is current.
func (a Assignment) Open() bool { return a.To.IsZero() }

// Covers reports whether the assignment covered instant t.
func (a Assignment) Covers(t time.Time) bool {
	return !t.Before(a.From) && (a.To.IsZero() || t.Before(a.To))
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

// Device returns a device.
func (tx *badgerDirTx) Device(id string) (*Device, error) {
	var d Device
	return &d, tx.get(dkey(dDevice, id), &d)
}

// DeviceByCredential returns the device of a WebAuthn credential id.
func (tx *badgerDirTx) DeviceByCredential(credentialID []byte) (*Device, error) {
	id, err := tx.lookup(dkey(dDeviceByCredential, string(credentialID)))
	if err != nil {
		return nil, err
	}
	return tx.Device(id)
}

// PutDevice stores a device. Only a primary (PrimaryID empty) is indexed
// under its credential id: storing another installation of the same
// passkey leaves the credential index on the primary.
func (tx *badgerDirTx) PutDevice(d *Device) error {
	users := []string{d.UserID}
	if old, err := tx.Device(d.ID); err == nil && old.UserID != d.UserID {
		users = append(users, old.UserID)
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return tx.userScoped(func() error { return tx.putDevice(d) }, users...)
}

func (tx *badgerDirTx) putDevice(d *Device) error {
	if err := tx.put(dkey(dDevice, d.ID), d, time.Time{}); err != nil {
		return err
	}
	if d.PrimaryID == "" {
		if err := tx.set(dkey(dDeviceByCredential, string(d.CredentialID)), []byte(d.ID)); err != nil {
			return err
		}
	}
	return tx.index(dkey(dDevicesOfUser, d.UserID, d.ID))
}

// DevicesOfUser returns the ids of a user's devices.
func (tx *badgerDirTx) DevicesOfUser(user string) []string { return tx.scan(dDevicesOfUser, user) }

// Installations returns the devices of a user that a primary's passkey
// signed in on besides the primary itself (PrimaryID == primary), revoked
// ones included.
func (tx *badgerDirTx) Installations(user, primary string) ([]*Device, error) {
	var out []*Device
	for _, id := range tx.DevicesOfUser(user) {
		d, err := tx.Device(id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if d.PrimaryID == primary && d.ID != primary {
			out = append(out, d)
		}
	}
	return out, nil
}

// Session returns a session.
func (tx *badgerDirTx) Session(id string) (*Session, error) {
	var s Session
	return &s, tx.get(dkey(dSession, id), &s)
}

// SessionByAccess returns the session with an access-token hash.
func (tx *badgerDirTx) SessionByAccess(hash []byte) (*Session, error) {
	id, err := tx.lookup(dkey(dSessionByAccess, string(hash)))
	if err != nil {
		return nil, err
	}
	return tx.Session(id)
}

// SessionByRefresh returns the session whose current or previous
// refresh-token hash this is (the caller tells which by comparing).
func (tx *badgerDirTx) SessionByRefresh(hash []byte) (*Session, error) {
	id, err := tx.lookup(dkey(dSessionByRefresh, string(hash)))
	if err != nil {
		return nil, err
	}
	return tx.Session(id)
}

// PutSession stores a session and indexes its token hashes (the previous
// refresh hash too, so that its reuse can be detected).
func (tx *badgerDirTx) PutSession(s *Session) error {
	old, err := tx.Session(s.ID)
	if errors.Is(err, ErrNotFound) {
		old = nil
	} else if err != nil {
		return err
	}
	users := []string{s.UserID}
	if old != nil && old.UserID != s.UserID {
		users = append(users, old.UserID)
	}
	return tx.userScoped(func() error { return tx.putSession(s, old) }, users...)
}

// putSession is PutSession, old the session stored before (nil: none).
func (tx *badgerDirTx) putSession(s, old *Session) error {
	if old != nil {
		if err := tx.delete(dkey(dSessionByAccess, string(old.AccessHash))); err != nil {
			return err
		}
		if err := tx.delete(dkey(dSessionByRefresh, string(old.PreviousRefreshHash))); err != nil {
			return err
		}
	}
	if err := tx.put(dkey(dSession, s.ID), s, s.AbsoluteExpiresAt); err != nil {
		return err
	}
	for _, h := range [][]byte{s.RefreshHash, s.PreviousRefreshHash} {
		if len(h) > 0 {
			if err := tx.setEntry(badger.NewEntry(dkey(dSessionByRefresh, string(h)), []byte(s.ID)).WithTTL(s.AbsoluteExpiresAt.Sub(tx.now) + time.Second)); err != nil {
				return err
			}
		}
	}
	if err := tx.setEntry(badger.NewEntry(dkey(dSessionByAccess, string(s.AccessHash)), []byte(s.ID)).WithTTL(s.AbsoluteExpiresAt.Sub(tx.now) + time.Second)); err != nil {
		return err
	}
	if err := tx.index(dkey(dSessionsOfUser, s.UserID, s.ID)); err != nil {
		return err
	}
	return tx.index(dkey(dSessionsOfDevice, s.DeviceID, s.ID))
}

// UpdateSession stores a change to a session that leaves its token hashes
// as they are, so that its indexes need no rewriting: one write. A session
// that is not stored, or whose hashes changed, is refused (use PutSession).
func (tx *badgerDirTx) UpdateSession(s *Session) error {
	old, err := tx.Session(s.ID)
	if err != nil {
		return err
	}
	if !bytes.Equal(old.AccessHash, s.AccessHash) || !bytes.Equal(old.RefreshHash, s.RefreshHash) ||
		!bytes.Equal(old.PreviousRefreshHash, s.PreviousRefreshHash) || old.UserID != s.UserID || old.DeviceID != s.DeviceID {
		return errors.New("store: UpdateSession cannot change a session's tokens or holder; use PutSession")
	}
	return tx.userScoped(func() error { return tx.put(dkey(dSession, s.ID), s, s.AbsoluteExpiresAt) }, s.UserID)
}

// DeleteSession removes a session and its indexes.
func (tx *badgerDirTx) DeleteSession(id string) error {
	s, err := tx.Session(id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return tx.userScoped(func() error { return tx.deleteSession(s) }, s.UserID)
}

func (tx *badgerDirTx) deleteSession(s *Session) error {
	id := s.ID
	for _, k := range [][]byte{
		dkey(dSession, id), dkey(dSessionByAccess, string(s.AccessHash)),
		dkey(dSessionByRefresh, string(s.RefreshHash)), dkey(dSessionByRefresh, string(s.PreviousRefreshHash)),
		dkey(dSessionsOfUser, s.UserID, id), dkey(dSessionsOfDevice, s.DeviceID, id),
	} {
		if err := tx.delete(k); err != nil {
			return err
		}
	}
	return nil
}

// SessionsOfUser returns the ids of a user's sessions.
func (tx *badgerDirTx) SessionsOfUser(user string) []string { return tx.scan(dSessionsOfUser, user) }

// SessionsOfDevice returns the ids of a device's sessions.
func (tx *badgerDirTx) SessionsOfDevice(device string) []string {
	return tx.scan(dSessionsOfDevice, device)
}

// Ceremony returns a ceremony, unless it expired.
func (tx *badgerDirTx) Ceremony(id string) (*Ceremony, error) {
	var c Ceremony
	if err := tx.get(dkey(dCeremony, id), &c); err != nil {
		return nil, err
	}
	if !tx.now.Before(c.ExpiresAt) {
		return nil, ErrNotFound
	}
	return &c, nil
}

// PutCeremony stores a ceremony until it expires.
func (tx *badgerDirTx) PutCeremony(c *Ceremony) error {
	return tx.userScoped(func() error { return tx.put(dkey(dCeremony, c.ID), c, c.ExpiresAt) })
}

// DeleteCeremony consumes a ceremony.
func (tx *badgerDirTx) DeleteCeremony(id string) error {
	return tx.userScoped(func() error { return tx.delete(dkey(dCeremony, id)) })
}

// Client returns a client.
func (tx *badgerDirTx) Client(id string) (*Client, error) {
	var c Client
	return &c, tx.get(dkey(dClient, id), &c)
}

// PutClient stores a client (moving it between teams re-indexes it).
func (tx *badgerDirTx) PutClient(c *Client) error {
	if old, err := tx.Client(c.ID); err == nil && old.TeamID != c.TeamID {
		if err := tx.delete(dkey(dClientsOfTeam, old.TeamID, c.ID)); err != nil {
			return err
		}
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if err := tx.put(dkey(dClient, c.ID), c, time.Time{}); err != nil {
		return err
	}
	if err := tx.index(dkey(dClientsOfArea, c.AreaID, c.ID)); err != nil {
		return err
	}
	return tx.index(dkey(dClientsOfTeam, c.TeamID, c.ID))
}

// ClientsOfArea returns the ids of an area's clients.
func (tx *badgerDirTx) ClientsOfArea(area string) []string { return tx.scan(dClientsOfArea, area) }

// ClientsOfTeam returns the ids of a team's clients.
func (tx *badgerDirTx) ClientsOfTeam(team string) []string { return tx.scan(dClientsOfTeam, team) }

func assignmentKey(table byte, a, b string, from time.Time) []byte {
	k := append(dkey(table, a, b), 0)
	return append(k, be64(uint64(from.UnixNano()))...)
}

// PutAssignment stores an assignment period (ending one is storing it
// again with To set).
func (tx *badgerDirTx) PutAssignment(a *Assignment) error {
	if err := tx.put(assignmentKey(dAssignment, a.UserID, a.ClientID, a.From), a, time.Time{}); err != nil {
		return err
	}
	return tx.set(assignmentKey(dAssignmentsOfClient, a.ClientID, a.UserID, a.From), assignmentKey(dAssignment, a.UserID, a.ClientID, a.From))
}

// AssignmentsOfUser returns every assignment period of a user, current and
// ended, by client then start.
func (tx *badgerDirTx) AssignmentsOfUser(user string) ([]*Assignment, error) {
	prefix := append(dkey(dAssignment, user), 0)
	opts := badger.DefaultIteratorOptions
	opts.Prefix = prefix
	it := tx.txn.NewIterator(opts)
	defer it.Close()
	var out []*Assignment
	for it.Rewind(); it.ValidForPrefix(prefix); it.Next() {
		var a Assignment
		if err := it.Item().Value(func(b []byte) error { return json.Unmarshal(b, &a) }); err != nil {
			return nil, err
		}
		out = append(out, &a)
	}
	return out, nil
}

// AssignmentsOfClient returns every assignment period of a client.
func (tx *badgerDirTx) AssignmentsOfClient(client string) ([]*Assignment, error) {
	prefix := append(dkey(dAssignmentsOfClient, client), 0)
	opts := badger.DefaultIteratorOptions
	opts.Prefix = prefix
	it := tx.txn.NewIterator(opts)
	defer it.Close()
	var out []*Assignment
	for it.Rewind(); it.ValidForPrefix(prefix); it.Next() {
		target, err := it.Item().ValueCopy(nil)
		if err != nil {
			return nil, err
		}
		var a Assignment
		if err := tx.get(target, &a); err != nil {
			return nil, fmt.Errorf("store: assignment index points nowhere: %w", err)
		}
		out = append(out, &a)
	}
	return out, nil
}
