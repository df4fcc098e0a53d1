package syncengine_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/protocol"
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
	id := &identity.Identity{Area: "area", UserID: "worker-1", DeviceID: dev.ID, Role: identity.Admin, Buckets: []string{cid}}
	pushOK(t, e, id, chs)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan *v1.SubscribeResponse, 16)
	done := make(chan error, 1)
	go func() {
		done <- e.Subscribe(ctx, id, &v1.SubscribeRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1}, func(_ context.Context, r *v1.SubscribeResponse) error {
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
	if _, err := syncengine.Apply(ctx, st, &syncengine.Batch{UserID: "admin-1", DeviceID: "server", ReceivedAt: time.Now(), AssignSeq: true, Changes: note}); err != nil {
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

// A stream stops before its next page when the session ends, the caseload
// changes, the server shuts down or the caller goes away during a catch-up:
// nothing more is delivered after the page that was being sent.
func TestSubscribeStopsMidCatchUp(t *testing.T) {
	st := openStore(t, t.TempDir())
	t.Cleanup(func() { st.Close() })
	dev := sample.NewDevice("worker-1", time.Now, 1)
	cid, chs := dev.NewClient("Lambeth")
	for range 60 {
		_, c := dev.NewContact(cid, time.Now())
		chs = append(chs, c...)
	}
	seed := newEngine(t, st, schema.Builtin())
	pushOK(t, seed, &identity.Identity{Area: "area", UserID: "worker-1", DeviceID: dev.ID, Role: identity.Admin, Buckets: []string{cid}}, chs)
	seed.Shutdown()

	for _, tc := range []struct {
		name string
		// end ends the stream's reason to exist; want checks the error.
		end  func(e *syncengine.Engine, ended, changed chan struct{}, cancel context.CancelFunc)
		want func(error) bool
	}{
		{"session_ended", func(_ *syncengine.Engine, ended, _ chan struct{}, _ context.CancelFunc) { close(ended) },
			closedWith(v1.CloseReason_CLOSE_REASON_SESSION_ENDED)},
		{"caseload_changed", func(_ *syncengine.Engine, _, changed chan struct{}, _ context.CancelFunc) { close(changed) },
			closedWith(v1.CloseReason_CLOSE_REASON_MEMBERSHIP_CHANGED)},
		{"shutdown", func(e *syncengine.Engine, _, _ chan struct{}, _ context.CancelFunc) { e.Shutdown() },
			closedWith(v1.CloseReason_CLOSE_REASON_SERVER_SHUTDOWN)},
		{"caller_gone", func(_ *syncengine.Engine, _, _ chan struct{}, cancel context.CancelFunc) { cancel() },
			func(err error) bool { return errors.Is(err, context.Canceled) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := syncengine.New(syncengine.Config{Store: st, DefaultLimit: 10, Keepalive: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Shutdown()
			ended, changed := make(chan struct{}), make(chan struct{})
			id := &identity.Identity{Area: "area", UserID: "worker-1", DeviceID: "other-tablet", Role: identity.Admin, Buckets: []string{cid}, Ended: ended, Changed: changed}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			pages := 0
			err = e.Subscribe(ctx, id, &v1.SubscribeRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1}, func(_ context.Context, r *v1.SubscribeResponse) error {
				if r.GetChanges() == nil {
					return nil
				}
				if pages++; pages == 1 {
					if !r.GetChanges().GetHasMore() {
						t.Fatal("the catch-up fits one page; the test needs several")
					}
					tc.end(e, ended, changed, cancel)
				}
				return nil
			})
			if pages != 1 {
				t.Errorf("%d pages delivered, want only the one being sent when the stream had to end", pages)
			}
			if !tc.want(err) {
				t.Errorf("Subscribe returned %v", err)
			}
		})
	}
}

func closedWith(reason v1.CloseReason) func(error) bool {
	return func(err error) bool {
		var c *syncengine.ClosedError
		return errors.As(err, &c) && c.Reason == reason
	}
}
