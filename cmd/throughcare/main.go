// Command throughcare is the operator and demo client of a Throughcare
// server. It signs in with a software passkey kept in a profile file, so a
// person at a terminal can do what a tablet or the console does: enrol from
// an invite, create teams, invite colleagues (and list and revoke invites),
// create, assign and close clients, log contacts and sync, revoke a lost
// device (an admin: anyone's in the area), disable a user; admins can read
// the audit trail about a client or by a user; and an operator can stream
// a backup of the live server (backup).
//
// A profile is a device of the Go SDK (client-sdk/caseload): its encrypted
// store, in a directory beside the profile file (NAME.device for
// NAME.json, mode 0700), holds the session, the caseload and the changes
// not yet synced; the profile file holds the passkey and the store's key.
// A profile written by a CLI that synced without the SDK is moved into a
// store on first use.
//
// Usage:
//
//	throughcare [--server URL] [--profile FILE] COMMAND [ARGS]
//
// Run it with no command for the list. The software passkey is for demos,
// tests and operators; people use their devices' own passkeys.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	"github.com/throughcare/throughcare/internal/version"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "throughcare:", err)
		os.Exit(1)
	}
}

// command is one subcommand.
type command struct {
	usage string
	run   func(ctx context.Context, c *cli, args []string) error
}

var commands = map[string]command{
	"enrol":        {"--invite CODE [--device NAME]   register a passkey from an invite and sign in", cmdEnrol},
	"login":        {"                                sign in again with the profile's passkey", cmdLogin},
	"whoami":       {"                                show the signed-in user and device", cmdWhoami},
	"devices":      {"[--user ID]                     list your devices (--user: another user's, admins)\n               revoke [--user ID] ID           revoke one of your devices (a lost tablet; --user: another user's, admins)", cmdDevices},
	"team":         {"create NAME                     create a team (admins)", cmdTeam},
	"teams":        {"                                list teams", cmdTeams},
	"invite":       {"--role ROLE [--team ID] --name NAME   create an invite code (prints its id too)\n               revoke ID                       revoke an invite: it enrols nobody", cmdInvite},
	"invites":      {"[--all]                         list pending invites (--all: used, revoked, expired too)", cmdInvites},
	"users":        {"                                list users", cmdUsers},
	"user":         {"disable ID                      disable a user (admins): every device of theirs is signed out", cmdUser},
	"client":       {"create --team ID --given G --family F --pathway P [--dob YYYY-MM-DD]\n               close ID                        close a client's case (supervisors, admins)", cmdClient},
	"clients":      {"                                list clients, their names and workers", cmdClients},
	"assign":       {"--client ID --worker ID         assign a client to a worker", cmdAssign},
	"unassign":     {"--client ID --worker ID         end an assignment", cmdUnassign},
	"log-contact":  {"--client ID --category C --mode M [--notes TEXT]   log a contact and sync", cmdLogContact},
	"pull":         {"                                sync, and list the clients it brought news of", cmdPull},
	"backup":       {"--out FILE [--since VERSION | --since-file PREV]   stream a sealed backup of the live server into a new file (admins)", cmdBackup},
	"sar":          {"--client ID --out FILE           write everything held about a client to a zip (admins)", cmdSAR},
	"retention":    {"[--set DURATION | --default]     show or set how long closed clients are kept (admins)", cmdRetention},
	"top-interval": {"[--set MONTHS [--window DAYS] | --default]   show or set the area's TOP review interval (admins)", cmdTOPInterval},
	"audit":        {"--client ID | --user ID [--csv]   the audit trail about a client or by a user (admins)", cmdAudit},
	"demo":         {"[--workers N] [--clients N] [--days N]   fill a demo team (admins): tablets, clients, offline days", cmdDemo},
}

// run parses the global flags and runs one command.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("throughcare", flag.ContinueOnError)
	fs.SetOutput(stdout)
	server := fs.String("server", envOr(getenv, "THROUGHCARE_SERVER", "http://localhost:8080"), "server base URL (env THROUGHCARE_SERVER)")
	profile := fs.String("profile", envOr(getenv, "THROUGHCARE_PROFILE", "throughcare-profile.json"), "profile file holding the software passkey; the device's store is beside it, in NAME.device (env THROUGHCARE_PROFILE)")
	origin := fs.String("origin", envOr(getenv, "THROUGHCARE_ORIGIN", ""), "WebAuthn origin to sign for (default: the server URL)")
	rpID := fs.String("rp-id", envOr(getenv, "THROUGHCARE_RP_ID", ""), "WebAuthn relying party id (default: the server URL's host name)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintln(stdout, "usage: throughcare [flags] COMMAND [ARGS]\n\ncommands:")
		names := make([]string, 0, len(commands))
		for n := range commands {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(stdout, "  %-12s %s\n", n, commands[n].usage)
		}
		fmt.Fprintln(stdout, "\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		_, err := fmt.Fprintln(stdout, "throughcare", version.Read())
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return flag.ErrHelp
	}
	cmd, ok := commands[fs.Arg(0)]
	if !ok {
		return fmt.Errorf("unknown command %q (run with no command for the list)", fs.Arg(0))
	}
	c, err := newCLI(*server, *profile, *origin, *rpID, stdout)
	if err != nil {
		return err
	}
	if err := c.open(); err != nil {
		return errors.Join(err, c.close())
	}
	err = cmd.run(ctx, c, fs.Args()[1:])
	if cerr := c.close(); err == nil {
		err = cerr
	}
	if errors.Is(err, caseload.ErrSignInRequired) {
		return fmt.Errorf("the session has ended; run 'throughcare login': %w", err)
	}
	return err
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// flags parses a command's own flags; required ones must be non-empty.
func flags(name string, args []string, out io.Writer, required []string, defs map[string]*string) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	for n, p := range defs {
		fs.StringVar(p, n, *p, n)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	var missing []string
	for _, n := range required {
		if strings.TrimSpace(*defs[n]) == "" {
			missing = append(missing, "--"+n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s needs %s", name, strings.Join(missing, ", "))
	}
	return nil
}
