package syncengine_test

import (
	"context"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/sample"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// Writes the server makes on its own account (straight to the store, as the
// admin and review services do) reach open streams like devices' pushes.
func TestSubscribeSeesServerWrites(t *testing.T) {
	st := openStore(t, t.TempDir())
	t.Cleanup(func() { st.Close() })
	e := newEngine(t, st, schema.Builtin())
	t.Cleanup(e.Shutdown)

	dev := sample.NewDevice("worker-1", time.Now, 1)
	cid, chs := dev.NewClient("Lambeth")
	id := &identity.Identity{UserID: "worker-1", DeviceID: dev.ID, Role: identity.Admin, Buckets: []string{cid}}
	pushOK(t, e, id, chs)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan *v1.SubscribeResponse, 16)
	done := make(chan error, 1)
	go func() {
		done <- e.Subscribe(ctx, id, &v1.SubscribeRequest{ProtocolVersion: 1, SchemaVersion: 1}, func(r *v1.SubscribeResponse) error {
			got <- r
			return nil
		})
	}()
	first := <-got // the catch-up page
	if n := len(first.GetChanges().GetBuckets()); n != 1 {
		t.Fatalf("catch-up buckets = %d, want 1", n)
	}

	srv := sample.NewDevice("admin-1", time.Now, 2)
	contactID, note := srv.NewContact(cid, time.Now())
	if _, err := st.Push(ctx, &store.Batch{UserID: "admin-1", DeviceID: "server", ReceivedAt: time.Now(), AssignSeq: true, Changes: note}); err != nil {
		t.Fatal(err)
	}
	var live *v1.SubscribeResponse
	for live == nil {
		select {
		case r := <-got:
			if r.GetChanges() != nil {
				live = r
			}
		case err := <-done:
			t.Fatalf("stream ended: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("the server's write never reached the stream")
		}
	}
	resp, err := syncengine.Materialize(live.GetChanges())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, b := range resp.GetBuckets() {
		for _, r := range b.GetRecords() {
			ids = append(ids, r.GetRecordId())
		}
	}
	if len(ids) != 1 || ids[0] != contactID {
		t.Fatalf("live page records = %v, want just the server-written contact", ids)
	}
}
