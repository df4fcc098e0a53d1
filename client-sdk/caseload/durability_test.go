package caseload

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
)

// Work done offline survives the app being closed: reopened with the same
// key, the device shows the contacts, still pending, with the same count;
// and new changes continue the device's sequence and clock, even when the
// tablet's wall clock has gone back meanwhile.
func TestOfflineWorkSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	dir, key := t.TempDir(), testKey(t)
	morning := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := morning
	now := func() time.Time { return clock }

	d, err := Open(Config{Dir: dir, Key: key, Server: noServer, Now: now})
	must(t, err)
	user, device := enrol(t, d)
	c := newID()
	pull(t, d, snapshot(c, clientRecord(c, stampAt(morning.Add(-24*time.Hour), otherReplica), otherAuthor)))
	ids := []string{
		mustLog(t, d, c, contactAt(morning)),
		mustLog(t, d, c, Contact{OccurredAt: morning.Add(time.Hour), Category: "drug_test", Mode: "office", TestResult: "positive", Substances: []string{"opiates"}}),
	}
	before := outbox(t, d)
	pending := d.Status().Pending
	if pending != len(before) || pending == 0 {
		t.Fatalf("Status().Pending = %d, outbox holds %d changes", pending, len(before))
	}
	must(t, d.Close())

	// The tablet's clock is set back an hour before the app starts again.
	clock = morning.Add(-time.Hour)
	d, err = Open(Config{Dir: dir, Key: key, Server: noServer, Now: now})
	must(t, err)
	defer d.Close()

	if d.UserID() != user || d.DeviceID() != device {
		t.Fatalf("reopened as user %q device %q, want %q %q", d.UserID(), d.DeviceID(), user, device)
	}
	if got := d.Status().Pending; got != pending {
		t.Fatalf("after reopen Status().Pending = %d, want %d", got, pending)
	}
	after := outbox(t, d)
	if len(after) != len(before) {
		t.Fatalf("after reopen the outbox holds %d changes, want %d", len(after), len(before))
	}
	for i := range before {
		if !protoEqual(before[i], after[i]) {
			t.Fatalf("outbox change %d differs after reopen:\n got %v\nwant %v", i, after[i], before[i])
		}
	}
	tl, err := d.Timeline(ctx, c)
	must(t, err)
	var got []string
	for _, x := range tl.Contacts {
		got = append(got, x.ID)
		if !x.Pending || x.Author != user {
			t.Errorf("contact %s after reopen: pending %v author %q, want pending by %s", x.ID, x.Pending, x.Author, user)
		}
	}
	slices.Reverse(got) // newest first
	if !slices.Equal(got, ids) {
		t.Fatalf("contacts after reopen %v, want %v", got, ids)
	}
	if tl.Client.GivenName != "Sam" {
		t.Fatalf("pulled client after reopen: %+v", tl.Client)
	}

	// New work continues the sequence and orders after everything before.
	last := before[len(before)-1]
	mustLog(t, d, c, contactAt(clock))
	next := outbox(t, d)[len(before)]
	if next.GetDeviceSeq() != last.GetDeviceSeq()+1 {
		t.Errorf("first change after reopen has device_seq %d, want %d", next.GetDeviceSeq(), last.GetDeviceSeq()+1)
	}
	if merge.CompareStamps(next.GetStamp(), last.GetStamp()) <= 0 {
		t.Errorf("first stamp after reopen %v is not after the last before %v", next.GetStamp(), last.GetStamp())
	}
	if next.GetStamp().GetReplica() != device {
		t.Errorf("stamped by replica %q, want the device id %s", next.GetStamp().GetReplica(), device)
	}
}

// Within one session, every change gets the next device_seq, and the edits
// of one Write share one stamp later than the previous Write's.
func TestSequenceAndStamps(t *testing.T) {
	d, c := enrolledDevice(t)
	at := time.Now()
	mustLog(t, d, c, contactAt(at))
	mustLog(t, d, c, contactAt(at))
	chs := outbox(t, d)
	byRecord := map[string]*v1.Stamp{}
	for i, ch := range chs {
		if ch.GetDeviceSeq() != uint64(i+1) {
			t.Fatalf("change %d has device_seq %d", i, ch.GetDeviceSeq())
		}
		if s, ok := byRecord[ch.GetRecordId()]; ok && !protoEqual(s, ch.GetStamp()) {
			t.Fatalf("edits of one contact carry different stamps %v and %v", s, ch.GetStamp())
		}
		byRecord[ch.GetRecordId()] = ch.GetStamp()
	}
	if len(byRecord) != 2 {
		t.Fatalf("%d records in the outbox, want 2", len(byRecord))
	}
	if merge.CompareStamps(chs[0].GetStamp(), chs[len(chs)-1].GetStamp()) >= 0 {
		t.Fatal("the second contact is not stamped after the first")
	}
}

// The server's verdicts: an accepted change is no longer pending but still
// shown until a pull carries it; a refused one leaves the view and is kept,
// with its reason, until dismissed, across a restart. (A supervisor closes
// the case, which their role may do, but the client has just moved to
// another team: the server refuses it.)
func TestVerdictsKeptAndShown(t *testing.T) {
	ctx := context.Background()
	dir, key := t.TempDir(), testKey(t)
	d, err := Open(Config{Dir: dir, Key: key, Server: noServer})
	must(t, err)
	must(t, d.saveSession(&v1.Session{UserId: newID(), DeviceId: newID(), Role: v1.Role_ROLE_SUPERVISOR}))
	c := newID()
	pull(t, d, snapshot(c, clientRecord(c, stampAt(time.Now().Add(-time.Hour), otherReplica), otherAuthor)))
	must(t, d.UpdateClient(ctx, c, Edit{"housing_status", String("settled_tenancy")}))
	must(t, d.UpdateClient(ctx, c, Edit{"status", String("closed")}))
	chs := outbox(t, d)
	if len(chs) != 2 {
		t.Fatalf("outbox %d changes, want 2", len(chs))
	}
	var rep SyncReport
	must(t, d.settle(chs, []*v1.ChangeResult{
		{DeviceSeq: 1, Verdict: v1.Verdict_VERDICT_APPLIED},
		{DeviceSeq: 2, Verdict: v1.Verdict_VERDICT_REJECTED, Reason: v1.RejectReason_REJECT_REASON_NOT_FOUND, Message: "client not found"},
	}, &rep))
	if rep.Accepted != 1 || rep.Rejected != 1 {
		t.Fatalf("report %+v, want 1 accepted, 1 rejected", rep)
	}
	check := func(when string) {
		t.Helper()
		st := d.Status()
		if st.Pending != 0 || st.Rejected != 1 {
			t.Fatalf("%s: status %+v, want nothing pending, 1 rejected", when, st)
		}
		cl, err := d.Client(ctx, c)
		must(t, err)
		if cl.HousingStatus != "settled_tenancy" || cl.Status != "active" || cl.Pending {
			t.Fatalf("%s: client %+v: want the accepted housing status shown, the refused status not, nothing pending", when, cl)
		}
		rej, err := d.Rejections(ctx)
		must(t, err)
		if len(rej) != 1 {
			t.Fatalf("%s: rejections %+v, want one", when, rej)
		}
		want := Rejection{Seq: 2, ClientID: c, RecordID: c, RecordType: "client", Field: "status",
			Reason: "not_found", Message: "client not found", MadeAt: rej[0].MadeAt}
		if rej[0] != want {
			t.Fatalf("%s: rejections %+v, want %+v", when, rej, want)
		}
		if rej[0].MadeAt.IsZero() || time.Since(rej[0].MadeAt) > time.Minute {
			t.Fatalf("%s: rejection made at %v", when, rej[0].MadeAt)
		}
	}
	check("after the push")
	must(t, d.Close())
	d, err = Open(Config{Dir: dir, Key: key, Server: noServer})
	must(t, err)
	defer d.Close()
	check("after reopen")

	must(t, d.Dismiss(ctx, 2))
	must(t, d.Dismiss(ctx, 2)) // again: nothing to do
	if rej, _ := d.Rejections(ctx); len(rej) != 0 {
		t.Fatalf("rejections after Dismiss: %+v", rej)
	}
	if st := d.Status(); st.Rejected != 0 {
		t.Fatalf("Status().Rejected = %d after Dismiss", st.Rejected)
	}
}

// A kill while the local store was opening can leave an empty write-ahead
// (.mem) or value-log (.vlog) file behind, which Badger cannot open. The
// next open works and keeps everything: such a file never held anything.
func TestOpenAfterAKillDuringOpen(t *testing.T) {
	for _, leftover := range []string{"00099.mem", "000099.vlog"} {
		t.Run(leftover, func(t *testing.T) {
			dir, key := t.TempDir(), testKey(t)
			d, err := Open(Config{Dir: dir, Key: key, Server: noServer})
			must(t, err)
			_, device := enrol(t, d)
			c := newID()
			pull(t, d, snapshot(c, clientRecord(c, stampAt(time.Now().Add(-time.Hour), otherReplica), otherAuthor)))
			id := mustLog(t, d, c, contactAt(time.Now()))
			must(t, d.Close())
			must(t, os.WriteFile(filepath.Join(dir, leftover), nil, 0o600))

			d, err = Open(Config{Dir: dir, Key: key, Server: noServer})
			if err != nil {
				t.Fatalf("Open with an empty %s left over: %v", leftover, err)
			}
			defer d.Close()
			if d.DeviceID() != device {
				t.Fatalf("reopened as device %q, want %q", d.DeviceID(), device)
			}
			tl, err := d.Timeline(context.Background(), c)
			must(t, err)
			if len(tl.Contacts) != 1 || tl.Contacts[0].ID != id || !tl.Contacts[0].Pending {
				t.Fatalf("after reopen the timeline holds %+v, want the pending contact %s", tl.Contacts, id)
			}
		})
	}
}
