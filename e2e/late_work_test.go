package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/throughcare/throughcare/client-sdk/passkey"
	"github.com/throughcare/throughcare/server/servertest"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
	"github.com/throughcare/throughcare/syncproto/protocol"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// A tablet speaking the protocol itself (not the SDK) is taken off its
// client while it holds work made before. Its own new contact is still
// accepted, flagged late; a rename of the client stamped in the same
// period is refused. Once a pull has told the tablet to drop the client,
// it may send no more late work for it, even stamped in the past, and the
// server remembers that across a crash.
func TestLateWorkEndsWhenTheTabletIsToldToEvict(t *testing.T) {
	s := startServer(t)
	a := newArea(t, s)
	ctx := context.Background()
	team := a.team("Croydon Outreach")
	client := a.client(team, "Robin", "Green")
	sess, err := passkey.Enrol(ctx, throughcarev1connect.NewAuthServiceClient(h2cClient(), s.URL), softKey(s), a.invite(v1.Role_ROLE_WORKER, team), "Tablet 3")
	must(t, err)
	if _, err := a.admin.AssignClient(ctx, &v1.AssignClientRequest{ClientId: client, WorkerId: sess.GetUserId()}); err != nil {
		t.Fatal(err)
	}
	sync := throughcarev1connect.NewSyncServiceClient(h2cClient(), s.URL, connect.WithInterceptors(servertest.BearerToken(sess.GetAccessToken())))
	pull := func(cursor []byte) ([]byte, []v1.BucketAction) {
		t.Helper()
		var actions []v1.BucketAction
		for {
			resp, err := sync.Pull(ctx, &v1.PullRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1, Cursor: cursor})
			must(t, err)
			for _, b := range resp.GetBuckets() {
				if b.GetClientId() == client {
					actions = append(actions, b.GetAction())
				}
			}
			if cursor = resp.GetCursor(); !resp.GetHasMore() {
				return cursor, actions
			}
		}
	}
	cursor, actions := pull(nil)
	if len(actions) == 0 || actions[0] != v1.BucketAction_BUCKET_ACTION_SNAPSHOT {
		t.Fatalf("first pull: %v, want the client's snapshot", actions)
	}

	// Offline work, made while the client is on the tablet's caseload.
	dev := sample.NewDevice(sess.GetUserId(), time.Now, 42)
	offline := func(chs []*v1.Change) []*v1.Change {
		for _, ch := range chs {
			ch.Stamp.Replica = sess.GetDeviceId()
		}
		return chs
	}
	var early, told, afterCrash []*v1.Change
	early = append(early, offline([]*v1.Change{dev.Change("client", client, client, "given_name", sample.Str("Renamed"), nil)})...)
	contact, chs := dev.NewContact(client, time.Now())
	early = append(early, offline(chs)...)
	_, chs = dev.NewContact(client, time.Now())
	told = offline(chs)
	_, chs = dev.NewContact(client, time.Now())
	afterCrash = offline(chs)
	if _, err := a.admin.UnassignClient(ctx, &v1.UnassignClientRequest{ClientId: client, WorkerId: sess.GetUserId()}); err != nil {
		t.Fatal(err)
	}

	push := func(chs []*v1.Change) []*v1.ChangeResult {
		t.Helper()
		resp, err := sync.Push(ctx, &v1.PushRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1, Changes: chs})
		must(t, err)
		return resp.GetResults()
	}
	for i, r := range push(early) {
		if i == 0 {
			if r.GetReason() != v1.RejectReason_REJECT_REASON_ACCESS_ENDED || r.GetMessage() == "" {
				t.Fatalf("the rename of the client: %v, want refused access_ended with a message", r)
			}
			continue
		}
		if r.GetVerdict() != v1.Verdict_VERDICT_APPLIED || !r.GetLate() {
			t.Fatalf("the contact logged before the reassignment, change %d: %v, want applied late", i, r)
		}
	}

	if _, actions := pull(cursor); len(actions) != 1 || actions[0] != v1.BucketAction_BUCKET_ACTION_EVICT {
		t.Fatalf("pull after the reassignment: %v, want the client's eviction", actions)
	}
	wantRefused := func(what string, rs []*v1.ChangeResult) {
		t.Helper()
		for i, r := range rs {
			if r.GetReason() != v1.RejectReason_REJECT_REASON_ACCESS_ENDED || !strings.Contains(r.GetMessage(), "removed from this tablet") {
				t.Fatalf("%s, change %d: %v, want refused access_ended: the tablet was told to drop the client", what, i, r)
			}
		}
	}
	wantRefused("late work after the eviction", push(told))
	s.kill(t)
	s.restart(t)
	wantRefused("late work after the eviction and a crash", push(afterCrash))

	a.wantLateForReview(client, contact)
}

// wantLateForReview checks what the review console shows of a client's
// late work: the late filter lists exactly the contact, and the timeline
// flags every change to it as late.
func (a *area) wantLateForReview(client, contact string) {
	a.t.Helper()
	review := throughcarev1connect.NewReviewServiceClient(h2cClient(), a.s.URL, connect.WithInterceptors(a.adminSession))
	resp, err := review.ListContacts(a.ctx, &v1.ListContactsRequest{Filter: &v1.ContactFilter{LateOnly: true, ClientId: client}})
	must(a.t, err)
	if got := resp.GetContacts(); len(got) != 1 || got[0].GetRecord().GetRecordId() != contact || !got[0].GetLate() {
		a.t.Fatalf("late contacts %v, want only %s, flagged late", got, contact)
	}
	tl, err := review.GetTimeline(a.ctx, &v1.GetTimelineRequest{ClientId: client})
	must(a.t, err)
	for _, r := range tl.GetRecords() {
		if r.GetRecord().GetRecordId() != contact {
			continue
		}
		if len(r.GetHistory()) == 0 {
			a.t.Fatal("the late contact has no history in the timeline")
		}
		for _, e := range r.GetHistory() {
			if !e.GetLate() {
				a.t.Fatalf("timeline entry %s of the late contact is not flagged late", e.GetField())
			}
		}
		return
	}
	a.t.Fatal("the late contact is not in the timeline")
}
