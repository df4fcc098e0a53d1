package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/pgstore/pgtest"
	"github.com/throughcare/throughcare/server/servertest"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/protocol"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// Two servers (server.New) on one database, as replicas behind a proxy: a
// device subscribed through B receives, live, a change another device
// pushed through A (notify.go carries it from A's commit to B's streams).
func TestReplicasStreamEachOthersPushes(t *testing.T) {
	url := pgtest.Shared(t).Database(t, t.Name())
	replica := func() *servertest.Env {
		db := openURL(t, url)
		return servertest.New(t, servertest.Options{Store: db, Engine: syncengine.Config{Keepalive: time.Hour}})
	}
	a, b := replica(), replica()
	ctx := context.Background()
	pusher := sample.NewDevice("admin", time.Now, 1)
	clientID, chs := pusher.NewClient("Lambeth")
	a.SignIn("pusher", identity.Identity{UserID: "admin", DeviceID: pusher.ID, Role: identity.Admin, Area: "Lambeth", Buckets: []string{clientID}})
	b.SignIn("watcher", identity.Identity{UserID: "admin2", DeviceID: "watcher-device", Role: identity.Admin, Area: "Lambeth", Buckets: []string{clientID}})
	push := func(chs []*v1.Change) {
		t.Helper()
		resp, err := a.SyncClient("pusher").Push(ctx, &v1.PushRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1, Changes: chs})
		if err != nil {
			t.Fatalf("Push through A: %v", err)
		}
		for i, r := range resp.GetResults() {
			if r.GetVerdict() != v1.Verdict_VERDICT_APPLIED {
				t.Fatalf("change %d: %v, want applied", i, r.GetVerdict())
			}
		}
	}
	push(chs)

	sctx, cancel := context.WithTimeout(ctx, 30*time.Second) // a guard, not a timing assertion
	defer cancel()
	stream, err := b.SyncClient("watcher").Subscribe(sctx, &v1.SubscribeRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	records := func() map[string]bool {
		t.Helper()
		for stream.Receive() {
			if page := stream.Msg().GetChanges(); page != nil {
				got := map[string]bool{}
				for _, bk := range page.GetBuckets() {
					for _, r := range bk.GetRecords() {
						got[r.GetRecordId()] = true
					}
				}
				return got
			}
		}
		t.Fatalf("B's stream ended: %v", stream.Err())
		return nil
	}
	if first := records(); !first[clientID] {
		t.Fatalf("B's first page holds %v, want the client %s", first, clientID)
	}
	contactID, more := pusher.NewContact(clientID, time.Now())
	push(more)
	if live := records(); !live[contactID] || live[clientID] {
		t.Fatalf("B's live page holds %v, want only the contact %s pushed through A", live, contactID)
	}
}
