package servertest

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"

	"connectrpc.com/connect"

	"github.com/throughcare/throughcare/server/identity"
)

// DefaultArea is the area of a Tokens identity signed in without one.
const DefaultArea = "test-area"

// Tokens is an identity source for tests: the identity signed in under
// each bearer token. It is safe for concurrent use.
type Tokens struct {
	mu       sync.Mutex
	sessions map[string]*identity.Identity
}

// NewTokens returns a source with no one signed in.
func NewTokens() *Tokens { return &Tokens{sessions: map[string]*identity.Identity{}} }

// Identify resolves the caller by the bearer token in h.
func (s *Tokens) Identify(_ context.Context, h http.Header) (*identity.Identity, error) {
	tok, ok := strings.CutPrefix(h.Get("Authorization"), "Bearer ")
	if !ok {
		return nil, identity.ErrUnauthenticated
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.sessions[tok]
	if id == nil {
		return nil, identity.ErrUnauthenticated
	}
	cp := *id
	cp.Buckets = slices.Clone(id.Buckets)
	return &cp, nil
}

// SignIn registers a session for id under token (replacing any earlier one,
// which is how tests change a caller's caseload). Buckets are sorted; an
// identity without an area is in DefaultArea (every real caller is in one,
// and what they do is audited in its chain).
func (s *Tokens) SignIn(token string, id identity.Identity) {
	if id.Area == "" {
		id.Area = DefaultArea
	}
	id.Buckets = slices.Clone(id.Buckets)
	slices.Sort(id.Buckets)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions[token] = &id
}

// SignOut removes a session.
func (s *Tokens) SignOut(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, token)
}

// BearerToken is a client interceptor that sends token on every call.
func BearerToken(token string) connect.Interceptor { return bearer(token) }

type bearer string

func (b bearer) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		req.Header().Set("Authorization", "Bearer "+string(b))
		return next(ctx, req)
	}
}

func (b bearer) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		conn.RequestHeader().Set("Authorization", "Bearer "+string(b))
		return conn
	}
}

func (b bearer) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}
