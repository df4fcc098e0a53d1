package admin

import (
	"context"
	"errors"

	"github.com/throughcare/throughcare/server/access"
	"github.com/throughcare/throughcare/server/audit"
	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
)

// AuditQuery asks for one page of an area's audit entries about a client
// or by a user (exactly one of ClientID and UserID).
type AuditQuery struct {
	ClientID, UserID string
	// After is the sequence number the page starts after (0: the first).
	After uint64
	// Limit is the most entries (0: DefaultAuditLimit; at most
	// MaxAuditLimit).
	Limit int
}

// Bounds of an audit page.
const (
	DefaultAuditLimit = 500
	MaxAuditLimit     = 5000
)

var errAuditSubjectNF = errkind.E(errkind.NotFound, "no such client or user in this area")

// ListAudit returns a page of the caller's area's audit entries about a
// client or by a user, oldest first, and the sequence number the next page
// starts after (0 if this page is the last). Only admins may read the
// audit (access.ReadAudit); a client or user of another area is NotFound.
// The read is itself audited, in the same transaction, before the entries
// are returned.
func (s *Service) ListAudit(ctx context.Context, id *identity.Identity, q AuditQuery) ([]*store.Audit, uint64, error) {
	if (q.ClientID == "") == (q.UserID == "") {
		return nil, 0, errkind.E(errkind.Invalid, "give exactly one of client_id and user_id")
	}
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultAuditLimit
	}
	limit = min(limit, MaxAuditLimit)
	var (
		out  []*store.Audit
		next uint64
	)
	err := s.directory(ctx, func(tx store.DirTx) error {
		out, next = nil, 0
		sc, err := access.Resolve(tx, id, access.ReadAudit)
		if err != nil {
			return err
		}
		read := audit.Entry(ctx, id, store.AuditReadAudit, s.now())
		if q.ClientID != "" {
			c, err := tx.Client(q.ClientID)
			if errors.Is(err, store.ErrNotFound) || (err == nil && c.AreaID != sc.Area()) {
				return errAuditSubjectNF
			}
			if err != nil {
				return err
			}
			out, err = tx.AuditOfClient(sc.Area(), c.ID, q.After, limit+1)
			if err != nil {
				return err
			}
			read.ClientIDs = []string{c.ID}
		} else {
			u, err := tx.User(q.UserID)
			if errors.Is(err, store.ErrNotFound) || (err == nil && u.AreaID != sc.Area()) {
				return errAuditSubjectNF
			}
			if err != nil {
				return err
			}
			if out, err = tx.AuditOfUser(sc.Area(), u.ID, q.After, limit+1); err != nil {
				return err
			}
			read.RecordID = u.ID
		}
		if len(out) > limit {
			out = out[:limit]
			next = out[limit-1].Seq
		}
		read.Count = uint64(len(out))
		return tx.AppendAudit(read)
	})
	if err != nil {
		return nil, 0, err
	}
	return out, next, nil
}

// changeAudit appends, in the transaction that makes it, the entry of a
// change to who may do what: an invite created (RecordID the invite, TeamID
// its team) or revoked, an assignment opened or ended (the client, RecordID
// the worker), a user disabled (RecordID the user). Ids only.
func (s *Service) changeAudit(ctx context.Context, tx store.DirTx, id *identity.Identity, action store.AuditAction, clientID, recordID, teamID string) error {
	a := audit.Entry(ctx, id, action, s.now())
	if clientID != "" {
		a.ClientIDs = []string{clientID}
	}
	a.RecordID, a.TeamID = recordID, teamID
	return tx.AppendAudit(a)
}
