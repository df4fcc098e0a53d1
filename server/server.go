// Package server is the composition root: New builds the whole Throughcare
// server from one Config (the sync engine, passkey sessions, the admin,
// review and backup services, subject access and retention, the web
// console, the CSV exports, the API handler with its rate limits and disk
// gate, the Prometheus metrics when asked for, one clock and one logger for
// all of them), and Serve runs it on a listener. The server binary
// (cmd/throughcare-server), the tests (through servertest) and the
// benchmarks all build it here, so what they run is wired the same way.
//
// The domain packages never import this one; it imports them.
package server

import (
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/internal/version"
	"github.com/throughcare/throughcare/server/admin"
	"github.com/throughcare/throughcare/server/api"
	"github.com/throughcare/throughcare/server/auth"
	"github.com/throughcare/throughcare/server/backup"
	"github.com/throughcare/throughcare/server/console"
	"github.com/throughcare/throughcare/server/diskspace"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/metrics"
	"github.com/throughcare/throughcare/server/review"
	"github.com/throughcare/throughcare/server/subject"
	"github.com/throughcare/throughcare/server/syncengine"
)

// Store is everything the server's services need of the store: the engine's
// bucket transactions, and the directory and reads of auth, admin and
// review. *store.DB is one.
type Store interface {
	syncengine.Store
	admin.Store
	review.Store
	backup.Source
	subject.Store
}

// Config is every setting of the server. The caller opens the store and
// closes it after the server has stopped: opening is where the data
// directory, damage and memory are decided, which is the binary's business
// (tests open one in memory).
type Config struct {
	// Store holds the data (required).
	Store Store
	// DataDir is the data directory. When set, the disk gate measures its
	// filesystem (MinFreeBytes) and log lines name it.
	DataDir string
	// Logger is every service's logger.
	Logger zerolog.Logger
	// Now is every service's clock (default time.Now); it should be the
	// store's (store.Options.Now). Engine.Now, when set, wins for the engine.
	Now func() time.Time

	// Engine configures the sync engine; New sets its Store and Logger, and
	// its Now unless it is set.
	Engine syncengine.Config
	// Auth configures the passkey sessions; New sets its Logger, and its
	// Now unless it is set.
	Auth auth.Config
	// Identity resolves callers (default the passkey sessions). Tests put
	// their own bearer tokens here.
	Identity identity.Source
	// Sessions is what admin asks to end sessions and learn of caseload
	// changes (default the passkey sessions; tests record the calls).
	Sessions admin.Sessions

	// API limits: request size, decompressions at once, the unary deadline,
	// and the body-read and write deadlines (zero: the API's defaults).
	MaxRequestBytes   int64
	MaxDecompressions int
	UnaryTimeout      time.Duration
	ReadBodyTimeout   time.Duration
	WriteTimeout      time.Duration
	// RateLimit limits the public procedures (see api.RateLimit).
	RateLimit api.RateLimit
	// MinFreeBytes refuses writes while less than this is free on DataDir's
	// filesystem (0: never). Without a DataDir there is no disk gate.
	MinFreeBytes uint64

	// How Serve serves: the header-read and idle deadlines of a connection,
	// how long a shutdown drains, and the connections one client address
	// may hold open (0: no cap).
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	ShutdownTimeout   time.Duration
	MaxConnsPerIP     int

	// BackupKey seals the backups AdminService.StreamBackup streams (the
	// store key); without one backups are refused.
	BackupKey backup.Key

	// Metrics, when set, receives the server's Prometheus metrics (see
	// package metrics); MetricsHandler serves them. It must be a registry
	// of its own, never Prometheus's global one.
	Metrics *prometheus.Registry

	// AdjustAPI, when set, changes the API's config just before its
	// handler is built (tests: swap a service, add a probe or a gate).
	AdjustAPI func(*api.Config)

	// Retention is how long a client is kept after their case was closed,
	// in areas without a retention of their own (0: for ever); see package
	// subject. Serve sweeps for clients due every RetentionEvery (default
	// RetentionInterval(Retention)).
	Retention      time.Duration
	RetentionEvery time.Duration
}

// RetentionInterval is how often the retention sweep runs by default: every
// hour, or every tenth of the retention if that is shorter (at least every
// second).
func RetentionInterval(retention time.Duration) time.Duration {
	if retention <= 0 {
		return time.Hour
	}
	return min(time.Hour, max(time.Second, retention/10))
}

// Server is the whole server, built. Its parts are exposed for tests and
// benchmarks that drive one directly.
type Server struct {
	Engine *syncengine.Engine
	Auth   *auth.Service
	Admin  *admin.Service
	Review *review.Service
	Backup *backup.Service
	// Subject exports and purges clients (subject access, retention).
	Subject *subject.Service
	// API is the HTTP handler: every service, the probes, the console and
	// the exports.
	API *api.Server

	cfg     Config
	log     zerolog.Logger
	metrics *metrics.Metrics
}

// New builds the server over cfg.Store. Nothing runs until Serve (or the
// caller serves API itself); Shutdown ends what the engine holds open.
func New(cfg Config) (_ *Server, err error) {
	if cfg.Store == nil {
		return nil, errors.New("server: a store is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	s := &Server{cfg: cfg, log: log}
	if s.metrics, err = s.newMetrics(); err != nil {
		return nil, err
	}
	ecfg := cfg.Engine
	ecfg.Store, ecfg.Logger = cfg.Store, log
	if ecfg.Now == nil {
		ecfg.Now = cfg.Now
	}
	if ecfg.Meter == nil && s.metrics != nil {
		ecfg.Meter = s.metrics
	}
	if s.Engine, err = syncengine.New(ecfg); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.Engine.Shutdown() // it watches the store
		}
	}()
	if s.metrics != nil {
		if err = s.metrics.RegisterStreams(s.Engine); err != nil {
			return nil, err
		}
	}
	acfg := cfg.Auth
	acfg.Logger = log
	if acfg.Now == nil {
		acfg.Now = cfg.Now
	}
	if r, ok := cfg.Store.(auth.Relay); ok && acfg.Relay == nil { // *pgstore.DB: endings reach the other replicas
		acfg.Relay = r
	}
	if s.Auth, err = auth.New(acfg, cfg.Store); err != nil {
		return nil, err
	}
	ids, sessions := cfg.Identity, cfg.Sessions
	if ids == nil {
		ids = s.Auth
	}
	if sessions == nil {
		sessions = s.Auth
	}
	// Server-authored changes (new clients, review notes, resolutions) go
	// through the engine's one door, stamped by its one server clock.
	if s.Admin, err = admin.New(admin.Config{Store: cfg.Store, Sessions: sessions, Now: cfg.Now, Logger: log, Writer: s.Engine, Devices: s.Auth}); err != nil {
		return nil, err
	}
	if s.Review, err = review.New(review.Config{Store: cfg.Store, Now: cfg.Now, Logger: log, Writer: s.Engine}); err != nil {
		return nil, err
	}
	if s.Subject, err = subject.New(subject.Config{Store: cfg.Store, Sessions: sessions, Now: cfg.Now, Retention: cfg.Retention, Logger: log,
		Purged: s.Review.Forget}); err != nil {
		return nil, err
	}
	if s.Backup, err = backup.New(backup.Config{Source: cfg.Store, Key: cfg.BackupKey, Now: cfg.Now, Logger: log}); err != nil {
		return nil, err
	}
	if s.API, err = s.newAPI(ids); err != nil {
		return nil, err
	}
	return s, nil
}

// newMetrics registers the server's metrics on cfg.Metrics, or returns nil
// without one. What can be read at a scrape (the store, the free disk) is
// read then.
func (s *Server) newMetrics() (*metrics.Metrics, error) {
	cfg := s.cfg
	if cfg.Metrics == nil {
		return nil, nil
	}
	mc := metrics.Config{Registry: cfg.Metrics, Build: version.Read()}
	if st, ok := cfg.Store.(metrics.Store); ok { // *store.DB and *pgstore.DB are
		mc.Store = st
	}
	if cfg.DataDir != "" {
		mc.DiskFree, mc.MinFreeBytes = diskspace.Statfs(cfg.DataDir), cfg.MinFreeBytes
	}
	return metrics.New(mc)
}

// MetricsHandler serves the metrics of Config.Metrics (404 without it).
// The binary serves it on its own listener, never on the API's.
func (s *Server) MetricsHandler() http.Handler {
	if s.cfg.Metrics == nil {
		return http.NotFoundHandler()
	}
	return metrics.Handler(s.cfg.Metrics)
}

// Shutdown withdraws readiness, so load balancers stop sending work, and
// closes the engine's live streams with a typed reason. Serve calls it when
// its context ends; a caller serving API itself calls it before closing the
// store.
func (s *Server) Shutdown() {
	s.API.SetReady(false)
	s.Engine.Shutdown()
}

// newAPI builds the API handler over the services, callers resolved by ids.
func (s *Server) newAPI(ids identity.Source) (*api.Server, error) {
	cfg, log := s.cfg, s.log
	apiCfg := api.Config{
		Engine: s.Engine, Identity: ids, Logger: log,
		MaxRequestBytes: cfg.MaxRequestBytes, UnaryTimeout: cfg.UnaryTimeout, MaxDecompressions: cfg.MaxDecompressions,
		ReadBodyTimeout: cfg.ReadBodyTimeout, WriteTimeout: cfg.WriteTimeout,
		Auth: api.NewAuthHandler(s.Auth), Admin: api.NewAdminHandler(s.Admin, s.Subject, s.Backup), Review: api.NewReviewHandler(s.Review),
		AuthRateLimit: cfg.RateLimit,
		Routes: map[string]http.Handler{
			console.IndexPattern: console.LoopbackRedirect(console.Handler(), cfg.Auth.RPOrigins), console.AssetsPattern: console.Handler(),
			api.ExportPattern: api.ExportHandler(ids, s.Review, log),
		},
	}
	if s.metrics != nil {
		apiCfg.Calls = s.metrics
	}
	if cfg.DataDir != "" {
		disk, err := diskspace.New(diskspace.Config{Dir: cfg.DataDir, MinFree: cfg.MinFreeBytes, Logger: log})
		if err != nil {
			return nil, err
		}
		_ = disk.Room() // measure now: a server restarted on a full disk says so at once
		apiCfg.Disk = disk
	}
	if cfg.AdjustAPI != nil {
		cfg.AdjustAPI(&apiCfg)
	}
	return api.New(apiCfg)
}
