package admin

import (
	"context"

	"github.com/throughcare/throughcare/server/access"
	"github.com/throughcare/throughcare/server/audit"
	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// CloseClient closes the case of a client the caller reaches (supervisors
// and admins: access.CloseClients): the client record's status becomes
// "closed", written on the caller's account (device ServerDevice) through
// the sync engine, which audits it (close_client) in the same transaction,
// so every device holding the client receives it on its next pull. The
// area's retention counts from then. Closing a closed case changes nothing.
//
// The caller's reach is checked before the write and again inside it (the
// engine's check, in the write's transaction, with the record as it
// stands), so an assignment, team or area change committed in between
// refuses the close as out of reach (errkind.NotFound) instead of letting
// it through.
func (s *Service) CloseClient(ctx context.Context, id *identity.Identity, clientID string) error {
	teamID, err := s.closeReach(ctx, id, clientID)
	if err != nil {
		return err
	}
	if !access.MayWrite(schema.Builtin(), id.Role, "client", "status") {
		return access.Forbidden(id.Role, "write client.status")
	}
	recs, err := s.st.Records(ctx, clientID, []string{clientID})
	if err != nil {
		return storeErr(err)
	}
	if recs[clientID] == nil {
		return errkind.E(errkind.Unavailable, "the client's record is not written yet; retry creating the client first")
	}
	cur := merge.Field(recs[clientID], "status")
	if cur.GetValue().GetStringValue() == "closed" {
		return nil
	}
	ch := &v1.Change{RecordId: clientID, RecordType: "client", ClientId: clientID, Field: "status",
		Value: &v1.Value{Kind: &v1.Value_StringValue{StringValue: "closed"}}, Base: cur.GetStamp()}
	entry := audit.Entry(ctx, id, store.AuditCloseClient, s.now())
	entry.ClientIDs, entry.TeamID = []string{clientID}, teamID
	var refused error
	recheck := func(*v1.Change, *v1.RecordState) syncengine.Decision {
		// Runs in every attempt of the write's transaction.
		team, err := s.closeReach(ctx, id, clientID)
		if refused = err; err != nil {
			return syncengine.Decision{Reason: v1.RejectReason_REJECT_REASON_NOT_FOUND, Message: "the client is no longer in reach"}
		}
		entry.TeamID = team
		return syncengine.Decision{}
	}
	res, err := s.w.WriteAudited(ctx, entry, []*v1.Change{ch}, recheck)
	if err != nil {
		return storeErr(err)
	}
	for _, r := range res.Results {
		if r.Verdict != v1.Verdict_VERDICT_APPLIED {
			if refused != nil {
				return refused
			}
			// The reason is a code (never the record's content); the
			// client's state did not allow the change just now.
			return errkind.E(errkind.Precondition, "the case was not closed: the change was refused (%v); reload the client and retry", r.Reason)
		}
	}
	s.log.Info().Str("user_id", id.UserID).Str("client_id", clientID).Msg("case closed")
	return nil
}

// closeReach returns the team of a client the caller may close, or why
// not (errkind.NotFound out of reach), from the directory as it stands.
func (s *Service) closeReach(ctx context.Context, id *identity.Identity, clientID string) (string, error) {
	var teamID string
	err := s.view(ctx, func(tx store.DirTx) error {
		sc, err := access.Resolve(tx, id, access.CloseClients)
		if err != nil {
			return err
		}
		c, err := sc.Client(tx, clientID)
		if err != nil {
			return err
		}
		teamID = c.TeamID
		return nil
	})
	return teamID, err
}
