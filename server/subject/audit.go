package subject

import (
	"context"
	"time"

	"github.com/throughcare/throughcare/server/audit"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
)

// The package's audit entries, all in this file: a subject access export
// (its start, written before any data leaves, and its end with the items
// that left), a purge (written in the purge's own first transaction) and
// a change of an area's retention. They hold ids, times and numbers only.

// beginAccessAudit records, before the archive is written, that the caller
// is exporting a client's data.
func (s *Service) beginAccessAudit(ctx context.Context, id *identity.Identity, clientID string) (*store.Audit, error) {
	a := audit.Entry(ctx, id, store.AuditSubjectAccess, s.now())
	a.ClientIDs = []string{clientID}
	return a, storeErr(s.st.Directory(ctx, func(tx store.DirTx) error { return tx.AppendAudit(a) }))
}

// finishAccessAudit appends the export's end: the items written, complete
// or cut off (RecordID names the export it ends).
func (s *Service) finishAccessAudit(ctx context.Context, id *identity.Identity, clientID string, items int, err error) {
	action := store.AuditExportComplete
	if err != nil {
		action = store.AuditExportIncomplete
	}
	end := audit.Entry(ctx, id, action, s.now())
	end.ClientIDs, end.RecordID, end.Count = []string{clientID}, store.AuditSubjectAccess.String(), uint64(items)
	werr := s.st.Directory(context.WithoutCancel(ctx), func(tx store.DirTx) error { return tx.AppendAudit(end) })
	ev := s.log.Info()
	if err != nil || werr != nil {
		ev = s.log.Warn().AnErr("audit_error", werr)
	}
	ev.Str("user_id", id.UserID).Str("client_id", clientID).Int("items", items).Bool("complete", err == nil).Msg("subject access export")
}

// purgeAudit is the entry a purge writes with itself: the server did it
// (no user), to the client, whose data last changed at To; Count is the
// retention it applied, in seconds.
func purgeAudit(area, clientID string, at, lastChange time.Time, retention time.Duration) *store.Audit {
	return &store.Audit{At: at.UTC(), AreaID: area, Action: store.AuditRetentionPurge, ClientIDs: []string{clientID},
		To: lastChange.UTC(), Count: uint64(retention / time.Second)}
}

// retentionAudit records a change of an area's retention, in the
// transaction that makes it; RecordID is the setting ("default" or a
// duration such as "8760h0m0s").
func retentionAudit(ctx context.Context, tx store.DirTx, id *identity.Identity, at time.Time, setting string) error {
	a := audit.Entry(ctx, id, store.AuditSetRetention, at)
	a.RecordID = setting
	return tx.AppendAudit(a)
}

// auditsAbout returns the area's audit entries about the client, in chain
// order.
func auditsAbout(tx store.DirTx, area, clientID string) ([]*store.Audit, error) {
	return tx.AuditOfClient(area, clientID, 0, 0)
}
