package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/pgstore"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/storekey"
)

// auditCommand runs "audit verify": it checks every area's audit chain in
// a stopped server's data directory and says where one breaks. A broken
// chain is an error (a non-zero exit status).
func auditCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return errors.New("usage: throughcare-server audit verify [--data DIR] [--key-file FILE]")
	}
	fs := flag.NewFlagSet("throughcare-server audit verify", flag.ContinueOnError)
	fs.SetOutput(stdout)
	data := dataFlag(fs, getenv)
	keyFile := fs.String("key-file", "", "the store's key file (env "+storekey.EnvKeyFile+"; default: the data directory's path + .key; or the key itself in "+storekey.EnvKey+")")
	pg := fs.String("store", envOr(getenv, envName("store"), ""), "the server's --store: a PostgreSQL URL, whose chains are checked with the servers running (env "+envName("store")+"; empty: the embedded store in --data)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if isPostgres(*pg) {
		return auditPostgres(ctx, *pg, stdout)
	}
	if exists, err := store.Exists(*data); err != nil {
		return err
	} else if !exists {
		return fmt.Errorf("%s holds no store", *data)
	}
	key, err := storeKey(*data, *keyFile, getenv, zerolog.Nop()) // an existing store: no key is created
	if err != nil {
		return err
	}
	st, err := store.Open(store.Options{Dir: *data, Logger: zerolog.Nop(), GCInterval: -1, EncryptionKey: key})
	if errors.Is(err, store.ErrDamaged) || errors.Is(err, store.ErrKey) {
		return damaged(err)
	} else if err != nil {
		return fmt.Errorf("opening %s (stop the server first: %w)", *data, err)
	}
	rep, err := st.VerifyAudit(ctx)
	if cerr := st.Close(); cerr != nil {
		return errors.Join(err, fmt.Errorf("closing the store: %w", cerr))
	}
	if err != nil {
		return err
	}
	return printAuditReport(stdout, rep)
}

// auditPostgres checks the audit chains of the PostgreSQL store at raw,
// which servers may go on using meanwhile.
func auditPostgres(ctx context.Context, raw string, stdout io.Writer) error {
	u, err := parsePGURL(raw)
	if err != nil {
		return err
	}
	db, err := pgstore.Open(ctx, pgstore.Options{URL: u.raw})
	if err != nil {
		return fmt.Errorf("opening the PostgreSQL store %s: %w", u, u.scrub(err))
	}
	rep, err := db.VerifyAudit(ctx)
	if cerr := db.Close(); cerr != nil {
		return errors.Join(err, fmt.Errorf("closing the store: %w", cerr))
	}
	if err != nil {
		return u.scrub(err)
	}
	return printAuditReport(stdout, rep)
}

// printAuditReport writes one line per chain (its entries and head, or
// where it breaks) and returns an error if any chain is broken.
func printAuditReport(w io.Writer, rep *store.AuditReport) error {
	broken := 0
	for _, c := range rep.Chains {
		if c.Break != nil {
			broken++
			fmt.Fprintf(w, "area %s: BROKEN at %s; %d entries before it are whole\n", c.Area, c.Break, c.Entries)
			continue
		}
		fmt.Fprintf(w, "area %s: %d entries, whole; head %d %s\n", c.Area, c.Entries, c.Entries, hex.EncodeToString(c.Head[:]))
	}
	if len(rep.Chains) == 0 {
		fmt.Fprintln(w, "no audit entries")
	}
	if rep.Pending > 0 {
		fmt.Fprintf(w, "%d entries committed and not yet sealed into a chain (the next audited operation seals them)\n", rep.Pending)
	}
	if broken > 0 {
		return fmt.Errorf("the audit trail is broken in %d of %d areas", broken, len(rep.Chains))
	}
	return nil
}
