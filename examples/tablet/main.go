// Command tablet plays a caseworker's tablet app against a Throughcare
// server with the Go SDK (client-sdk/caseload), the way an app uses it:
// it enrols the device with a passkey from a worker's invite, brings the
// caseload down, logs two contacts for the first client with no server
// involved, shows what is waiting to sync, syncs, and prints the client's
// timeline and anything the server refused or found in conflict.
//
// Start a server with `make run`, make a worker invite and assign them a
// client (see "Sign in with a passkey and sync" in README.md), then:
//
//	go run ./examples/tablet --invite tci_…
//
// Flags: --server (default http://localhost:8080), --invite (needed the
// first time a data directory is used), --data (default: a temporary
// directory, removed at the end; give one to keep the enrolment between
// runs).
//
// The passkey is a software one (software.Key) kept in the data
// directory, and so is the store's encryption key: both are for this demo
// only. An app uses the platform's passkeys and keeps the key in the
// platform's key store.
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	"github.com/throughcare/throughcare/client-sdk/passkey/software"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "tablet:", err)
		os.Exit(1)
	}
}

// options are the command line's.
type options struct {
	server, invite, data string
	u                    *url.URL
}

// parseFlags reads and checks the command line.
func parseFlags(args []string, getenv func(string) string, stdout io.Writer) (options, error) {
	flags := flag.NewFlagSet("tablet", flag.ContinueOnError)
	flags.SetOutput(stdout)
	server := flags.String("server", envOr(getenv, "THROUGHCARE_SERVER", "http://localhost:8080"), "server base URL (env THROUGHCARE_SERVER)")
	invite := flags.String("invite", getenv("THROUGHCARE_INVITE"), "a worker invite code, needed the first time a data directory is used (env THROUGHCARE_INVITE)")
	data := flags.String("data", "", "directory for the device's store (default: a temporary directory, removed at the end)")
	if err := flags.Parse(args); err != nil {
		return options{}, err
	}
	if flags.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected argument %q (flags only: --server, --invite, --data)", flags.Arg(0))
	}
	u, err := url.Parse(*server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return options{}, fmt.Errorf("--server must be an http:// or https:// URL such as http://localhost:8080")
	}
	if *data == "" && *invite == "" {
		return options{}, errors.New("--invite is required to enrol a new device (make one with: throughcare invite --role worker --team ID --name NAME)")
	}
	return options{server: *server, invite: *invite, data: *data, u: u}, nil
}

// run plays the app's life; see the package comment.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) (err error) {
	o, err := parseFlags(args, getenv, stdout)
	if err != nil {
		return err
	}
	dir := o.data
	if dir == "" {
		if dir, err = os.MkdirTemp("", "throughcare-tablet-"); err != nil {
			return err
		}
		defer func() {
			if rerr := os.RemoveAll(dir); rerr != nil {
				fmt.Fprintln(os.Stderr, "tablet: could not remove its temporary store:", rerr)
			}
		}()
	}

	key, err := demoKey(filepath.Join(dir, "demo-store.key"))
	if err != nil {
		return err
	}
	dev, err := caseload.Open(caseload.Config{Dir: filepath.Join(dir, "store"), Key: key, Server: o.server})
	if err != nil {
		return err
	}
	// Close flushes the store: an app reports its error like any other.
	defer func() { err = errors.Join(err, dev.Close()) }()

	// Enrol once; later runs on the same --data sign in again if needed.
	authn, err := enrolOnce(ctx, dev, dir, o.invite, o.u, stdout)
	if err != nil {
		return err
	}
	return workOneClient(ctx, dev, authn, o.data == "", stdout)
}

// workOneClient syncs the caseload down, logs two contacts offline for its
// first client, syncs them up and prints what the device shows.
func workOneClient(ctx context.Context, dev *caseload.Device, authn *software.Key, tempDir bool, stdout io.Writer) error {
	// The first sync brings the caseload down.
	rep, err := syncNow(ctx, dev, authn)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "first sync: %d records pulled\n", rep.Pulled)
	clients, err := dev.Clients(ctx)
	if err != nil {
		return err
	}
	if len(clients) == 0 {
		again := "run again with the same --data"
		if tempDir {
			again = "run again with a new invite and --data DIR (this enrolment was in a temporary directory)"
		}
		return fmt.Errorf("no client on this caseload yet: assign one to user %s (throughcare assign --client ID --worker %s), then %s",
			dev.UserID(), dev.UserID(), again)
	}
	client := clients[0]
	fmt.Fprintf(stdout, "client %s: %s %s (%s, %s)\n", client.ID, client.GivenName, client.FamilyName, client.Pathway, client.Status)

	// Two contacts logged with no server involved: each is on disk and in
	// the timeline as soon as LogContact returns.
	if err := logOffline(ctx, dev, client.ID); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "logged 2 contacts offline: %d field changes waiting to sync\n", dev.Status().Pending)

	rep, err = syncNow(ctx, dev, authn)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "synced: %d changes accepted, %d refused, %d records pulled; %d pending\n",
		rep.Accepted, rep.Rejected, rep.Pulled, dev.Status().Pending)

	if err := printTimeline(ctx, dev, client.ID, stdout); err != nil {
		return err
	}
	return printRefusals(ctx, dev, stdout)
}

// enrolOnce enrols the device with the invite the first time its store is
// used and keeps its passkey beside the store; later it loads that passkey.
func enrolOnce(ctx context.Context, dev *caseload.Device, dir, invite string, u *url.URL, stdout io.Writer) (*software.Key, error) {
	keyFile := filepath.Join(dir, "demo-passkey.json")
	authn, err := loadPasskey(keyFile)
	if err != nil {
		return nil, err
	}
	if dev.DeviceID() != "" {
		fmt.Fprintf(stdout, "device %s of user %s, already enrolled\n", dev.DeviceID(), dev.UserID())
		return authn, nil
	}
	if invite == "" {
		return nil, fmt.Errorf("--invite is required: the device in %s is not enrolled yet", dir)
	}
	// The passkey signs for the server's origin; its relying party is the
	// server's host name (the server's --rp-id and --rp-origins must match).
	authn = software.New(u.Scheme + "://" + u.Host)
	authn.RPID = u.Hostname()
	if err := dev.Enrol(ctx, authn, invite, "Demo tablet"); err != nil {
		return nil, fmt.Errorf("enrolling: %w", err)
	}
	if err := savePasskey(keyFile, authn); err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "enrolled: user %s, device %s, role %s\n", dev.UserID(), dev.DeviceID(),
		strings.ToLower(strings.TrimPrefix(dev.Role().String(), "ROLE_")))
	return authn, nil
}

// logOffline logs a housing visit and a treatment attendance for a client.
func logOffline(ctx context.Context, dev *caseload.Device, clientID string) error {
	now := time.Now()
	for _, c := range []caseload.Contact{
		{OccurredAt: now.Add(-2 * time.Hour), Category: "housing", Mode: "home_visit",
			Outcome: "Viewed a flat with the housing officer", HousingStatusAfter: "temporary_accommodation"},
		{OccurredAt: now.Add(-time.Hour), Category: "treatment_attendance", Mode: "community",
			Attendance: "attended", Provider: "Lambeth Recovery Service", DurationMinutes: 45},
	} {
		if _, err := dev.LogContact(ctx, clientID, c); err != nil {
			return fmt.Errorf("logging a %s contact: %w", c.Category, err)
		}
	}
	return nil
}

// printTimeline shows a client's timeline as the tablet holds it, each
// contact marked synced, pending or deleted.
func printTimeline(ctx context.Context, dev *caseload.Device, clientID string, stdout io.Writer) error {
	tl, err := dev.Timeline(ctx, clientID)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "timeline of %s %s:\n", tl.Client.GivenName, tl.Client.FamilyName)
	for _, c := range tl.Contacts {
		state := "synced"
		switch {
		case c.Deleted:
			state = "deleted"
		case c.Pending:
			state = "pending"
		}
		fmt.Fprintf(stdout, "  %s  %-20s %-10s by %s (%s)\n", c.OccurredAt.Local().Format("2006-01-02 15:04"), c.Category, c.Mode, c.Author, state)
	}
	for _, g := range tl.Goals {
		fmt.Fprintf(stdout, "  goal %s: %s (%s)\n", g.Domain, g.Description, g.Status)
	}
	for _, r := range tl.Referrals {
		fmt.Fprintf(stdout, "  referral to %s (%s)\n", r.Organisation, r.Status)
	}
	return nil
}

// printRefusals shows what the server refused and the conflicts waiting
// for a supervisor, or says there are none.
func printRefusals(ctx context.Context, dev *caseload.Device, stdout io.Writer) error {
	rejections, err := dev.Rejections(ctx)
	if err != nil {
		return err
	}
	for _, r := range rejections {
		fmt.Fprintf(stdout, "refused: %s %s: %s (%s)\n", r.RecordType, r.Field, r.Message, r.Reason)
	}
	conflicts, err := dev.Conflicts(ctx)
	if err != nil {
		return err
	}
	for _, c := range conflicts {
		fmt.Fprintf(stdout, "conflict on %s %s: %q by %s or %q by %s\n", c.RecordType, c.Field, c.Current.Value, c.Current.UserID, c.Incoming.Value, c.Incoming.UserID)
	}
	if len(rejections) == 0 && len(conflicts) == 0 {
		fmt.Fprintln(stdout, "no refused changes, no conflicts")
	}
	return nil
}

// syncNow syncs once, signing in again with the passkey if the session
// has ended (the device's unsynced work is kept meanwhile).
func syncNow(ctx context.Context, dev *caseload.Device, authn *software.Key) (caseload.SyncReport, error) {
	rep, err := dev.Sync(ctx)
	if errors.Is(err, caseload.ErrSignInRequired) && authn != nil {
		if err := dev.SignIn(ctx, authn); err != nil {
			return rep, fmt.Errorf("signing in again: %w", err)
		}
		rep, err = dev.Sync(ctx)
	}
	if err != nil {
		return rep, fmt.Errorf("syncing: %w", err)
	}
	return rep, nil
}

// demoKey reads the store's key from path, making it on first use. (An app
// keeps it in the platform's key store, never beside the data.)
func demoKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if err == nil {
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	return key, os.WriteFile(path, key, 0o600)
}

func loadPasskey(path string) (*software.Key, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var k software.Key
	if err := json.Unmarshal(raw, &k); err != nil {
		return nil, fmt.Errorf("reading the demo passkey %s: %w", path, err)
	}
	return &k, nil
}

func savePasskey(path string, k *software.Key) error {
	raw, err := json.Marshal(k)
	if err != nil {
		return err
	}
	return os.WriteFile(path, raw, 0o600)
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}
