package pgstore_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/throughcare/throughcare/server"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/pgstore"
	"github.com/throughcare/throughcare/server/pgstore/pgtest"
	"github.com/throughcare/throughcare/server/servertest"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/storekey"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/protocol"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// A PostgreSQL store is a whole server store: server.New takes one.
var _ server.Store = (*pgstore.DB)(nil)

// newServer runs the whole server (server.New) on a PostgreSQL store,
// with a store key so that a refused backup is refused for being
// PostgreSQL's, not for want of a key.
func newServer(t *testing.T) (*servertest.Env, *pgstore.DB) {
	t.Helper()
	db := openURL(t, pgtest.Shared(t).Database(t, t.Name()))
	key, err := storekey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	// servertest opens a Badger store of its own, which this server does
	// not use: the hook gives it the PostgreSQL one.
	env := servertest.New(t, servertest.Options{Server: func(c *server.Config) { c.Store, c.BackupKey = db, key }})
	return env, db
}

// A push through the API lands in PostgreSQL and a pull through the API
// returns it.
func TestServerPushPull(t *testing.T) {
	env, db := newServer(t)
	ctx := context.Background()
	dev := sample.NewDevice("admin", time.Now, 1)
	clientID, chs := dev.NewClient("Lambeth")
	_, cchs := dev.NewContact(clientID, time.Now())
	chs = append(chs, cchs...)
	env.SignIn("admin", identity.Identity{UserID: "admin", DeviceID: dev.ID, Role: identity.Admin, Area: "Lambeth", Buckets: []string{clientID}})

	resp, err := env.SyncClient("admin").Push(ctx, &v1.PushRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1, Changes: chs})
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	for i, r := range resp.GetResults() {
		if r.GetVerdict() != v1.Verdict_VERDICT_APPLIED {
			t.Fatalf("change %d: %v, want applied", i, r.GetVerdict())
		}
	}
	if h, err := db.Heads(ctx, []string{clientID}); err != nil || h[clientID] != uint64(len(chs)) {
		t.Fatalf("PostgreSQL head after the push: %v, %v; want %d", h, err, len(chs))
	}

	pull, err := env.SyncClient("admin").Pull(ctx, &v1.PullRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1})
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	got := 0
	for _, b := range pull.GetBuckets() {
		if b.GetClientId() == clientID {
			got += len(b.GetRecords())
		}
	}
	if got != 2 {
		t.Fatalf("pulled %d records of the client, want 2 (the client and the contact): %v", got, pull)
	}
}

// The store id is made once and the same after a reopen; a backup through
// the API is refused (FailedPrecondition, naming pg_dump) before its audit
// entry is written.
func TestServerBackupRefused(t *testing.T) {
	ctx := context.Background()
	url := pgtest.Shared(t).Database(t, t.Name())
	first := openURL(t, url)
	id, err := first.StoreID(ctx)
	if err != nil || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
		t.Fatalf("StoreID = %q, %v; want 32 hex digits", id, err)
	}
	if again, err := first.StoreID(ctx); err != nil || again != id {
		t.Fatalf("second StoreID = %q, %v; want %q", again, err, id)
	}
	first.Close()
	if reopened, err := openURL(t, url).StoreID(ctx); err != nil || reopened != id {
		t.Fatalf("StoreID after a reopen = %q, %v; want %q", reopened, err, id)
	}
	if other, err := openURL(t, pgtest.Shared(t).Database(t, t.Name()+"-other")).StoreID(ctx); err != nil || other == id {
		t.Fatalf("another database's StoreID = %q, %v; want another id", other, err)
	}

	env, db := newServer(t)
	env.SignIn("admin", identity.Identity{UserID: "admin", DeviceID: "d", Role: identity.Admin, Area: "Lambeth"})
	s, err := env.AdminClient("admin").StreamBackup(ctx, &v1.StreamBackupRequest{})
	if err == nil {
		for s.Receive() {
			t.Fatal("a backup of a PostgreSQL store sent a message")
		}
		err = s.Err()
	}
	if connect.CodeOf(err) != connect.CodeFailedPrecondition || !strings.Contains(err.Error(), "pg_dump") {
		t.Fatalf("StreamBackup = %v, want FailedPrecondition naming pg_dump", err)
	}
	if err := db.DirectoryView(ctx, func(tx store.DirTx) error {
		as, err := tx.AuditOfArea("Lambeth", 0, 0)
		if err == nil && len(as) != 0 {
			t.Errorf("a refused backup wrote audit entries: %+v", as)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}
