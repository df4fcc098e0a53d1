package syncengine

import (
	"context"
	"time"

	"github.com/throughcare/throughcare/server/identity"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// Subscribe catches the caller up from the request's cursor, then sends new
// changes in its buckets as they are accepted, and keepalives while idle. It
// returns when ctx ends, or with a *ClosedError saying why the server ended
// the stream.
func (e *Engine) Subscribe(ctx context.Context, id *identity.Identity, req *v1.SubscribeRequest, send func(*v1.SubscribeResponse) error) error {
	if err := e.checkVersions(req.GetProtocolVersion(), req.GetSchemaVersion()); err != nil {
		return err
	}
	cur, err := e.openCursor(id, req.GetCursor())
	if err != nil {
		return err
	}
	select {
	case <-e.closing:
		return &ClosedError{Reason: v1.CloseReason_CLOSE_REASON_SERVER_SHUTDOWN}
	default:
	}
	sub, unsubscribe := e.hub.subscribe(id.Buckets)
	defer unsubscribe()
	keepalive := time.NewTicker(e.cfg.Keepalive)
	defer keepalive.Stop()
	maxAge := time.NewTimer(e.cfg.StreamMaxAge)
	defer maxAge.Stop()

	first := true
	// catchUp sends pages until the cursor reaches the heads of the buckets
	// in only (nil: all of the caller's buckets).
	catchUp := func(only map[string]bool) error {
		for {
			page, err := e.page(ctx, id, cur, e.cfg.DefaultLimit, only)
			if err != nil {
				return err
			}
			if first || len(page.Buckets) > 0 {
				if err := send(&v1.SubscribeResponse{Event: &v1.SubscribeResponse_Changes{Changes: page}}); err != nil {
					return err
				}
				first = false
			}
			if cur, err = e.codec.Decode(id.UserID, page.Cursor); err != nil {
				return err
			}
			if !page.HasMore {
				return nil
			}
		}
	}
	if err := catchUp(nil); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-e.closing:
			return &ClosedError{Reason: v1.CloseReason_CLOSE_REASON_SERVER_SHUTDOWN}
		case <-id.Ended:
			return &ClosedError{Reason: v1.CloseReason_CLOSE_REASON_SESSION_ENDED}
		case <-id.Changed:
			return &ClosedError{Reason: v1.CloseReason_CLOSE_REASON_MEMBERSHIP_CHANGED}
		case <-maxAge.C:
			return &ClosedError{Reason: v1.CloseReason_CLOSE_REASON_MAX_AGE}
		case <-sub.notify:
			if err := catchUp(sub.take()); err != nil {
				return err
			}
		case <-keepalive.C:
			if err := send(&v1.SubscribeResponse{Event: &v1.SubscribeResponse_Keepalive{Keepalive: &v1.Keepalive{ServerTime: e.serverTime()}}}); err != nil {
				return err
			}
		}
	}
}
