package api

import (
	"context"
	"errors"
	"strings"

	"connectrpc.com/connect"

	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
)

// syncHandler adapts the sync engine to Connect.
type syncHandler struct{ engine *syncengine.Engine }

var _ throughcarev1connect.SyncServiceHandler = (*syncHandler)(nil)

func caller(ctx context.Context) (*identity.Identity, error) {
	id, ok := identity.FromContext(ctx)
	if !ok { // the interceptor always sets it; never serve without one
		return nil, connect.NewError(connect.CodeUnauthenticated, errors.New("sign-in required"))
	}
	return id, nil
}

func (h *syncHandler) Push(ctx context.Context, req *v1.PushRequest) (*v1.PushResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := h.engine.Push(ctx, id, req)
	return resp, connectError(ctx, err)
}

func (h *syncHandler) Pull(ctx context.Context, req *v1.PullRequest) (*v1.PullResponse, error) {
	id, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := h.engine.Pull(ctx, id, req)
	if err == nil && wantsJSON(ctx) {
		resp, err = syncengine.Materialize(resp)
	}
	return resp, connectError(ctx, err)
}

func (h *syncHandler) Subscribe(ctx context.Context, req *v1.SubscribeRequest, stream *connect.ServerStream[v1.SubscribeResponse]) error {
	id, err := caller(ctx)
	if err != nil {
		return err
	}
	materialize := wantsJSON(ctx)
	out := responseOf(ctx)
	send := func(sctx context.Context, m *v1.SubscribeResponse) error {
		if c := m.GetChanges(); c != nil && materialize {
			if _, err := syncengine.Materialize(c); err != nil {
				return err
			}
		}
		return out.during(sctx, func() error { return stream.Send(m) })
	}
	return connectError(ctx, h.engine.Subscribe(ctx, id, req, send))
}

// wantsJSON reports whether the call uses a JSON codec, which (unlike
// binary protobuf) cannot send pre-encoded records as they are.
func wantsJSON(ctx context.Context) bool {
	info, ok := connect.CallInfoForHandlerContext(ctx)
	return ok && strings.Contains(info.RequestHeader().Get("Content-Type"), "json")
}
