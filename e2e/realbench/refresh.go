package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"connectrpc.com/connect"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
)

// session holds a signed-in user's tokens and refreshes them as a real
// client does when the access token has expired: seeding a million
// contacts on a busy machine outlasts the server's 15-minute access
// tokens.
type session struct {
	auth    throughcarev1connect.AuthServiceClient
	mu      sync.Mutex
	access  string
	refresh string
}

func newSession(auth throughcarev1connect.AuthServiceClient, s *v1.Session) *session {
	return &session{auth: auth, access: s.GetAccessToken(), refresh: s.GetRefreshToken()}
}

func (s *session) token() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.access
}

// renew trades the refresh token for new tokens.
func (s *session) renew(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	resp, err := s.auth.Refresh(ctx, &v1.RefreshRequest{RefreshToken: s.refresh})
	if err != nil {
		return fmt.Errorf("refreshing the session: %w", err)
	}
	s.access, s.refresh = resp.GetSession().GetAccessToken(), resp.GetSession().GetRefreshToken()
	return nil
}

// interceptor sends the current access token and, when a call comes back
// unauthenticated (expired), renews the session and calls once more.
func (s *session) interceptor() connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set("Authorization", "Bearer "+s.token())
			resp, err := next(ctx, req)
			if connect.CodeOf(err) != connect.CodeUnauthenticated {
				return resp, err
			}
			if rerr := s.renew(ctx); rerr != nil {
				return nil, errors.Join(err, rerr)
			}
			req.Header().Set("Authorization", "Bearer "+s.token())
			return next(ctx, req)
		}
	}
}
