package api_test

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/servertest"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// A push whose response was lost is resent as is: applied changes come back
// as duplicates and rejected ones as the same rejection, never "duplicate".
func TestResentPushRepeatsItsVerdicts(t *testing.T) {
	env := servertest.New(t, servertest.Options{})
	ids := seedClients(t, env, 2, 0)
	w := newWorker(t, env, "worker-a", 20, ids[:1])
	_, mine := w.dev.NewContact(ids[0], time.Now())
	_, foreign := w.dev.NewContact(ids[1], time.Now())
	req := pushReq(append(mine, foreign...)...)
	first, err := w.client.Push(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := w.client.Push(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range again.GetResults() {
		want := v1.Verdict_VERDICT_DUPLICATE
		if first.GetResults()[i].GetVerdict() == v1.Verdict_VERDICT_REJECTED {
			want = v1.Verdict_VERDICT_REJECTED
			if r.GetReason() != first.GetResults()[i].GetReason() {
				t.Fatalf("resent rejection reason %v, first time %v", r.GetReason(), first.GetResults()[i].GetReason())
			}
		}
		if r.GetVerdict() != want {
			t.Fatalf("resent change %d = %v, want %v", i, r.GetVerdict(), want)
		}
	}
	if again.GetHighWater() != w.dev.Seq {
		t.Fatalf("high_water = %d, want %d", again.GetHighWater(), w.dev.Seq)
	}
}

func TestSequenceGapIsAPreconditionFailure(t *testing.T) {
	env := servertest.New(t, servertest.Options{})
	ids := seedClients(t, env, 1, 0)
	w := newWorker(t, env, "worker-a", 21, ids)
	_, skipped := w.dev.NewContact(ids[0], time.Now())
	_, later := w.dev.NewContact(ids[0], time.Now())
	_, err := w.client.Push(context.Background(), pushReq(later...))
	cerr := assertCode(t, "Push with a gap", err, connect.CodeFailedPrecondition)
	if d := detail[v1.SequenceMismatch](t, cerr); d.GetHighWater() != 0 {
		t.Fatalf("high_water = %d, want 0", d.GetHighWater())
	}
	if _, err := w.client.Push(context.Background(), pushReq(append(skipped, later...)...)); err != nil {
		t.Fatalf("push without the gap: %v", err)
	}
}

// Someone without the client on their caseload learns nothing from a push:
// existing or not, of whatever type, the change is "not found".
func TestPushesRevealNothingOutsideTheCaseload(t *testing.T) {
	env := servertest.New(t, servertest.Options{})
	ids := seedClients(t, env, 1, 1)
	recs, _, _ := pullAll(t, env.SyncClient("admin-token"), nil, 0)
	var contactID string
	for id, r := range recs {
		if r.GetRecordType() == "contact" {
			contactID = id
		}
	}
	outsider := newWorker(t, env, "outsider", 22, nil)
	d := outsider.dev
	cases := []struct {
		name   string
		change func() *v1.Change
	}{
		{"retype_existing_record", func() *v1.Change { return d.Change("goal", contactID, ids[0], "status", sample.Str("open"), nil) }},
		{"edit_existing_record", func() *v1.Change { return d.Change("contact", contactID, ids[0], "outcome", sample.Str("x"), nil) }},
		{"edit_missing_record", func() *v1.Change { return d.Change("contact", d.NewID(), ids[0], "outcome", sample.Str("x"), nil) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := outsider.client.Push(context.Background(), pushReq(tc.change()))
			if err != nil {
				t.Fatalf("Push = %v, want a NOT_FOUND verdict", err)
			}
			if r := resp.GetResults()[0]; r.GetVerdict() != v1.Verdict_VERDICT_REJECTED || r.GetReason() != v1.RejectReason_REJECT_REASON_NOT_FOUND || r.GetMessage() != "client not found" {
				t.Fatalf("verdict = %v, want rejected NOT_FOUND 'client not found'", r)
			}
		})
	}
}

func TestPushRejectedListsAtMostFiftyProblems(t *testing.T) {
	env := servertest.New(t, servertest.Options{})
	ids := seedClients(t, env, 1, 0)
	w := newWorker(t, env, "worker-a", 23, ids)
	var chs []*v1.Change
	for range 60 {
		chs = append(chs, w.dev.Change("contact", w.dev.NewID(), ids[0], "shoe_size", sample.Int(9), nil))
	}
	_, err := w.client.Push(context.Background(), pushReq(chs...))
	rej := detail[v1.PushRejected](t, assertCode(t, "Push", err, connect.CodeInvalidArgument))
	if len(rej.GetProblems()) != syncengine.MaxProblems || rej.GetTotal() != 60 {
		t.Fatalf("%d problems listed, total %d; want %d and 60", len(rej.GetProblems()), rej.GetTotal(), syncengine.MaxProblems)
	}
}

func TestStreamClosesWhenTheCaseloadChanges(t *testing.T) {
	env := servertest.New(t, servertest.Options{Engine: syncengine.Config{Keepalive: time.Hour}})
	ids := seedClients(t, env, 2, 0)
	changed := make(chan struct{})
	env.SignIn("w", identity.Identity{UserID: "w", DeviceID: "dev-w", Buckets: ids, Changed: changed})
	stream, _ := subscribe(t, env.SyncClient("w"), nil)
	receive(t, stream)
	close(changed)
	for stream.Receive() {
	}
	cerr := assertCode(t, "stream", stream.Err(), connect.CodeAborted)
	if r := detail[v1.StreamClosed](t, cerr); r.GetReason() != v1.CloseReason_CLOSE_REASON_MEMBERSHIP_CHANGED {
		t.Fatalf("close reason = %v", r.GetReason())
	}
}

// A live update reads only the buckets that changed, and still carries a
// cursor for all of them.
func TestLiveUpdatesCarryTheWholeCursor(t *testing.T) {
	env := servertest.New(t, servertest.Options{Engine: syncengine.Config{Keepalive: time.Hour}})
	ids := seedClients(t, env, 3, 1)
	sup := newWorker(t, env, "supervisor", 24, ids)
	w := newWorker(t, env, "worker", 25, ids[1:2])
	stream, _ := subscribe(t, sup.client, nil)
	receive(t, stream)
	_, chs := w.dev.NewContact(ids[1], time.Now())
	if _, err := w.client.Push(context.Background(), pushReq(chs...)); err != nil {
		t.Fatal(err)
	}
	live := receive(t, stream).GetChanges()
	if len(live.GetBuckets()) != 1 || live.GetBuckets()[0].GetClientId() != ids[1] {
		t.Fatalf("live update = %v, want just the changed bucket", live.GetBuckets())
	}
	recs, _, actions := pullAll(t, sup.client, live.GetCursor(), 0)
	if len(recs) != 0 || len(actions) != 0 {
		t.Fatalf("pull from the live cursor returned %d records, actions %v; want nothing (the cursor covers every bucket)", len(recs), actions)
	}
}
