package store

import "context"

// DirTx is one transaction on the directory: areas, teams, users, devices,
// sessions, ceremonies, invites, clients, assignments and the audit trail.
// A backend implements it with its indexes kept consistent with the
// entities inside the transaction; storetest.RunDirectory is its contract.
// Lookups of something absent (or expired, where a method says so) return
// ErrNotFound. Expiry is decided against the backend's clock, read once
// when the transaction begins, never against the wall clock.
type DirTx interface {
	// Area returns an area.
	Area(id string) (*Area, error)

	// PutArea stores an area.
	PutArea(a *Area) error

	// Areas returns every area.
	Areas() ([]*Area, error)

	// Team returns a team.
	Team(id string) (*Team, error)

	// PutTeam stores a team.
	PutTeam(t *Team) error

	// TeamsOfArea returns the ids of an area's teams.
	TeamsOfArea(area string) []string

	// User returns a user.
	User(id string) (*User, error)

	// UserByHandle returns the user with a WebAuthn user handle.
	UserByHandle(handle []byte) (*User, error)

	// PutUser stores a user.
	PutUser(u *User) error

	// UsersOfArea returns the ids of an area's users.
	UsersOfArea(area string) []string

	// Device returns a device.
	Device(id string) (*Device, error)

	// DeviceByCredential returns the device of a WebAuthn credential id.
	DeviceByCredential(credentialID []byte) (*Device, error)

	// PutDevice stores a device. Only a primary (PrimaryID empty) is indexed
	// under its credential id: storing another installation of the same
	// passkey leaves the credential index on the primary.
	PutDevice(d *Device) error

	// DevicesOfUser returns the ids of a user's devices.
	DevicesOfUser(user string) []string

	// Installations returns the devices of a user that a primary's passkey
	// signed in on besides the primary itself (PrimaryID == primary), revoked
	// ones included.
	Installations(user, primary string) ([]*Device, error)

	// Session returns a session.
	Session(id string) (*Session, error)

	// SessionByAccess returns the session with an access-token hash.
	SessionByAccess(hash []byte) (*Session, error)

	// SessionByRefresh returns the session whose current or previous
	// refresh-token hash this is (the caller tells which by comparing).
	SessionByRefresh(hash []byte) (*Session, error)

	// PutSession stores a session and indexes its token hashes (the previous
	// refresh hash too, so that its reuse can be detected).
	PutSession(s *Session) error

	// UpdateSession stores a change to a session that leaves its token hashes
	// as they are, so that its indexes need no rewriting: one write. A session
	// that is not stored, or whose hashes changed, is refused (use PutSession).
	UpdateSession(s *Session) error

	// DeleteSession removes a session and its indexes.
	DeleteSession(id string) error

	// SessionsOfUser returns the ids of a user's sessions.
	SessionsOfUser(user string) []string

	// SessionsOfDevice returns the ids of a device's sessions.
	SessionsOfDevice(device string) []string

	// Ceremony returns a ceremony, unless it expired.
	Ceremony(id string) (*Ceremony, error)

	// PutCeremony stores a ceremony until it expires.
	PutCeremony(c *Ceremony) error

	// DeleteCeremony consumes a ceremony.
	DeleteCeremony(id string) error

	// Client returns a client.
	Client(id string) (*Client, error)

	// PutClient stores a client (moving it between teams re-indexes it).
	PutClient(c *Client) error

	// ClientsOfArea returns the ids of an area's clients.
	ClientsOfArea(area string) []string

	// ClientsOfTeam returns the ids of a team's clients.
	ClientsOfTeam(team string) []string

	// PutAssignment stores an assignment period (ending one is storing it
	// again with To set).
	PutAssignment(a *Assignment) error

	// AssignmentsOfUser returns every assignment period of a user, current and
	// ended, by client then start.
	AssignmentsOfUser(user string) ([]*Assignment, error)

	// AssignmentsOfClient returns every assignment period of a client.
	AssignmentsOfClient(client string) ([]*Assignment, error)

	// ClientsWithAssignments returns every client of an area, by id, each
	// with the open assignment periods the area's users hold on it (by
	// user, then start), in one pass instead of a Client and an
	// AssignmentsOfClient read per client.
	ClientsWithAssignments(area string) ([]*ClientAssignments, error)

	// PurgedClient returns the tombstone of a client purged for retention
	// (ErrNotFound if it was never purged); its id is never used again.
	PurgedClient(id string) (*PurgedClient, error)

	// AppendAudit appends an entry to its area's audit chain, committed
	// with the transaction (see BucketTx.AppendAudit). There is no way to
	// change or remove an entry.
	AppendAudit(a *Audit) error

	// AuditOfClient returns the sealed entries of an area's chain about a
	// client (one of its ClientIDs) with Seq after after, in chain order,
	// at most limit of them (0: all).
	AuditOfClient(area, client string, after uint64, limit int) ([]*Audit, error)

	// AuditOfUser returns the sealed entries of an area's chain made by a
	// user, as AuditOfClient does.
	AuditOfUser(area, user string, after uint64, limit int) ([]*Audit, error)

	// AuditOfArea returns the sealed entries of an area's chain, as
	// AuditOfClient does.
	AuditOfArea(area string, after uint64, limit int) ([]*Audit, error)

	// Invite returns the invite with the given code hash while it is pending
	// (see Invite.Pending): a used, revoked or expired one is ErrNotFound.
	Invite(hash []byte) (*Invite, error)

	// InviteOfArea returns the area's invite with the id, in whatever state:
	// ErrNotFound if the area has no such invite (any more).
	InviteOfArea(area, id string) (*Invite, error)

	// InvitesOfArea calls fn with the area's stored invites, in every state,
	// newest first, starting after the one with id after (with the newest if
	// after is empty), until fn returns false.
	InvitesOfArea(area, after string, fn func(*Invite) bool) error

	// PutInvite stores an invite, giving it an id if it has none, and indexes
	// it under its area; both are kept until InviteKeptFor after it expires.
	PutInvite(in *Invite) error
}

// DirectoryStore opens directory transactions. *DB is the Badger one.
type DirectoryStore interface {
	// Directory runs fn in a read-write transaction, committed if fn
	// returns nil; if fn returns an error nothing it wrote is kept. fn may
	// run more than once (on a conflict), so it must have no other side
	// effects. The audit entries fn appended are in their chains when it
	// returns.
	Directory(ctx context.Context, fn func(tx DirTx) error) error
	// DirectoryView runs fn in a read-only transaction.
	DirectoryView(ctx context.Context, fn func(tx DirTx) error) error
}

var _ DirectoryStore = (*DB)(nil)
