// Package servertest runs the whole server, as server.New builds it, for
// tests and benchmarks: over HTTP/2 with TLS on loopback (or HTTP/1.1 and
// h2c), on a store in memory or in a directory. Callers are identified by
// bearer tokens the test registers with Env.SignIn, standing in for the
// passkey sessions, or by real passkey sessions (Options.Passkeys); clients
// send a token with BearerToken. The settable clock, the log buffer and the
// two-area world are in fixture. It exists only for tests and is never
// wired into the server binary.
package servertest

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server"
	"github.com/throughcare/throughcare/server/admin"
	"github.com/throughcare/throughcare/server/api"
	"github.com/throughcare/throughcare/server/auth"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/storekey"
	"github.com/throughcare/throughcare/server/syncengine"
)

// The relying party of the test server's passkeys.
const (
	RPID     = "throughcare.test"
	RPName   = "Throughcare"
	RPOrigin = "https://throughcare.test"
)

// Store is what a test server runs on: everything the server needs, and
// the sync data's reads (store.Store) for the tests to look behind the
// API. *store.DB and *pgstore.DB are both.
type Store interface {
	server.Store
	store.Store
}

// Options adjusts the server.
type Options struct {
	// Store, when set, is the store the server runs on (such as a
	// *pgstore.DB on a pgtest database) instead of a Badger store New
	// opens; Dir and EncryptionKey are then unused. The caller opened it
	// and closes it: New only stops the server on it.
	Store Store
	// Engine is merged into the engine's config (Store and Logger are
	// always set).
	Engine syncengine.Config
	// MaxRequestBytes bounds request bodies (default: the API's).
	MaxRequestBytes int64
	// Dir keeps the store on disk (durable) instead of in memory.
	Dir string
	// EncryptionKey, if set, encrypts the store at rest.
	EncryptionKey storekey.Key
	// Log receives server logs (default: discarded).
	Log zerolog.Logger
	// Now is the clock of the store and of every service (default
	// time.Now), such as a fixture.Clock's Now.
	Now func() time.Time
	// Passkeys resolves callers by their passkey sessions, as the server
	// binary does, instead of by the tokens of Env.SignIn.
	Passkeys bool
	// Sessions, when set, is what admin asks to end sessions and learn of
	// caseload changes, instead of the passkey sessions.
	Sessions admin.Sessions
	// Configure, when set, adjusts the API's config before the handler is
	// built (to swap services or change limits).
	Configure func(*api.Config)
	// Server, when set, adjusts the server's config before it is built.
	Server func(*server.Config)
	// Serve chooses the transport (see ServeOptions).
	Serve ServeOptions
}

// ServeOptions adjusts how the server is served.
type ServeOptions struct {
	// Plaintext serves HTTP/1.1 and h2c (HTTP/2 without TLS, as the server
	// binary does) instead of HTTP/2 with TLS; the client speaks h2c.
	Plaintext bool
	// Listener, if set, wraps the server's listener.
	Listener func(net.Listener) net.Listener
}

// Env is a running server.
type Env struct {
	// URL is the server's base URL; HTTPClient speaks HTTP/2 to it.
	URL        string
	HTTPClient *http.Client
	// Store is the server's store: Options.Store, or the Badger store New
	// opened.
	Store  Store
	Server *server.Server
	Engine *syncengine.Engine // Server.Engine
	API    *api.Server        // Server.API
	// Metrics holds the server's metrics (as the binary serves them:
	// Server.MetricsHandler); prometheus/testutil reads them.
	Metrics *prometheus.Registry
	// Tokens resolves callers unless Options.Passkeys is set: SignIn
	// registers one.
	*Tokens
}

// New starts a server that is stopped, and its store closed, when the test
// ends.
func New(tb testing.TB, o Options) *Env {
	tb.Helper()
	st, closeStore := o.Store, func() error { return nil }
	if st == nil {
		db, err := store.Open(store.Options{Dir: o.Dir, InMemory: o.Dir == "", Logger: o.Log, GCInterval: -1, Now: o.Now, EncryptionKey: o.EncryptionKey})
		if err != nil {
			tb.Fatal(err)
		}
		st, closeStore = db, db.Close
	}
	env := &Env{Store: st, Tokens: NewTokens(), Metrics: prometheus.NewRegistry()}
	cfg := server.Config{
		Store: st, Logger: o.Log, Now: o.Now, Engine: o.Engine, Sessions: o.Sessions, Metrics: env.Metrics,
		Auth:            auth.Config{RPID: RPID, RPDisplayName: RPName, RPOrigins: []string{RPOrigin}},
		MaxRequestBytes: o.MaxRequestBytes, AdjustAPI: o.Configure,
	}
	if !o.Passkeys {
		cfg.Identity = env.Tokens
	}
	if o.Server != nil {
		o.Server(&cfg)
	}
	srv, err := server.New(cfg)
	if err != nil {
		tb.Fatal(errors.Join(err, closeStore()))
	}
	env.Server, env.Engine, env.API = srv, srv.Engine, srv.API
	env.URL, env.HTTPClient = serve(tb, srv, closeStore, o.Serve)
	return env
}

// serve serves srv on loopback until the test ends, then shuts it down
// (ending its streams), stops serving and closes the store (closeStore). It
// returns the server's URL and a client that speaks to it.
func serve(tb testing.TB, srv *server.Server, closeStore func() error, o ServeOptions) (string, *http.Client) {
	hs := httptest.NewUnstartedServer(srv.API)
	if o.Listener != nil {
		hs.Listener = o.Listener(hs.Listener)
	}
	tb.Cleanup(func() {
		srv.Shutdown()
		hs.Close()
		if err := closeStore(); err != nil {
			tb.Errorf("closing the store: %v", err)
		}
	})
	if o.Plaintext {
		hs.Config.Protocols = new(http.Protocols)
		hs.Config.Protocols.SetHTTP1(true)
		hs.Config.Protocols.SetUnencryptedHTTP2(true)
		hs.Start()
		p := new(http.Protocols)
		p.SetUnencryptedHTTP2(true)
		return hs.URL, &http.Client{Transport: &http.Transport{Protocols: p}}
	}
	hs.EnableHTTP2 = true
	hs.StartTLS()
	return hs.URL, hs.Client()
}
