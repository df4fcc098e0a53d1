// Package apitest starts the real API handler, over HTTP/2 on loopback (or
// HTTP/1.1 and h2c without TLS), for tests and benchmarks. Callers are identified by bearer tokens the test
// registers with Env.SignIn, standing in for the session-based identity
// source; it exists only for tests and is never wired into the server binary.
package apitest

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/api"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/syncengine"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
)

// Options adjusts the environment.
type Options struct {
	// Engine is merged into the engine's config (Store is always set).
	Engine syncengine.Config
	// MaxRequestBytes bounds request bodies (default: the API's).
	MaxRequestBytes int64
	// Dir keeps the store on disk (durable) instead of in memory.
	Dir string
	// Log receives server logs (default: discarded).
	Log zerolog.Logger
	// Configure, when set, adjusts the API's config before the handler is
	// built (to add services or change limits).
	Configure func(*api.Config)
	// Serve chooses the transport (see ServeOptions).
	Serve ServeOptions
}

// ServeOptions adjusts how Serve serves.
type ServeOptions struct {
	// Plaintext serves HTTP/1.1 and h2c (HTTP/2 without TLS, as the server
	// binary does) instead of HTTP/2 with TLS; the client speaks h2c.
	Plaintext bool
	// Listener, if set, wraps the server's listener.
	Listener func(net.Listener) net.Listener
}

// Env is a running API server.
type Env struct {
	// URL is the server's base URL; HTTPClient speaks HTTP/2 to it.
	URL        string
	HTTPClient *http.Client
	Store      store.Store
	Engine     *syncengine.Engine
	API        *api.Server

	mu       sync.Mutex
	sessions map[string]*identity.Identity
}

// New starts a server that is stopped when the test ends.
func New(tb testing.TB, o Options) *Env {
	tb.Helper()
	st, err := store.Open(store.Options{Dir: o.Dir, InMemory: o.Dir == "", Logger: o.Log, GCInterval: -1})
	if err != nil {
		tb.Fatal(err)
	}
	ecfg := o.Engine
	ecfg.Store = st
	ecfg.Logger = o.Log
	engine, err := syncengine.New(ecfg)
	if err != nil {
		tb.Fatal(err)
	}
	env := &Env{Store: st, Engine: engine, sessions: map[string]*identity.Identity{}}
	cfg := api.Config{Engine: engine, Identity: identity.SourceFunc(env.identify), Logger: o.Log, MaxRequestBytes: o.MaxRequestBytes}
	if o.Configure != nil {
		o.Configure(&cfg)
	}
	handler, err := api.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	env.API = handler
	env.URL, env.HTTPClient = ServeWith(tb, handler, engine, st, o.Serve)
	return env
}

// Serve serves h over HTTP/2 with TLS on loopback until the test ends, then
// shuts the engine down (ending its streams), stops the server and closes
// the store. It returns the server's URL and a client that trusts it.
func Serve(tb testing.TB, h http.Handler, engine *syncengine.Engine, st store.Store) (string, *http.Client) {
	return ServeWith(tb, h, engine, st, ServeOptions{})
}

// ServeWith is Serve with options.
func ServeWith(tb testing.TB, h http.Handler, engine *syncengine.Engine, st store.Store, o ServeOptions) (string, *http.Client) {
	srv := httptest.NewUnstartedServer(h)
	if o.Listener != nil {
		srv.Listener = o.Listener(srv.Listener)
	}
	tb.Cleanup(func() {
		engine.Shutdown()
		srv.Close()
		st.Close()
	})
	if o.Plaintext {
		srv.Config.Protocols = new(http.Protocols)
		srv.Config.Protocols.SetHTTP1(true)
		srv.Config.Protocols.SetUnencryptedHTTP2(true)
		srv.Start()
		p := new(http.Protocols)
		p.SetUnencryptedHTTP2(true)
		return srv.URL, &http.Client{Transport: &http.Transport{Protocols: p}}
	}
	srv.EnableHTTP2 = true
	srv.StartTLS()
	return srv.URL, srv.Client()
}

func (e *Env) identify(_ context.Context, h http.Header) (*identity.Identity, error) {
	tok, ok := strings.CutPrefix(h.Get("Authorization"), "Bearer ")
	if !ok {
		return nil, identity.ErrUnauthenticated
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	id := e.sessions[tok]
	if id == nil {
		return nil, identity.ErrUnauthenticated
	}
	cp := *id
	cp.Buckets = slices.Clone(id.Buckets)
	return &cp, nil
}

// SignIn registers a session for id under token (replacing any earlier one,
// which is how tests change a caller's caseload). Buckets are sorted.
func (e *Env) SignIn(token string, id identity.Identity) {
	id.Buckets = slices.Clone(id.Buckets)
	slices.Sort(id.Buckets)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sessions[token] = &id
}

// SignOut removes a session.
func (e *Env) SignOut(token string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.sessions, token)
}

// SyncClient returns a SyncService client that sends token (empty: none).
func (e *Env) SyncClient(token string, opts ...connect.ClientOption) throughcarev1connect.SyncServiceClient {
	if token != "" {
		opts = append(opts, connect.WithInterceptors(BearerToken(token)))
	}
	return throughcarev1connect.NewSyncServiceClient(e.HTTPClient, e.URL, opts...)
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

// Clock is a settable clock for engines under test.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock reading t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now reads the clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock on.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
