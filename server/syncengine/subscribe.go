package syncengine

import (
	"context"
	"errors"
	"time"

	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/syncproto/cursor"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// SendFunc sends one event of a stream. ctx is done once the stream must
// end (its cause says why: a *ClosedError, a replaced stream, the caller
// gone); a send blocked on a client that does not read must then return
// promptly, with an error.
type SendFunc func(ctx context.Context, m *v1.SubscribeResponse) error

// Subscribe catches the caller up from the request's cursor, then sends new
// changes in its buckets as they are accepted, and keepalives while idle. It
// returns when ctx ends, or with a *ClosedError saying why the server ended
// the stream (shutdown, session ended, caseload changed, maximum age), or
// an errkind.Exhausted error when the caller has too many streams open or
// this device opened a newer one. It checks all of those before every page
// and every event it sends, so nothing more is sent once one of them holds;
// a send under way when one happens is told through its ctx.
func (e *Engine) Subscribe(ctx context.Context, id *identity.Identity, req *v1.SubscribeRequest, send SendFunc) error {
	if err := e.checkVersions(req.GetProtocolVersion(), req.GetSchemaVersion()); err != nil {
		return err
	}
	cur, err := e.openCursor(id, req.GetCursor())
	if err != nil {
		return err
	}
	if err := e.closed(id); err != nil {
		return err
	}
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	release, err := e.streams.open(id, stop)
	if err != nil {
		return err
	}
	defer release()
	ctx, cancel := context.WithTimeoutCause(ctx, e.cfg.StreamMaxAge, &ClosedError{Reason: v1.CloseReason_CLOSE_REASON_MAX_AGE})
	defer cancel()

	sub, unsubscribe := e.hub.subscribe(id.Buckets)
	defer unsubscribe()
	s := &stream{e: e, ctx: ctx, stop: stop, id: id, cur: cur, send: send, first: true}
	if err := s.catchUp(nil); err != nil {
		return err
	}
	keepalive := time.NewTicker(e.cfg.Keepalive)
	defer keepalive.Stop()
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-e.closing:
			return e.closed(id)
		case <-id.Ended:
			return e.closed(id)
		case <-id.Changed:
			return e.closed(id)
		case <-sub.notify:
			if err := s.catchUp(sub.take()); err != nil {
				return err
			}
		case <-keepalive.C:
			if err := s.emit(&v1.SubscribeResponse{Event: &v1.SubscribeResponse_Keepalive{Keepalive: &v1.Keepalive{ServerTime: e.serverTime()}}}); err != nil {
				return err
			}
		}
	}
}

// closed says why a stream of the caller must close now, without waiting,
// or nil.
func (e *Engine) closed(id *identity.Identity) error {
	select {
	case <-e.closing:
		return &ClosedError{Reason: v1.CloseReason_CLOSE_REASON_SERVER_SHUTDOWN}
	default:
	}
	switch err := id.Err(); {
	case errors.Is(err, identity.ErrSessionEnded):
		return &ClosedError{Reason: v1.CloseReason_CLOSE_REASON_SESSION_ENDED}
	case errors.Is(err, identity.ErrCaseloadChanged):
		return &ClosedError{Reason: v1.CloseReason_CLOSE_REASON_MEMBERSHIP_CHANGED}
	}
	return nil
}

// stream is one Subscribe stream under way.
type stream struct {
	e     *Engine
	ctx   context.Context // ends with the stream; its cause says why
	stop  context.CancelCauseFunc
	id    *identity.Identity
	cur   cursor.Cursor
	send  SendFunc
	first bool // the first page is sent even if empty
}

// catchUp sends pages until the cursor reaches the heads of the buckets in
// only (nil: all of the caller's buckets).
func (s *stream) catchUp(only map[string]bool) error {
	for {
		if err := s.ended(); err != nil {
			return err
		}
		page, err := s.e.page(s.ctx, s.id, s.cur, s.e.cfg.DefaultLimit, only, store.AuditSubscribe)
		if err != nil {
			if cause := s.ended(); cause != nil {
				return cause
			}
			return err
		}
		if s.first || len(page.Buckets) > 0 {
			if err := s.emit(&v1.SubscribeResponse{Event: &v1.SubscribeResponse_Changes{Changes: page}}); err != nil {
				return err
			}
			s.first = false
		}
		if s.cur, err = s.e.codec.Decode(s.id.UserID, page.Cursor); err != nil {
			return err
		}
		if !page.HasMore {
			return nil
		}
	}
}

// emit sends m unless the stream must end. While the send runs, a
// goroutine ends the stream's context when the server shuts down, the
// session ends or the caseload changes, so that a send blocked on a client
// that does not read returns. (Between sends the stream's own loop watches
// them: an idle stream costs no goroutine of its own.)
func (s *stream) emit(m *v1.SubscribeResponse) error {
	if err := s.ended(); err != nil {
		return err
	}
	sent := make(chan struct{})
	defer close(sent)
	go func() {
		select {
		case <-sent:
			return
		case <-s.ctx.Done():
			return
		case <-s.e.closing:
		case <-s.id.Ended:
		case <-s.id.Changed:
		}
		s.stop(s.e.closed(s.id))
	}()
	return s.send(s.ctx, m)
}

// ended says why the stream must end now, without waiting, or nil.
func (s *stream) ended() error {
	if err := s.e.closed(s.id); err != nil {
		return err
	}
	if s.ctx.Err() != nil {
		return context.Cause(s.ctx)
	}
	return nil
}
