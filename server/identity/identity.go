// Package identity defines who is calling: the user, their device, role and
// area, and the buckets (clients) they may sync. One interceptor resolves an
// Identity for every procedure through a Source; the sync engine and the
// other domain packages read it from the context.
package identity

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// Role is what a user may do.
type Role int

// Roles.
const (
	// Worker is an outreach worker with a caseload.
	Worker Role = iota + 1
	// Supervisor reviews the work of their teams.
	Supervisor
	// Admin manages an area.
	Admin
)

// String names the role.
func (r Role) String() string {
	switch r {
	case Worker:
		return "worker"
	case Supervisor:
		return "supervisor"
	case Admin:
		return "admin"
	}
	return "unknown"
}

// ParseRole returns the role named s ("worker", "supervisor", "admin"), or 0.
func ParseRole(s string) Role {
	for _, r := range []Role{Worker, Supervisor, Admin} {
		if r.String() == s {
			return r
		}
	}
	return 0
}

// Proto is the role's wire form.
func (r Role) Proto() v1.Role {
	switch r {
	case Worker:
		return v1.Role_ROLE_WORKER
	case Supervisor:
		return v1.Role_ROLE_SUPERVISOR
	case Admin:
		return v1.Role_ROLE_ADMIN
	}
	return v1.Role_ROLE_UNSPECIFIED
}

// Identity is an authenticated caller.
type Identity struct {
	// UserID and DeviceID identify the caller and the device (the replica
	// id its changes are stamped with).
	UserID, DeviceID string
	// Role is the user's role.
	Role Role
	// Area is the tenant the user belongs to.
	Area string
	// Buckets are the client ids the caller may sync, sorted.
	Buckets []string
	// Former holds, for each client the caller was once assigned to but no
	// longer holds, the periods they held it: work stamped inside one is
	// accepted (and flagged), work stamped after is refused.
	Former map[string][]Period
	// Ended, if not nil, is closed when the session ends (expiry, logout,
	// revocation); open streams close when it does.
	Ended <-chan struct{}
	// Changed, if not nil, is closed when the caller's buckets change; open
	// streams close so the device pulls its new caseload.
	Changed <-chan struct{}
}

// Period is a span of time during which the caller held a client; To is
// never zero in Former.
type Period struct{ From, To time.Time }

// Covers reports whether t falls in the period.
func (p Period) Covers(t time.Time) bool { return !t.Before(p.From) && t.Before(p.To) }

// HasBucket reports whether the caller may sync the client's bucket.
func (id *Identity) HasBucket(clientID string) bool {
	_, ok := slices.BinarySearch(id.Buckets, clientID)
	return ok
}

// Source resolves the caller of a request from its headers.
type Source interface {
	// Identify returns the caller, or an error wrapping ErrUnauthenticated
	// when the request carries no valid session.
	Identify(ctx context.Context, header http.Header) (*Identity, error)
}

// SourceFunc adapts a function to Source.
type SourceFunc func(ctx context.Context, header http.Header) (*Identity, error)

// Identify calls f.
func (f SourceFunc) Identify(ctx context.Context, h http.Header) (*Identity, error) { return f(ctx, h) }

// ErrUnauthenticated reports a request without a valid session.
var ErrUnauthenticated = errors.New("identity: sign-in required")

// NoSessions is the Source used until sign-in exists: it admits nobody.
var NoSessions Source = SourceFunc(func(context.Context, http.Header) (*Identity, error) {
	return nil, ErrUnauthenticated
})

type ctxKey struct{}

// NewContext returns a context carrying id.
func NewContext(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the identity the interceptor resolved.
func FromContext(ctx context.Context) (*Identity, bool) {
	id, ok := ctx.Value(ctxKey{}).(*Identity)
	return id, ok && id != nil
}

// Why work for a caller stops before it is done (see Identity.Err).
var (
	// ErrSessionEnded: the session ended (expiry, logout, revocation); it
	// is ErrUnauthenticated too.
	ErrSessionEnded = fmt.Errorf("%w: the session ended", ErrUnauthenticated)
	// ErrCaseloadChanged: the caller's buckets changed.
	ErrCaseloadChanged = errors.New("identity: the caseload changed; start again")
)

// Err reports, without waiting, whether the caller's session has ended
// (ErrSessionEnded) or their caseload has changed (ErrCaseloadChanged)
// since the identity was resolved; nil if neither. Long work for a caller
// (streams, exports) checks it before each page and each row.
func (id *Identity) Err() error {
	select {
	case <-id.Ended:
		return ErrSessionEnded
	default:
	}
	select {
	case <-id.Changed:
		return ErrCaseloadChanged
	default:
	}
	return nil
}
