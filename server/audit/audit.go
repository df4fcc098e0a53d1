// Package audit owns what the audit trail says about a caller: it builds
// the entry for something a signed-in caller did (who, in which role, from
// which device and client address, when), carries the client address from
// the API's edge to the domain packages, and renders entries for admins
// (the wire form and CSV). The chain itself, append-only and hash-linked,
// is the store's (store.Audit, DirTx.AppendAudit, DB.VerifyAudit).
package audit

import (
	"context"
	"time"

	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
)

type addrKey struct{}

// WithAddress returns a context carrying the client address of a request
// (the trusted proxy's last hop, or the connection's peer).
func WithAddress(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, addrKey{}, addr)
}

// Address returns the client address WithAddress put in ctx, or "".
func Address(ctx context.Context) string {
	a, _ := ctx.Value(addrKey{}).(string)
	return a
}

// Entry returns the audit entry of action done by the caller at now: their
// area, user id, role and device, and the request's client address.
// Callers add which clients or record it concerned and how many.
func Entry(ctx context.Context, id *identity.Identity, action store.AuditAction, now time.Time) *store.Audit {
	return &store.Audit{At: now.UTC(), AreaID: id.Area, UserID: id.UserID, Role: id.Role.String(), Action: action,
		DeviceID: id.DeviceID, Address: Address(ctx)}
}

// UserEntry is Entry for a user who has no session yet (signing in,
// enrolling): their directory entry and the device the session is for.
func UserEntry(ctx context.Context, u *store.User, deviceID string, action store.AuditAction, now time.Time) *store.Audit {
	return &store.Audit{At: now.UTC(), AreaID: u.AreaID, UserID: u.ID, Role: u.Role, Action: action,
		DeviceID: deviceID, Address: Address(ctx)}
}
