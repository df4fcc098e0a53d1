package main

import (
	"context"
	"errors"
	"testing"

	"connectrpc.com/connect"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
)

// fakeAuth trades refresh token "r1" for "a2"/"r2".
type fakeAuth struct {
	throughcarev1connect.AuthServiceClient
	calls int
}

func (f *fakeAuth) Refresh(_ context.Context, req *v1.RefreshRequest) (*v1.RefreshResponse, error) {
	f.calls++
	if req.GetRefreshToken() != "r1" {
		return nil, connect.NewError(connect.CodeUnauthenticated, errors.New("no such refresh token"))
	}
	return &v1.RefreshResponse{Session: &v1.Session{AccessToken: "a2", RefreshToken: "r2"}}, nil
}

// TestSessionRenewsAnExpiredToken: a call refused as unauthenticated is
// sent again once with renewed tokens; other errors are not retried.
func TestSessionRenewsAnExpiredToken(t *testing.T) {
	auth := &fakeAuth{}
	s := newSession(auth, &v1.Session{AccessToken: "a1", RefreshToken: "r1"})
	var sent []string
	call := s.interceptor()(func(_ context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		got := req.Header().Get("Authorization")
		sent = append(sent, got)
		switch got {
		case "Bearer a2":
			return connect.NewResponse(&v1.PushResponse{}), nil
		case "Bearer a1":
			return nil, connect.NewError(connect.CodeUnauthenticated, errors.New("expired"))
		}
		return nil, connect.NewError(connect.CodeInternal, errors.New("unexpected token"))
	})
	if _, err := call(context.Background(), connect.NewRequest(&v1.PushRequest{})); err != nil {
		t.Fatal(err)
	}
	if want := []string{"Bearer a1", "Bearer a2"}; len(sent) != 2 || sent[0] != want[0] || sent[1] != want[1] {
		t.Errorf("sent %q, want %q", sent, want)
	}
	if _, err := call(context.Background(), connect.NewRequest(&v1.PushRequest{})); err != nil || auth.calls != 1 {
		t.Errorf("a call with the renewed token: %v, %d refreshes (want nil, 1)", err, auth.calls)
	}
}
