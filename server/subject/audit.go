package subject

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
)

// The package's audit entries, all in this file: a subject access export
// (written before any data leaves and completed with the items that left),
// a purge (written in the purge's own first transaction) and a change of
// an area's retention. They hold ids, dates and numbers only.

// Audit kinds.
const (
	AuditSubjectAccess = "subject_access"
	AuditPurge         = "retention_purge"
	AuditSetRetention  = "set_retention"
)

func newAudit(area, user, kind string, at time.Time, params map[string]string) *store.Audit {
	return &store.Audit{ID: uuid.Must(uuid.NewV7()).String(), AreaID: area, UserID: user, Kind: kind, Parameters: params, At: at.UTC()}
}

// beginAccessAudit records, before the archive is written, that the caller
// is exporting a client's data.
func (s *Service) beginAccessAudit(ctx context.Context, id *identity.Identity, clientID string) (*store.Audit, error) {
	a := newAudit(id.Area, id.UserID, AuditSubjectAccess, s.now(), map[string]string{"client_id": clientID, "device_id": id.DeviceID})
	return a, storeErr(s.st.Directory(ctx, func(tx store.DirTx) error { return tx.PutAudit(a) }))
}

// finishAccessAudit completes the export's entry with the items written.
func (s *Service) finishAccessAudit(ctx context.Context, a *store.Audit, items int, err error) {
	a.Rows, a.Complete = items, err == nil
	werr := s.st.Directory(context.WithoutCancel(ctx), func(tx store.DirTx) error { return tx.PutAudit(a) })
	ev := s.log.Info()
	if err != nil || werr != nil {
		ev = s.log.Warn().AnErr("audit_error", werr)
	}
	ev.Str("user_id", a.UserID).Str("audit_id", a.ID).Str("client_id", a.Parameters["client_id"]).
		Int("items", items).Bool("complete", a.Complete).Msg("subject access export")
}

// purgeAudit is the entry a purge writes with itself.
func purgeAudit(area, clientID string, at, lastChange time.Time, retention time.Duration) *store.Audit {
	a := newAudit(area, "", AuditPurge, at, map[string]string{
		"client_id": clientID, "last_change": lastChange.UTC().Format(time.RFC3339), "retention": retention.String(),
	})
	a.Complete = true
	return a
}

// retentionAudit records a change of an area's retention, in the
// transaction that makes it.
func retentionAudit(tx store.DirTx, id *identity.Identity, at time.Time, setting string) error {
	a := newAudit(id.Area, id.UserID, AuditSetRetention, at, map[string]string{"retention": setting})
	a.Complete = true
	return tx.PutAudit(a)
}

// auditsAbout returns the area's audit entries that name the client (in
// a client_id parameter or in a space-separated list of clients).
func auditsAbout(tx store.DirTx, area, clientID string) ([]*store.Audit, error) {
	var out []*store.Audit
	for _, aid := range tx.AuditsOfArea(area) {
		a, err := tx.Audit(aid)
		if err != nil {
			return nil, err
		}
		for _, v := range a.Parameters {
			if slices.Contains(strings.Fields(v), clientID) {
				out = append(out, a)
				break
			}
		}
	}
	return out, nil
}
