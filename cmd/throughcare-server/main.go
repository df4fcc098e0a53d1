// Command throughcare-server runs the Throughcare sync server on an embedded
// Badger store, or on PostgreSQL with --store postgres://… (storeopen.go).
//
// Usage:
//
//	throughcare-server [--listen 127.0.0.1:8080] [--data ./data] [flags]
//	throughcare-server --store postgres://USER@HOST:5432/DATABASE [flags]
//	throughcare-server invite-admin --data DIR --area NAME
//	throughcare-server healthcheck [--listen ADDR]
//	throughcare-server audit verify [--data DIR] [--key-file FILE] [--store postgres://…]
//	throughcare-server --version
//
// Every flag can also be set from the environment (THROUGHCARE_LISTEN,
// THROUGHCARE_DATA, ...); run with -h for the list. SIGTERM or SIGINT drains
// open requests, closes live streams with a typed reason and closes the
// store cleanly. --version prints the build (from Go's build information)
// and exits, whatever else is given.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/internal/version"
	"github.com/throughcare/throughcare/server"
	"github.com/throughcare/throughcare/server/identity"
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

// bootstrapTTL is how long the first admin invite stays valid.
const bootstrapTTL = 7 * 24 * time.Hour

// run starts the server and blocks until ctx ends, then shuts down
// gracefully; or, given "invite-admin", mints an admin invite (through
// the running server's operator socket, or in the store if none runs); or,
// given "healthcheck", asks a running server whether it is ready; or, given
// "audit verify", checks the audit trail of a stopped server. Logs go to
// stdout. Whatever it creates is readable by the server's user only.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	restrictUmask()
	if err := refuseBadgerOnly(args, getenv); err != nil {
		return err
	}
	if len(args) > 0 && args[0] == "invite-admin" {
		return inviteAdmin(ctx, args[1:], getenv, stdout)
	}
	if len(args) > 0 && args[0] == "audit" {
		return auditCommand(ctx, args[1:], getenv, stdout)
	}
	if len(args) > 0 && args[0] == "healthcheck" {
		return healthcheck(ctx, args[1:], getenv, stdout)
	}
	if wantsVersion(args) {
		_, err := fmt.Fprintln(stdout, "throughcare-server", version.Read())
		return err
	}
	if len(args) > 0 {
		switch args[0] { // encryption at rest: see encryption.go
		case "encrypt":
			return encryptCmd(ctx, args[1:], getenv, stdout)
		case "rotate-key":
			return rotateKeyCmd(args[1:], getenv, stdout)
		case "new-key":
			return newKeyCmd(args[1:], stdout)
		case "restore": // see restore.go
			return restoreCmd(args[1:], getenv, stdout)
		}
	}
	cfg, err := parseConfig(args, getenv, stdout)
	if err != nil {
		return err
	}
	log, err := newLogger(cfg, stdout)
	if err != nil {
		return err
	}
	return serve(ctx, cfg, log, stdout, nil)
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// serve runs the server until ctx ends. Callers are resolved by their
// passkey sessions, or by ids if it is set (tests).
func serve(ctx context.Context, cfg *config, log zerolog.Logger, stdout io.Writer, ids identity.Source) error {
	// The data directory holds the embedded store, and with either store
	// the bootstrap invite's file and the operator socket.
	if err := privateDataDir(cfg.Data, log); err != nil {
		return err
	}
	setMemoryLimit(cfg.MemoryLimit, cfg.env, log)
	setGCPercent(cfg.GCPercent, cfg.env)
	st, key, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	returnMemoryWhenQuiet(ctx, cfg.ReturnMemoryEvery, cfg.MappedLimit, st, log)
	defer func() {
		if err := st.Close(); err != nil {
			log.Error().Err(err).Msg("closing store")
		} else {
			log.Info().Msg("store closed")
		}
	}()
	if err := bootstrap(ctx, cfg, st, log, stdout); err != nil {
		return err
	}
	obs, err := listenObservers(cfg)
	if err != nil {
		return err
	}
	defer obs.close()
	scfg := cfg.server(st, log, ids)
	if obs.metrics != nil {
		scfg.Metrics = prometheus.NewRegistry() // the server's own, never the global one
	}
	scfg.BackupKey = key // backups of the embedded store are sealed with its key (see restore.go)
	srv, err := server.New(scfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	obs.serve(ctx, srv, log)
	defer startOperator(cfg, st, log)()
	return srv.Serve(ctx, ln)
}

func newLogger(cfg *config, out io.Writer) (zerolog.Logger, error) {
	level, err := zerolog.ParseLevel(cfg.LogLevel)
	if err != nil || cfg.LogLevel == "" {
		return zerolog.Logger{}, fmt.Errorf("--log-level: unknown level %q", cfg.LogLevel)
	}
	w := out
	if cfg.LogFormat == "console" || cfg.LogFormat == "auto" && isTerminal(out) {
		w = zerolog.ConsoleWriter{Out: out, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger(), nil
}
