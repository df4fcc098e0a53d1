package main

import (
	"context"
	"errors"
	"fmt"
	stdlog "log"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server"
)

// The listeners beside the API's: Prometheus metrics (--metrics-listen)
// and Go's profiler (--pprof-listen). Each has a mux of its own; nothing
// here is served on the API's port, and http.DefaultServeMux (on which
// importing net/http/pprof registers its handlers) is never served.

// observers are the metrics and profiler listeners, opened before the
// server starts so that an address in use stops it at once.
type observers struct {
	metrics, pprof net.Listener
}

// listenObservers opens the listeners the config asks for.
func listenObservers(cfg *config) (*observers, error) {
	o := &observers{}
	var err error
	if cfg.MetricsListen != "" {
		if o.metrics, err = net.Listen("tcp", cfg.MetricsListen); err != nil {
			return nil, fmt.Errorf("--metrics-listen: %w", err)
		}
	}
	if cfg.PprofListen != "" {
		if o.pprof, err = net.Listen("tcp", cfg.PprofListen); err != nil {
			o.close()
			return nil, fmt.Errorf("--pprof-listen: %w", err)
		}
	}
	return o, nil
}

func (o *observers) close() {
	for _, ln := range []net.Listener{o.metrics, o.pprof} {
		if ln != nil {
			_ = ln.Close() // never served
		}
	}
}

// serve serves srv's metrics and the profiler on their listeners until
// ctx ends.
func (o *observers) serve(ctx context.Context, srv *server.Server, log zerolog.Logger) {
	if o.metrics != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", srv.MetricsHandler())
		serveAux(ctx, o.metrics, mux, log.With().Str("component", "metrics").Logger(), "serving metrics")
	}
	if o.pprof != nil {
		serveAux(ctx, o.pprof, pprofMux(), log.With().Str("component", "pprof").Logger(), "serving the profiler")
	}
}

// pprofMux serves Go's profiles under /debug/pprof/.
func pprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // and the named profiles: heap, goroutine, allocs, ...
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// serveAux serves h on ln until ctx ends, then closes it: what it serves
// is read-only and short, so there is nothing to drain.
func serveAux(ctx context.Context, ln net.Listener, h http.Handler, log zerolog.Logger, msg string) {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute,
		ErrorLog: stdlog.New(log, "", 0)}
	log.Info().Str("addr", ln.Addr().String()).Msg(msg)
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Msg("stopped serving")
		}
	}()
	context.AfterFunc(ctx, func() { _ = hs.Close() })
}

// loopback reports whether addr (host:port) names a loopback address:
// localhost, 127.0.0.0/8 or ::1. An empty host (every interface) is not.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// wantsVersion reports whether args ask for --version (or -version): the
// version is printed before anything else is read, so it is no flag of the
// config and has no environment variable.
func wantsVersion(args []string) bool {
	for _, a := range args {
		switch a {
		case "--version", "-version":
			return true
		case "--":
			return false
		}
	}
	return false
}
