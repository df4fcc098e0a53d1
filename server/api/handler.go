// Package api serves Throughcare's Connect API (Connect, gRPC and gRPC-Web
// on one handler) plus gRPC health, gRPC reflection, /healthz and /readyz.
// Handlers are thin: they take the caller from the context, call a domain
// package and map its errors with one function, connectError.
package api

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpcreflect"
	"github.com/rs/zerolog"
	healthv1 "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/throughcare/throughcare/server/access"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/syncengine"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
)

// Config configures the API handler.
type Config struct {
	// Engine runs the sync protocol (required).
	Engine *syncengine.Engine
	// Identity resolves callers (required). There is no way around it.
	Identity identity.Source
	// Logger is the base logger; every request gets a child with its id.
	Logger zerolog.Logger
	// MaxRequestBytes bounds a request body, compressed or not, and a
	// request message once decompressed (default 4 MiB). The procedures
	// reached without a session take at most PublicMaxBytes.
	MaxRequestBytes int64
	// MaxDecompressions bounds the compressed request messages being
	// decompressed at once, over all procedures (default
	// DefaultMaxDecompressions). One that finds them all busy is refused
	// with ResourceExhausted; uncompressed requests are not counted.
	MaxDecompressions int
	// UnaryTimeout bounds a unary call on the server side (default 30 s).
	// Streams are not bounded by it.
	UnaryTimeout time.Duration
	// ReadBodyTimeout bounds the arrival of a request body, and
	// WriteTimeout each response write, so slow or stuck clients are cut
	// off (defaults DefaultReadBodyTimeout, DefaultWriteTimeout; see
	// withDeadlines).
	ReadBodyTimeout, WriteTimeout time.Duration
	// Auth and Admin serve AuthService and AdminService when set (see
	// NewAuthHandler and NewAdminHandler).
	Auth  throughcarev1connect.AuthServiceHandler
	Admin throughcarev1connect.AdminServiceHandler
	// AuthRateLimit limits the public procedures per client address and
	// overall (see RateLimit; zero fields take the defaults).
	AuthRateLimit RateLimit
	// Review serves ReviewService when set.
	Review throughcarev1connect.ReviewServiceHandler
	// decoderProbe, when set (by tests), wraps every codec's decompressor
	// inside the limits.
	decoderProbe decompressorProbe
	// Disk, when set, is asked before every call that writes; while it
	// says the disk is nearly full those calls are refused with
	// ResourceExhausted and reads go on (see allowedWhenFull).
	Disk SpaceGuard
	// Calls, when set, counts every call (see CallMeter).
	Calls CallMeter
	// Routes adds plain HTTP routes (the web console's assets, CSV exports)
	// beside the RPCs; they get request ids and the body limit too. Each
	// handles its own authentication.
	Routes map[string]http.Handler
}

// publicProcedures need no session (access.Public: signing in, and
// renewing a session with a refresh token). Everything else, unary or
// streaming, goes through the identity source.
var publicProcedures = access.PublicProcedures()

// Server is the HTTP handler of the API. Its readiness can be withdrawn
// before shutdown so load balancers stop sending work.
type Server struct {
	http.Handler
	ready atomic.Bool
}

// SetReady sets what /readyz and gRPC health report.
func (s *Server) SetReady(ok bool) { s.ready.Store(ok) }

// New assembles the API handler.
func New(cfg Config) (*Server, error) {
	if cfg.Engine == nil || cfg.Identity == nil {
		return nil, errors.New("api: engine and identity source are required")
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = 4 << 20
	}
	if cfg.UnaryTimeout <= 0 {
		cfg.UnaryTimeout = 30 * time.Second
	}
	limiter, err := newAuthLimiter(cfg.AuthRateLimit, publicProcedures)
	if err != nil {
		return nil, err
	}
	calls := calls{meter: cfg.Calls}
	limiter.calls = calls
	s := &Server{}
	dc := newDecompression(cfg.MaxDecompressions, cfg.decoderProbe)
	public := dc.options(min(PublicMaxBytes, cfg.MaxRequestBytes))
	mux := http.NewServeMux()
	services := mountServices(mux, cfg, handlerOptions(cfg, dc, calls, public))
	for pattern, h := range cfg.Routes {
		mux.Handle(pattern, h)
	}
	s.mountProbes(mux, services, public)
	s.Handler = withRequestID(cfg.Logger, withClientAddress(cfg.AuthRateLimit.TrustedProxyHeader,
		limiter.wrap(http.MaxBytesHandler(withDeadlines(mux, cfg.ReadBodyTimeout, cfg.WriteTimeout), cfg.MaxRequestBytes))))
	s.ready.Store(true)
	return s, nil
}

// handlerOptions are the options every service's handler takes: the
// authentication gate, logging and timeouts, request size and
// decompression limits (public procedures' smaller), the disk space gate,
// response compression and panic recovery.
func handlerOptions(cfg Config, dc *decompression, calls calls, public connect.HandlerOption) []connect.HandlerOption {
	return []connect.HandlerOption{
		connect.WithRequestGate((&authGate{source: cfg.Identity, public: publicProcedures, calls: calls}).gate),
		connect.WithInterceptors(&logInterceptor{unaryTimeout: cfg.UnaryTimeout, calls: calls}),
		dc.options(cfg.MaxRequestBytes),
		spaceGateOption(cfg.Disk, calls),
		connect.WithConditionalHandlerOptions(func(spec connect.Spec) []connect.HandlerOption {
			if publicProcedures[spec.Procedure] {
				return []connect.HandlerOption{public}
			}
			return nil
		}),
		connect.WithSendMaxBytes(64 << 20),
		compressionOption(),
		connect.WithRecover(func(ctx context.Context, spec connect.Spec, _ http.Header, p any) error {
			zerolog.Ctx(ctx).Error().Str("procedure", spec.Procedure).Interface("panic", p).Msg("handler panic")
			return connect.NewError(connect.CodeInternal, errors.New("internal error (request id "+requestID(ctx)+")"))
		}),
	}
}

// mountServices mounts the sync service and those cfg has (auth, admin,
// review), and returns the names reflection lists.
func mountServices(mux *http.ServeMux, cfg Config, opts []connect.HandlerOption) []string {
	mux.Handle(throughcarev1connect.NewSyncServiceHandler(&syncHandler{engine: cfg.Engine}, opts...))
	services := []string{throughcarev1connect.SyncServiceName, healthv1.Health_ServiceDesc.ServiceName}
	if cfg.Auth != nil {
		mux.Handle(throughcarev1connect.NewAuthServiceHandler(cfg.Auth, opts...))
		services = append(services, throughcarev1connect.AuthServiceName)
	}
	if cfg.Admin != nil {
		mux.Handle(throughcarev1connect.NewAdminServiceHandler(cfg.Admin, opts...))
		services = append(services, throughcarev1connect.AdminServiceName)
	}
	if cfg.Review != nil {
		mux.Handle(throughcarev1connect.NewReviewServiceHandler(cfg.Review, opts...))
		services = append(services, throughcarev1connect.ReviewServiceName)
	}
	return services
}

// mountProbes mounts gRPC health, reflection and the HTTP liveness and
// readiness probes.
func (s *Server) mountProbes(mux *http.ServeMux, services []string, public connect.HandlerOption) {
	mux.Handle(healthv1.Health_Check_FullMethodName, connect.NewUnaryHandlerSimple(healthv1.Health_Check_FullMethodName,
		func(ctx context.Context, req *healthv1.HealthCheckRequest) (*healthv1.HealthCheckResponse, error) {
			switch req.GetService() {
			case "", throughcarev1connect.SyncServiceName:
			default:
				return nil, connect.NewError(connect.CodeNotFound, errors.New("unknown service"))
			}
			status := healthv1.HealthCheckResponse_SERVING
			if !s.ready.Load() {
				status = healthv1.HealthCheckResponse_NOT_SERVING
			}
			return &healthv1.HealthCheckResponse{Status: status}, nil
		}, public))
	reflector := grpcreflect.NewStaticReflector(services...)
	mux.Handle(grpcreflect.NewHandlerV1(reflector, public))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector, public))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		probeAnswer(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.ready.Load() {
			probeAnswer(w, http.StatusServiceUnavailable, "not ready\n")
			return
		}
		probeAnswer(w, http.StatusOK, "ready\n")
	})
}

// probeAnswer answers a health or readiness probe. A probe whose answer
// cannot be written has gone away (or its connection has): it learns
// nothing either way, and the server has nothing to do about it.
func probeAnswer(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(text))
}
