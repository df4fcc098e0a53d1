package api

import (
	"context"
	"encoding/hex"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/throughcare/throughcare/server/admin"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

func (h *adminHandler) ListAudit(ctx context.Context, req *v1.ListAuditRequest) (*v1.ListAuditResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := adminTooLong(adminBound{"client_id", req.GetClientId(), adminMaxIDBytes}, adminBound{"user_id", req.GetUserId(), adminMaxIDBytes}); err != nil {
		return nil, err
	}
	entries, next, err := h.svc.ListAudit(ctx, id, admin.AuditQuery{ClientID: req.GetClientId(), UserID: req.GetUserId(),
		After: req.GetAfter(), Limit: int(min(req.GetLimit(), admin.MaxAuditLimit))})
	if err != nil {
		return nil, connectError(ctx, err)
	}
	resp := &v1.ListAuditResponse{NextAfter: next, Entries: make([]*v1.AuditEntry, len(entries))}
	for i, e := range entries {
		resp.Entries[i] = auditEntry(e)
	}
	return resp, nil
}

// auditEntry is an audit entry's wire form.
func auditEntry(e *store.Audit) *v1.AuditEntry {
	h := e.Hash()
	return &v1.AuditEntry{Seq: e.Seq, At: timestamppb.New(e.At), Action: e.Action.String(), UserId: e.UserID, Role: e.Role,
		DeviceId: e.DeviceID, Address: e.Address, ClientIds: e.ClientIDs, RecordId: e.RecordID, TeamId: e.TeamID, Count: e.Count,
		From: optionalTime(e.From), To: optionalTime(e.To), PrevHash: hex.EncodeToString(e.Prev[:]), Hash: hex.EncodeToString(h[:])}
}

func optionalTime(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
