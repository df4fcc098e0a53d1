package api_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/servertest"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
	"github.com/throughcare/throughcare/syncproto/protocol"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// seedClients creates n clients with m contacts each, pushed by an admin
// device, and returns their ids.
func seedClients(t *testing.T, env *servertest.Env, n, m int) []string {
	t.Helper()
	admin := sample.NewDevice("admin", time.Now, 99)
	var ids []string
	var chs []*v1.Change
	for range n {
		id, c := admin.NewClient("Bristol")
		ids = append(ids, id)
		chs = append(chs, c...)
		for range m {
			_, cc := admin.NewContact(id, time.Now())
			chs = append(chs, cc...)
		}
	}
	env.SignIn("admin-token", identity.Identity{UserID: "admin", DeviceID: admin.ID, Role: identity.Admin, Buckets: ids})
	resp, err := env.SyncClient("admin-token").Push(context.Background(), pushReq(chs...))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resp.GetResults() {
		if r.GetVerdict() != v1.Verdict_VERDICT_APPLIED {
			t.Fatalf("seed push: %v", r)
		}
	}
	return ids
}

func TestCaseloadChangesSnapshotAndEvict(t *testing.T) {
	env := servertest.New(t, servertest.Options{})
	ids := seedClients(t, env, 3, 4)
	w := newWorker(t, env, "worker-a", 10, ids[:2])
	recs, cursor, actions := pullAll(t, w.client, nil, 4)
	if len(recs) != 2*5 {
		t.Fatalf("first sync returned %d records, want 10", len(recs))
	}
	for _, id := range ids[:2] {
		if a := actions[id]; len(a) == 0 || a[0] != v1.BucketAction_BUCKET_ACTION_SNAPSHOT || slices.Contains(a[1:], v1.BucketAction_BUCKET_ACTION_SNAPSHOT) {
			t.Fatalf("bucket %s actions = %v, want a snapshot first, then deltas", id, a)
		}
	}
	// Reassign: the worker loses client 0 and gains client 2.
	env.SignIn(w.token, identity.Identity{UserID: "worker-a", DeviceID: w.dev.ID, Buckets: ids[1:]})
	recs, _, actions = pullAll(t, w.client, cursor, 0)
	if !slices.Equal(actions[ids[0]], []v1.BucketAction{v1.BucketAction_BUCKET_ACTION_EVICT}) {
		t.Fatalf("lost bucket actions = %v, want evict", actions[ids[0]])
	}
	if !slices.Equal(actions[ids[2]], []v1.BucketAction{v1.BucketAction_BUCKET_ACTION_SNAPSHOT}) {
		t.Fatalf("new bucket actions = %v, want snapshot", actions[ids[2]])
	}
	if _, ok := actions[ids[1]]; ok {
		t.Fatalf("unchanged bucket was sent: %v", actions[ids[1]])
	}
	if len(recs) != 5 {
		t.Fatalf("reassignment pull returned %d records, want the new client's 5", len(recs))
	}
}

func TestOwnWritesAreInTheNextCheckpoint(t *testing.T) {
	env := servertest.New(t, servertest.Options{})
	ids := seedClients(t, env, 1, 0)
	w := newWorker(t, env, "worker-a", 11, ids)
	_, cursor, _ := pullAll(t, w.client, nil, 0)
	contact, chs := w.dev.NewContact(ids[0], time.Now())
	resp, err := w.client.Push(context.Background(), pushReq(chs...))
	if err != nil {
		t.Fatal(err)
	}
	last := resp.GetResults()[len(chs)-1].GetPosition()
	page, err := w.client.Pull(context.Background(), pullReq(cursor, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(page.GetBuckets()) != 1 || page.GetBuckets()[0].GetPosition() < last || page.GetBuckets()[0].GetRecords()[0].GetRecordId() != contact {
		t.Fatalf("pull after push = %v; want the pushed contact and a position >= %d", page.GetBuckets(), last)
	}
}

func subscribe(t *testing.T, c throughcarev1connect.SyncServiceClient, cursor []byte) (*connect.ServerStreamForClient[v1.SubscribeResponse], context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	stream, err := c.Subscribe(ctx, &v1.SubscribeRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1, Cursor: cursor})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); stream.Close() })
	return stream, cancel
}

func receive(t *testing.T, s *connect.ServerStreamForClient[v1.SubscribeResponse]) *v1.SubscribeResponse {
	t.Helper()
	if !s.Receive() {
		t.Fatalf("stream ended: %v", s.Err())
	}
	return s.Msg()
}

func TestSubscribeStreamsLiveChanges(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			env := servertest.New(t, servertest.Options{Engine: syncengine.Config{Keepalive: time.Hour}})
			ids := seedClients(t, env, 2, 1)
			supervisor := newWorker(t, env, "supervisor", 12, ids, p.opts...)
			worker := newWorker(t, env, "worker-a", 13, ids[:1], p.opts...)
			stream, _ := subscribe(t, supervisor.client, nil)

			first := receive(t, stream).GetChanges()
			if first == nil || len(first.GetBuckets()) != 2 || first.GetHasMore() {
				t.Fatalf("catch-up = %v, want both buckets in one page", first)
			}
			contact, chs := worker.dev.NewContact(ids[0], time.Now())
			if _, err := worker.client.Push(context.Background(), pushReq(chs...)); err != nil {
				t.Fatal(err)
			}
			live := receive(t, stream).GetChanges()
			if live == nil || len(live.GetBuckets()) != 1 || live.GetBuckets()[0].GetRecords()[0].GetRecordId() != contact {
				t.Fatalf("live event = %v, want the new contact", live)
			}
			if live.GetBuckets()[0].GetAction() != v1.BucketAction_BUCKET_ACTION_DELTA {
				t.Fatalf("live action = %v, want delta", live.GetBuckets()[0].GetAction())
			}
			// The cursor from the stream works for a plain pull.
			recs, _, _ := pullAll(t, supervisor.client, live.GetCursor(), 0)
			if len(recs) != 0 {
				t.Fatalf("pull from the stream's cursor returned %d records, want 0", len(recs))
			}
		})
	}
}

func TestSubscribeKeepalivesAndTypedCloses(t *testing.T) {
	env := servertest.New(t, servertest.Options{Engine: syncengine.Config{Keepalive: 20 * time.Millisecond}})
	ids := seedClients(t, env, 1, 0)
	w := newWorker(t, env, "worker-a", 14, ids)

	stream, _ := subscribe(t, w.client, nil)
	receive(t, stream) // catch-up
	if ka := receive(t, stream).GetKeepalive(); ka == nil || ka.GetServerTime() == nil {
		t.Fatal("idle stream sent no keepalive")
	}

	t.Run("session_ended", func(t *testing.T) {
		ended := make(chan struct{})
		env.SignIn("ending", identity.Identity{UserID: "worker-b", DeviceID: "dev-b", Buckets: ids, Ended: ended})
		s, _ := subscribe(t, env.SyncClient("ending"), nil)
		receive(t, s)
		close(ended)
		for s.Receive() {
		}
		cerr := assertCode(t, "stream", s.Err(), connect.CodeUnauthenticated)
		if r := detail[v1.StreamClosed](t, cerr); r.GetReason() != v1.CloseReason_CLOSE_REASON_SESSION_ENDED {
			t.Fatalf("close reason = %v", r.GetReason())
		}
	})
	t.Run("server_shutdown", func(t *testing.T) {
		env.Engine.Shutdown()
		for stream.Receive() {
		}
		cerr := assertCode(t, "stream", stream.Err(), connect.CodeUnavailable)
		if r := detail[v1.StreamClosed](t, cerr); r.GetReason() != v1.CloseReason_CLOSE_REASON_SERVER_SHUTDOWN {
			t.Fatalf("close reason = %v", r.GetReason())
		}
	})
}

func TestSubscribeClosesAtMaxAge(t *testing.T) {
	env := servertest.New(t, servertest.Options{Engine: syncengine.Config{StreamMaxAge: 50 * time.Millisecond, Keepalive: time.Hour}})
	ids := seedClients(t, env, 1, 0)
	w := newWorker(t, env, "worker-a", 15, ids)
	stream, _ := subscribe(t, w.client, nil)
	receive(t, stream)
	for stream.Receive() {
	}
	var cerr *connect.Error
	if !errors.As(stream.Err(), &cerr) {
		t.Fatalf("stream ended with %v", stream.Err())
	}
	if r := detail[v1.StreamClosed](t, cerr); r.GetReason() != v1.CloseReason_CLOSE_REASON_MAX_AGE {
		t.Fatalf("close reason = %v, want MAX_AGE", r.GetReason())
	}
}
