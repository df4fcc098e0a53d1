// Command throughcare-server runs the Throughcare sync server on an embedded
// Badger store.
//
// Usage:
//
//	throughcare-server [--listen 127.0.0.1:8080] [--data ./data] [flags]
//
// Every flag can also be set from the environment (THROUGHCARE_LISTEN,
// THROUGHCARE_DATA, ...); run with -h for the list. SIGTERM or SIGINT drains
// open requests, closes live streams with a typed reason and closes the
// store cleanly.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/api"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/syncengine"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "throughcare-server:", err)
		os.Exit(1)
	}
}

// run starts the server and blocks until ctx ends, then shuts down
// gracefully. Logs go to stdout.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := parseConfig(args, getenv, stdout)
	if err != nil {
		return err
	}
	log, err := newLogger(cfg, stdout)
	if err != nil {
		return err
	}
	// Sign-in arrives with passkeys; until then no caller is admitted.
	return serve(ctx, cfg, log, identity.NoSessions)
}

// serve runs the server with callers resolved by ids until ctx ends.
func serve(ctx context.Context, cfg *config, log zerolog.Logger, ids identity.Source) error {
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	st, err := store.Open(store.Options{Dir: cfg.Data, Logger: log})
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error().Err(err).Msg("closing store")
		} else {
			log.Info().Msg("store closed")
		}
	}()
	engine, err := syncengine.New(syncengine.Config{
		Store: st, MaxSkew: cfg.MaxClockSkew, Keepalive: cfg.Keepalive, StreamMaxAge: cfg.StreamMaxAge, Logger: log,
	})
	if err != nil {
		return err
	}
	handler, err := api.New(api.Config{
		Engine: engine, Identity: ids, Logger: log,
		MaxRequestBytes: cfg.MaxRequestBytes, UnaryTimeout: cfg.UnaryTimeout,
	})
	if err != nil {
		return err
	}

	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true) // gRPC clients without TLS; terminate TLS in front
	srv := &http.Server{
		Handler:           handler,
		Protocols:         protocols,
		ReadHeaderTimeout: cfg.ReadHeader,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		// No ReadTimeout or WriteTimeout: they would cut Subscribe streams.
		// Unary calls get a server-side deadline from the API instead.
		ErrorLog: stdlog.New(log.With().Str("component", "http").Logger(), "", 0),
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	log.Info().Str("addr", ln.Addr().String()).Str("data", cfg.Data).Msg("listening")
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	log.Info().Msg("shutting down")
	handler.SetReady(false)
	engine.Shutdown()
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn().Err(err).Msg("drain incomplete; closing connections")
		srv.Close()
	}
	return nil
}

func newLogger(cfg *config, out io.Writer) (zerolog.Logger, error) {
	level, err := zerolog.ParseLevel(cfg.LogLevel)
	if err != nil || cfg.LogLevel == "" {
		return zerolog.Logger{}, fmt.Errorf("--log-level: unknown level %q", cfg.LogLevel)
	}
	w := out
	console := cfg.LogFormat == "console"
	if cfg.LogFormat == "auto" {
		if f, ok := out.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				console = true
			}
		}
	}
	if console {
		w = zerolog.ConsoleWriter{Out: out, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger(), nil
}
