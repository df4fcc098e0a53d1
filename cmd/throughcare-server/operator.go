package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/admin"
	"github.com/throughcare/throughcare/server/operator"
	"github.com/throughcare/throughcare/server/pgstore"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/storekey"
)

// startOperator serves the operator socket in the data directory while the
// server runs, and returns what closes it (removing the socket). A socket
// that cannot be made is a warning, not a failed start: tablets do not
// need it, and invite-admin then works with the server stopped.
func startOperator(cfg *config, st store.DirectoryStore, log zerolog.Logger) (stop func()) {
	op, err := operator.Listen(operator.Config{Dir: cfg.Data, Store: st, Now: time.Now, InviteTTL: bootstrapTTL, Logger: log})
	if err != nil {
		log.Warn().Err(err).Msg("no operator socket: invite-admin will need the server stopped")
		return func() {}
	}
	log.Info().Str("socket", op.Path()).Msg("operator socket ready: invite-admin works while the server runs")
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := op.Serve(); err != nil {
			log.Error().Err(err).Msg("operator socket")
		}
	}()
	return func() {
		if err := op.Close(); err != nil {
			log.Warn().Err(err).Msg("closing the operator socket")
		}
		<-done
	}
}

// inviteAdmin mints an admin invite for an area (creating the area if it is
// new): through the running server's operator socket if one answers, or by
// opening the store itself if no server runs on the data directory.
func inviteAdmin(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("throughcare-server invite-admin", flag.ContinueOnError)
	fs.SetOutput(stdout)
	area := fs.String("area", "", "the area's name, created if it does not exist")
	data := fs.String("data", envOr(getenv, "THROUGHCARE_DATA", "./data"), "data directory (env THROUGHCARE_DATA)")
	keyFile := fs.String("key-file", "", "the store's key file, used when no server runs (env "+storekey.EnvKeyFile+"; default: the data directory's path + .key; or the key itself in "+storekey.EnvKey+")")
	pg := fs.String("store", "", "the server's --store: a PostgreSQL URL, used when no server runs (env "+envName("store")+"; empty: the embedded store in --data)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pg == "" {
		*pg = getenv(envName("store"))
	}
	if strings.TrimSpace(*area) == "" {
		return errors.New("invite-admin needs --area NAME")
	}
	inv, err := operator.MintAdminInvite(ctx, *data, *area)
	if err == nil {
		fmt.Fprintf(stdout, "admin invite for %s (valid %s): %s\n", *area, time.Until(inv.ExpiresAt).Round(time.Hour), inv.Code)
		return nil
	}
	if !errors.Is(err, operator.ErrNotRunning) {
		return err
	}
	if isPostgres(*pg) {
		return invitePostgres(ctx, *pg, *area, stdout)
	}
	return inviteAdminOffline(ctx, *data, *keyFile, *area, getenv, stdout)
}

// inviteAdminOffline mints the invite in the store itself, which needs the
// server stopped: the store admits one process at a time.
func inviteAdminOffline(ctx context.Context, data, keyFile, area string, getenv func(string) string, stdout io.Writer) error {
	warnings := zerolog.New(zerolog.ConsoleWriter{Out: stdout, NoColor: true, PartsExclude: []string{zerolog.TimestampFieldName}})
	if err := privateDataDir(data, warnings); err != nil {
		return err
	}
	key, err := storeKey(data, keyFile, getenv, warnings)
	if err != nil {
		return err
	}
	st, err := store.Open(store.Options{Dir: data, Logger: zerolog.Nop(), GCInterval: -1, EncryptionKey: key})
	if errors.Is(err, store.ErrDamaged) || errors.Is(err, store.ErrKey) {
		return damaged(err)
	} else if err != nil {
		return fmt.Errorf("opening %s (no server answers on its operator socket; if one runs, stop it or fix its socket: %w)", data, err)
	}
	return mintAndClose(ctx, st, area, time.Now(), stdout)
}

// invitePostgres mints the invite in the PostgreSQL store at raw, which
// any number of servers may share: it needs none of them stopped.
func invitePostgres(ctx context.Context, raw, area string, stdout io.Writer) error {
	u, err := parsePGURL(raw)
	if err != nil {
		return err
	}
	db, err := pgstore.Open(ctx, pgstore.Options{URL: u.raw})
	if err != nil {
		return fmt.Errorf("opening the PostgreSQL store %s: %w", u, u.scrub(err))
	}
	return mintAndClose(ctx, db, area, time.Now(), stdout)
}

// inviteStore is the store invite-admin writes the invite to, then closes.
type inviteStore interface {
	store.DirectoryStore
	Close() error
}

// mintAndClose mints an admin invite, closes the store and only then
// prints the code: a close that fails after the write is reported, and the
// code is not shown, since the store may not hold the invite it names.
func mintAndClose(ctx context.Context, st inviteStore, area string, now time.Time, stdout io.Writer) error {
	code, err := admin.MintAdminInvite(ctx, st, area, now, bootstrapTTL)
	if cerr := st.Close(); cerr != nil {
		return errors.Join(err, fmt.Errorf("closing the store: %w", cerr))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "admin invite for %s (valid %s): %s\n", area, bootstrapTTL, code)
	return nil
}
