package sdkupgrade

import (
	"context"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/servertest"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/protocol"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// The stuck-outbox fixture's identities and key (see testdata/README.md).
const (
	fixtureKey     = "7468726f7567686361726520737475636b206f7574626f782066697874757265"
	fixtureUser    = "0190a0b0-0000-7000-8000-00000000f001"
	fixtureDevice  = "0190a0b0-0000-7000-8000-00000000d001"
	fixtureClient  = "0190a0b0-0000-7000-8000-00000000c001"
	fixtureToken   = "tca_stuck-outbox-fixture-worker"
	fixtureChanges = 840 // 120 contacts
)

// A tablet whose queue the previous SDK left stuck (it cut a push inside a
// new contact and the server refused that push whole, every time) is
// upgraded: the same data directory, opened by this SDK, syncs completely.
func TestStuckOutboxOfThePreviousSDKSyncs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata/stuck-outbox")); err != nil {
		t.Fatal(err)
	}
	env := servertest.New(t, servertest.Options{})
	admin := seedClient(t, env)
	env.SignIn(fixtureToken, identity.Identity{UserID: fixtureUser, DeviceID: fixtureDevice, Role: identity.Worker, Area: "Lambeth", Buckets: []string{fixtureClient}})

	key, _ := hex.DecodeString(fixtureKey)
	d, err := caseload.Open(caseload.Config{Dir: dir, Key: key, Server: env.URL, HTTPClient: env.HTTPClient})
	if err != nil {
		t.Fatalf("opening the old store: %v", err)
	}
	defer d.Close()
	if d.UserID() != fixtureUser || d.DeviceID() != fixtureDevice || d.Status().Pending != fixtureChanges {
		t.Fatalf("the fixture holds user %s, device %s, %d pending; want the stuck tablet's %d", d.UserID(), d.DeviceID(), d.Status().Pending, fixtureChanges)
	}

	rep, err := d.Sync(ctx)
	if err != nil {
		t.Fatalf("sync after the upgrade: %v", err)
	}
	if rep.Accepted != fixtureChanges || rep.Rejected != 0 || d.Status().Pending != 0 {
		t.Fatalf("sync %+v, status %+v: want all %d changes accepted", rep, d.Status(), fixtureChanges)
	}
	if hw, err := env.Store.HighWater(ctx, fixtureDevice); err != nil || hw != fixtureChanges {
		t.Fatalf("the server holds the device's changes up to %d (%v), want %d", hw, err, fixtureChanges)
	}
	tl, err := d.Timeline(ctx, fixtureClient)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tl.Contacts); n != 120 || tl.Contacts[0].Pending {
		t.Fatalf("the tablet shows %d contacts (newest pending: %v), want the 120 logged, synced", n, tl.Contacts[0].Pending)
	}
	if n := serverContacts(t, env, admin); n != 120 {
		t.Fatalf("the server holds %d contacts, want 120", n)
	}
}

// seedClient creates the fixture's client on the server, as an admin, and
// returns the admin's token.
func seedClient(t *testing.T, env *servertest.Env) string {
	t.Helper()
	const token = "admin-token"
	admin := sample.NewDevice("admin", time.Now, 7)
	env.SignIn(token, identity.Identity{UserID: "admin", DeviceID: admin.ID, Role: identity.Admin, Area: "Lambeth", Buckets: []string{fixtureClient}})
	chs := admin.Record("client", fixtureClient, fixtureClient, []sample.Field{
		{Name: "given_name", Value: sample.Str("Sam")}, {Name: "family_name", Value: sample.Str("Jones")},
		{Name: "area", Value: sample.Str("Lambeth")}, {Name: "pathway", Value: sample.Str("licence")},
		{Name: "status", Value: sample.Str("active")},
	})
	resp, err := env.SyncClient(token).Push(context.Background(), &v1.PushRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1, Changes: chs})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resp.GetResults() {
		if r.GetVerdict() != v1.Verdict_VERDICT_APPLIED {
			t.Fatalf("seeding the client: %v", r)
		}
	}
	return token
}

// serverContacts counts the contact records the caller's pull returns.
func serverContacts(t *testing.T, env *servertest.Env, token string) int {
	t.Helper()
	c := env.SyncClient(token)
	var cursor []byte
	n := 0
	for range 1000 {
		resp, err := c.Pull(context.Background(), &v1.PullRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range resp.GetBuckets() {
			for _, r := range b.GetRecords() {
				if r.GetRecordType() == "contact" {
					n++
				}
			}
		}
		if !resp.GetHasMore() {
			return n
		}
		cursor = resp.GetCursor()
	}
	t.Fatal("the pull never ended")
	return 0
}
