// Package admin manages an area (the tenant boundary): its teams, its users
// and their invites, and its clients and which workers are assigned to them.
// It is the domain behind AdminService; package api adapts it to Connect.
//
// # Reach
//
// Every method takes the caller's identity and acts only within their reach,
// as the access policy says (package access: access.Resolve, access.Reach):
//
//   - an admin reaches everything in their area;
//   - a supervisor reaches their own teams (the TeamIDs of their directory
//     entry): those teams, the users in them and the teams' clients. They may
//     invite workers to, create clients in, assign clients within and close
//     the cases of those teams, and list and revoke worker invites to them,
//     but not create teams, invite supervisors or admins, disable users, or
//     list or revoke other users' devices;
//   - a worker may only describe their area.
//
// A role that may not use a method at all gets errkind.Forbidden, decided
// before anything named in the request is looked at. A team, user or client
// in another area, or outside a supervisor's teams, answers errkind.NotFound
// exactly as one that does not exist, so ids cannot be probed. Error messages
// never carry names, codes or ids of things outside the caller's reach.
//
// # Writes
//
// Directory writes (teams, invites, users, clients, assignments) are single
// directory transactions through Store.Directory. Creating a client also
// writes the client record into the client's bucket as server-authored
// changes (device "server", stamped by the server's hybrid logical clock);
// see CreateClient for how the two steps and retries fit together.
//
// Invite codes are returned once and stored only as auth.HashSecret(code);
// an invite is named by its id in lists and for revoking. The auth package
// marks an invite used when someone enrols with it, and refuses one that is
// revoked or whose inviter is disabled (see invites.go).
package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// Sessions is what admin needs from the sessions layer (implemented by
// package auth).
type Sessions interface {
	// EndUserSessions ends every session of a user at once, closing their
	// open streams.
	EndUserSessions(ctx context.Context, userID string) error
	// CaseloadChanged tells the sessions layer that the buckets these users
	// may sync have changed, so their identities are recomputed and their
	// open streams close for the devices to pull the new caseload.
	CaseloadChanged(userIDs ...string)
}

// Devices revokes devices (implemented by package auth, which owns them).
type Devices interface {
	// RevokeDeviceIf revokes a device on behalf of id, and ends its
	// sessions and streams, in one transaction with may, which refuses it
	// with an error (d is nil if there is no such device); the revocation
	// is audited (revoke_device).
	RevokeDeviceIf(ctx context.Context, id *identity.Identity, deviceID string, may func(tx store.DirTx, d *store.Device) error) error
}

// DefaultInviteTTL is how long an invite lasts unless configured.
const DefaultInviteTTL = 72 * time.Hour

// ServerDevice is the device id (and HLC replica id) of changes the server
// writes on its own account, such as a new client's record.
const ServerDevice = syncengine.ServerDevice

// MaxNameLen is the most characters a display, team or area name may have.
const MaxNameLen = 100

// Store is what the admin service needs of the store: the directory, and
// the buckets it writes client records to. *store.DB is one.
type Store interface {
	store.DirectoryStore
	// Records returns the stored states of records of a bucket.
	Records(ctx context.Context, bucket string, recordIDs []string) (map[string]*v1.RecordState, error)
	// ClientRecords returns the client record of each client's bucket, in
	// one read (ListClients' names and status).
	ClientRecords(ctx context.Context, clientIDs []string) (map[string]*v1.RecordState, error)
}

// Config configures a Service.
type Config struct {
	// Store is the directory and the buckets (required).
	Store Store
	// Sessions ends sessions and learns of caseload changes (required).
	Sessions Sessions
	// Now reads the server clock (default time.Now). It should be the
	// store's clock (store.Options.Now): the directory expires invites by
	// that clock.
	Now func() time.Time
	// InviteTTL is how long an invite lasts (default DefaultInviteTTL).
	InviteTTL time.Duration
	// Logger records what the service does, by id only: never names,
	// codes or personal fields.
	Logger zerolog.Logger
	// Writer writes client records on the server's account (required):
	// the sync engine.
	Writer Writer
	// Devices revokes users' devices for their admins (required).
	Devices Devices
}

// Writer is the one door for changes the server writes on a user's
// behalf: the sync engine's WriteAudited, which numbers and stamps them
// with the server's clock and appends their audit entry in the same
// transaction. *syncengine.Engine is one.
type Writer interface {
	// CheckWrite validates changes against the schema before anything is
	// written.
	CheckWrite(changes []*v1.Change) error
	// WriteAudited writes changes with the entry's user as their author.
	WriteAudited(ctx context.Context, entry *store.Audit, changes []*v1.Change, check func(*v1.Change, *v1.RecordState) syncengine.Decision) (*syncengine.PushResult, error)
}

// Service manages areas. It is safe for concurrent use.
type Service struct {
	st       Store
	sessions Sessions
	now      func() time.Time
	ttl      time.Duration
	log      zerolog.Logger
	w        Writer
	devices  Devices
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Sessions == nil || cfg.Writer == nil || cfg.Devices == nil {
		return nil, errors.New("admin: store, sessions, writer and devices are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.InviteTTL <= 0 {
		cfg.InviteTTL = DefaultInviteTTL
	}
	return &Service{
		st: cfg.Store, sessions: cfg.Sessions, now: cfg.Now, ttl: cfg.InviteTTL, log: cfg.Logger,
		w: cfg.Writer, devices: cfg.Devices,
	}, nil
}

// directory runs fn in a read-write directory transaction, passing domain
// errors through and marking store trouble as such.
func (s *Service) directory(ctx context.Context, fn func(tx store.DirTx) error) error {
	return storeErr(s.st.Directory(ctx, fn))
}

// view runs fn in a read-only directory transaction.
func (s *Service) view(ctx context.Context, fn func(tx store.DirTx) error) error {
	return storeErr(s.st.DirectoryView(ctx, fn))
}

// storeErr keeps domain errors and context errors as they are and wraps
// anything else; the API maps store.ErrUnavailable and hides the rest.
func storeErr(err error) error {
	if err == nil || errkind.Of(err) != 0 {
		return err
	}
	return fmt.Errorf("admin: %w", err)
}

// cleanName trims a name and checks it has 1 to MaxNameLen printable
// characters on one line. The message names the field, never the value.
func cleanName(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	if n == 0 {
		return "", errkind.E(errkind.Invalid, "%s is required", field)
	}
	if n > MaxNameLen || !utf8.ValidString(s) || strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return "", errkind.E(errkind.Invalid, "%s must be 1 to %d printable characters on one line", field, MaxNameLen)
	}
	return s, nil
}

// sortByName sorts case-insensitively by name, then by id.
func sortByName[T any](xs []T, name, id func(T) string) {
	slices.SortFunc(xs, func(a, b T) int {
		if c := strings.Compare(strings.ToLower(name(a)), strings.ToLower(name(b))); c != 0 {
			return c
		}
		return strings.Compare(id(a), id(b))
	})
}
