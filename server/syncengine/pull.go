package syncengine

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/throughcare/throughcare/server/access"
	"github.com/throughcare/throughcare/server/audit"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/syncproto/cursor"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// Pull answers one page of changes since the request's cursor. Its records
// are pre-encoded: see Materialize.
func (e *Engine) Pull(ctx context.Context, id *identity.Identity, req *v1.PullRequest) (*v1.PullResponse, error) {
	if err := e.checkVersions(req.GetProtocolVersion(), req.GetSchemaVersion()); err != nil {
		return nil, err
	}
	cur, err := e.openCursor(id, req.GetCursor())
	if err != nil {
		return nil, err
	}
	limit := int(req.GetLimit())
	if limit == 0 {
		limit = e.cfg.DefaultLimit
	}
	return e.page(ctx, id, cur, min(limit, e.cfg.MaxLimit), nil, store.AuditPull)
}

// openCursor decodes a cursor sealed for the caller, or says why the device
// must reset.
func (e *Engine) openCursor(id *identity.Identity, b []byte) (cursor.Cursor, error) {
	cur, err := e.codec.Decode(id.UserID, b)
	if err != nil {
		return cursor.Cursor{}, &ResetError{Reason: v1.ResetReason_RESET_REASON_CURSOR_INVALID}
	}
	if len(b) > 0 && cur.Schema < e.cfg.Schema.MinCompatible() {
		return cursor.Cursor{}, &ResetError{Reason: v1.ResetReason_RESET_REASON_SCHEMA_CHANGED}
	}
	return cur, nil
}

// page reads one page from cur for the caller's current buckets: buckets
// the cursor lacks come as snapshots, buckets the caller lost as evictions
// (noted in the store before the page is returned).
// If only is set, just those of the caller's buckets are read (a live
// update); the cursor still carries every bucket. A page with records for
// a caller whose sync reads are audited (access.SyncReadsAudited) leaves an
// audit entry, as action, before it is returned.
func (e *Engine) page(ctx context.Context, id *identity.Identity, cur cursor.Cursor, limit int, only map[string]bool, action store.AuditAction) (*v1.PullResponse, error) {
	next := cursor.Cursor{Schema: e.cfg.Schema.Version(), Positions: make(map[string]uint64, len(id.Buckets))}
	from := make(map[string]uint64, len(id.Buckets))
	for _, b := range id.Buckets {
		next.Positions[b] = cur.Positions[b]
		if only == nil || only[b] {
			from[b] = cur.Positions[b]
		}
	}
	resp := &v1.PullResponse{}
	var ended map[string]time.Time // of the evicted buckets the caller held
	for _, b := range slices.Sorted(maps.Keys(cur.Positions)) {
		if !id.HasBucket(b) {
			resp.Buckets = append(resp.Buckets, &v1.BucketUpdate{ClientId: b, Action: v1.BucketAction_BUCKET_ACTION_EVICT})
			if periods := id.Former[b]; len(periods) > 0 {
				if ended == nil {
					ended = map[string]time.Time{}
				}
				ended[b] = slices.MaxFunc(periods, func(p, q identity.Period) int { return p.To.Compare(q.To) }).To
			}
		}
	}
	page, err := e.cfg.Store.Pull(ctx, store.PullQuery{From: from, Limit: limit, MaxBytes: e.cfg.MaxPageBytes})
	var ahead *store.CursorAheadError
	if errors.As(err, &ahead) {
		return nil, &ResetError{Reason: v1.ResetReason_RESET_REASON_CURSOR_UNKNOWN}
	}
	if err != nil {
		return nil, err
	}
	// The device is about to be told to drop clients it held: from now on
	// it sends no late work for them (see access.Push).
	if len(ended) > 0 {
		if err := e.cfg.Store.NoteEvictions(ctx, id.DeviceID, ended); err != nil {
			return nil, err
		}
	}
	records, size := 0, 0
	for _, bp := range page.Buckets {
		records += len(bp.Records)
		for _, r := range bp.Records {
			size += len(r)
		}
		start := from[bp.Bucket]
		next.Positions[bp.Bucket] = bp.Position
		if len(bp.Records) == 0 {
			continue
		}
		action := v1.BucketAction_BUCKET_ACTION_DELTA
		if start == 0 {
			action = v1.BucketAction_BUCKET_ACTION_SNAPSHOT
		}
		resp.Buckets = append(resp.Buckets, withEncodedRecords(&v1.BucketUpdate{ClientId: bp.Bucket, Action: action, Position: bp.Position}, bp.Records))
	}
	if access.SyncReadsAudited(id) {
		if err := e.auditPage(ctx, id, action, page); err != nil {
			return nil, err
		}
	}
	e.cfg.Meter.Paged(records, size)
	resp.HasMore = page.HasMore
	resp.Cursor = e.codec.Encode(id.UserID, next)
	resp.ServerTime = e.serverTime()
	resp.SchemaVersion = e.cfg.Schema.Version()
	return resp, nil
}

// auditPage records which buckets a page sent records of, and how many, if
// it sent any: the read is not answered unless its entry is written.
func (e *Engine) auditPage(ctx context.Context, id *identity.Identity, action store.AuditAction, page *store.PullPage) error {
	a := audit.Entry(ctx, id, action, e.cfg.Now())
	for _, bp := range page.Buckets {
		if len(bp.Records) > 0 {
			a.ClientIDs = append(a.ClientIDs, bp.Bucket)
			a.Count += uint64(len(bp.Records))
		}
	}
	if a.Count == 0 {
		return nil
	}
	return e.cfg.Store.Buckets(ctx, func(tx store.BucketTx) error { return tx.AppendAudit(a) })
}
