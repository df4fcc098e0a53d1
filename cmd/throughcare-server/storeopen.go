package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server"
	"github.com/throughcare/throughcare/server/pgstore"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/storekey"
)

var _ servedStore = (*pgstore.DB)(nil)

// servedStore is the store serve runs the server on, and closes after it
// has stopped: the embedded Badger store (*store.DB) or PostgreSQL
// (*pgstore.DB).
type servedStore interface {
	server.Store
	Close() error
}

// badgerOnlyError is a setting or a command that only the embedded store
// has, given with a PostgreSQL store (--store postgres://…).
type badgerOnlyError struct {
	What    string // the flag or command
	Instead string // what to do with a PostgreSQL store
}

func (e *badgerOnlyError) Error() string {
	return e.What + " is for the embedded store only, not a PostgreSQL one (--store): " + e.Instead
}

// badgerOnlyCommands are the subcommands that work on the embedded store's
// files, and what to do instead with a PostgreSQL store.
var badgerOnlyCommands = map[string]string{
	"restore":    "restore a PostgreSQL store with PostgreSQL's own tools (pg_restore, or point-in-time recovery), then rotate the cursor key (deploy/OPERATIONS.md, \"PostgreSQL store\")",
	"encrypt":    "the server does not encrypt a PostgreSQL store; use the database's own encryption at rest",
	"rotate-key": "the server does not encrypt a PostgreSQL store; use the database's own encryption at rest",
}

// refuseBadgerOnly refuses a Badger-only subcommand (badgerOnlyCommands)
// given a PostgreSQL store, by its --store flag or THROUGHCARE_STORE.
func refuseBadgerOnly(args []string, getenv func(string) string) error {
	if len(args) == 0 {
		return nil
	}
	instead, ok := badgerOnlyCommands[args[0]]
	if !ok || !isPostgres(storeArg(args[1:], getenv)) {
		return nil
	}
	return &badgerOnlyError{What: "`throughcare-server " + args[0] + "`", Instead: instead}
}

// storeArg is the store a command line gives (--store X, --store=X, or
// with one dash), or else THROUGHCARE_STORE.
func storeArg(args []string, getenv func(string) string) string {
	for i, a := range args {
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "store" {
			continue
		}
		if hasValue {
			return value
		}
		if i+1 < len(args) {
			return args[i+1]
		}
	}
	return envOr(getenv, envName("store"), "")
}

// checkStore checks --store, and refuses with it the embedded store's own
// settings.
func (c *config) checkStore() error {
	if c.Store == "" {
		return nil
	}
	if _, err := parsePGURL(c.Store); err != nil {
		return err
	}
	encryption := "the server does not encrypt a PostgreSQL store; use the database's own encryption at rest, and remove the setting"
	switch {
	case c.KeyFile != "":
		return &badgerOnlyError{What: "--key-file (" + envName("key-file") + ")", Instead: encryption}
	case c.env(storekey.EnvKey) != "":
		return &badgerOnlyError{What: storekey.EnvKey, Instead: encryption}
	case c.AcceptDataLoss:
		return &badgerOnlyError{What: "--accept-data-loss", Instead: "recover a damaged PostgreSQL database with PostgreSQL's own tools, and remove the flag"}
	}
	return nil
}

// openStore opens the store the config names: the embedded Badger store in
// --data, or PostgreSQL. key is the Badger store's key, which backups are
// sealed with (zero on PostgreSQL, which the server does not back up).
func openStore(ctx context.Context, cfg *config, log zerolog.Logger) (st servedStore, key storekey.Key, err error) {
	if isPostgres(cfg.Store) {
		st, err := openPostgres(ctx, cfg.Store, log)
		return st, storekey.Key{}, err
	}
	return openBadger(cfg, log)
}

// openBadger opens (or creates) the embedded store in the data directory,
// encrypted with its key, handling damage as --accept-data-loss says.
func openBadger(cfg *config, log zerolog.Logger) (servedStore, storekey.Key, error) {
	if cfg.AcceptDataLoss {
		log.Warn().Str("data", cfg.Data).Msg("--accept-data-loss is set: damage found at this start is accepted, losing what it lost; remove the flag once the store has started")
	}
	key, err := storeKey(cfg.Data, cfg.KeyFile, cfg.env, log)
	if err != nil {
		return nil, key, err
	}
	st, err := store.Open(store.Options{Dir: cfg.Data, Logger: log, AcceptDataLoss: cfg.AcceptDataLoss, BlockCacheMB: cfg.CacheMB, EncryptionKey: key, GCInterval: cfg.gcInterval()})
	if err != nil {
		return nil, key, damaged(err)
	}
	logEncryption(cfg.Data, key, log)
	return st, key, nil
}

// postgresDoesNot is what of the embedded store does not apply to a
// PostgreSQL one, logged once at start.
var postgresDoesNot = []string{
	"online backup (AdminService.StreamBackup; use pg_dump or point-in-time recovery)",
	"value-log GC (--vlog-gc-interval)",
	"the block cache (--cache-mb)",
	"encryption at rest with key files (use the database's own)",
	"the embedded store's metrics (throughcare_store_*)",
}

// openPostgres connects to the PostgreSQL store at raw and migrates its
// schema. The URL is only ever logged, or put in an error, without its
// user info and passwords (pgURL).
func openPostgres(ctx context.Context, raw string, log zerolog.Logger) (servedStore, error) {
	u, err := parsePGURL(raw)
	if err != nil {
		return nil, err
	}
	log.Info().Str("store", u.String()).Msg("opening the PostgreSQL store; its schema migrations run now")
	db, err := pgstore.Open(ctx, pgstore.Options{URL: u.raw, Logger: log.With().Str("component", "pgstore").Logger()})
	if err != nil {
		return nil, fmt.Errorf("opening the PostgreSQL store %s: %w", u, u.scrub(err))
	}
	log.Info().Str("store", u.String()).Strs("not_applicable", postgresDoesNot).
		Msg("PostgreSQL store open; what does not apply to it: " + strings.Join(postgresDoesNot, "; "))
	return db, nil
}
