package admin

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"

	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/syncengine"
	"github.com/throughcare/throughcare/syncproto/merge"
)

// addDevice registers a device of a user, signed in with one session;
// primary is the device whose passkey it uses ("" for a passkey's own).
func (w *world) addDevice(userID, primary string, at time.Time) string {
	w.t.Helper()
	d := &store.Device{ID: newID(), UserID: userID, Name: "Tablet", PrimaryID: primary, CreatedAt: at, LastUsedAt: at}
	w.fx.Directory(func(tx store.DirTx) error {
		if err := tx.PutDevice(d); err != nil {
			return err
		}
		far := w.clock.Now().Add(time.Hour)
		return tx.PutSession(&store.Session{ID: newID(), UserID: userID, DeviceID: d.ID, AccessHash: []byte(newID()), RefreshHash: []byte(newID()),
			CreatedAt: at, LastUsedAt: at, AccessExpiresAt: far, RefreshExpiresAt: far, AbsoluteExpiresAt: far})
	})
	return d.ID
}

// device reads a device and how many sessions it has.
func (w *world) device(id string) (*store.Device, int) {
	w.t.Helper()
	var (
		d        *store.Device
		sessions int
	)
	if err := w.st.DirectoryView(w.ctx, func(tx store.DirTx) error {
		var err error
		d, err = tx.Device(id)
		sessions = len(tx.SessionsOfDevice(id))
		return err
	}); err != nil {
		w.t.Fatal(err)
	}
	return d, sessions
}

// An admin lists their area's users' devices, oldest first with revoked
// ones; no one else may, and another area's user is not found.
func TestListUserDevices(t *testing.T) {
	w := newWorld(t)
	t0 := w.clock.Now()
	later := w.addDevice(w.workerA1.UserID, "", t0.Add(time.Minute))
	first := w.addDevice(w.workerA1.UserID, "", t0)
	if err := w.svc.RevokeUserDevice(w.ctx, w.adminA, w.workerA1.UserID, first); err != nil {
		t.Fatal(err)
	}
	got, err := w.svc.ListUserDevices(w.ctx, w.adminA, w.workerA1.UserID)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range got {
		ids = append(ids, d.ID)
	}
	if want := []string{first, later}; !slices.Equal(ids, want) || got[0].RevokedAt.IsZero() || !got[1].RevokedAt.IsZero() {
		t.Errorf("devices %v (revoked %v, %v), want %v with the first revoked", ids, got[0].RevokedAt, got[1].RevokedAt, want)
	}
	for _, tc := range []struct {
		name   string
		caller *identity.Identity
		user   string
		want   errkind.Kind
	}{
		{"admin, own area", w.adminA, w.workerA1.UserID, 0},
		{"admin, another area", w.adminA, w.workerB1.UserID, errkind.NotFound},
		{"admin, no such user", w.adminA, newID(), errkind.NotFound},
		{"supervisor of the team", w.supA1, w.workerA1.UserID, errkind.Forbidden},
		{"worker, own", w.workerA1, w.workerA1.UserID, errkind.Forbidden},
	} {
		_, err := w.svc.ListUserDevices(w.ctx, tc.caller, tc.user)
		wantKind(t, tc.name, err, tc.want)
	}
}

// An admin revokes a device of a user of their area: it and, for a
// passkey's own device, the installations it signed in on are revoked and
// their sessions end, audited once per revocation by the admin. Nothing
// else may be revoked this way, and a refusal changes nothing.
func TestRevokeUserDevice(t *testing.T) {
	w := newWorld(t)
	now := w.clock.Now()
	primary := w.addDevice(w.workerA1.UserID, "", now)
	installed := w.addDevice(w.workerA1.UserID, primary, now)
	other := w.addDevice(w.worker2A1.UserID, "", now)
	areaB := w.addDevice(w.workerB1.UserID, "", now)
	for _, tc := range []struct {
		name         string
		caller       *identity.Identity
		user, device string
		want         errkind.Kind
	}{
		{"supervisor of the team", w.supA1, w.workerA1.UserID, primary, errkind.Forbidden},
		{"supervisor, no such device", w.supA1, w.workerA1.UserID, newID(), errkind.Forbidden},
		{"worker, own", w.workerA1, w.workerA1.UserID, primary, errkind.Forbidden},
		{"admin, another user's device", w.adminA, w.workerA1.UserID, other, errkind.NotFound},
		{"admin, another area", w.adminA, w.workerB1.UserID, areaB, errkind.NotFound},
		{"admin, no such device", w.adminA, w.workerA1.UserID, newID(), errkind.NotFound},
	} {
		wantKind(t, tc.name, w.svc.RevokeUserDevice(w.ctx, tc.caller, tc.user, tc.device), tc.want)
	}
	for _, id := range []string{primary, installed, other, areaB} {
		if d, n := w.device(id); !d.RevokedAt.IsZero() || n != 1 {
			t.Fatalf("after refusals device %s: revoked at %v, %d sessions", id, d.RevokedAt, n)
		}
	}
	for range 2 { // again: nothing more changes
		if err := w.svc.RevokeUserDevice(w.ctx, w.adminA, w.workerA1.UserID, primary); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		id      string
		revoked bool
	}{{primary, true}, {installed, true}, {other, false}} {
		d, n := w.device(tc.id)
		if got := !d.RevokedAt.IsZero(); got != tc.revoked || (n == 0) != tc.revoked {
			t.Errorf("device %s: revoked %v with %d sessions, want revoked %v", tc.id, got, n, tc.revoked)
		}
	}
	want := []auditLine{
		{action: store.AuditRevokeDevice, user: w.adminA.UserID, role: "admin", record: primary},
		{action: store.AuditRevokeDevice, user: w.adminA.UserID, role: "admin", record: primary},
	}
	if got := w.auditBy(w.areaA, w.adminA.UserID, store.AuditCreateClient); !slices.Equal(got, want) {
		t.Errorf("the admin's entries:\n got %+v\nwant %+v", got, want)
	}
}

// Closing a case writes the client record's status "closed" on the
// caller's account, audited once; closing it again changes nothing.
func TestCloseClient(t *testing.T) {
	w := newWorld(t)
	for range 2 {
		if err := w.svc.CloseClient(w.ctx, w.supA1, w.clientA1); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := w.st.Records(w.ctx, w.clientA1, []string{w.clientA1})
	if err != nil {
		t.Fatal(err)
	}
	st := merge.Field(recs[w.clientA1], "status")
	if got := st.GetValue().GetStringValue(); got != "closed" || st.GetAuthor().GetUserId() != w.supA1.UserID {
		t.Errorf("status %q by %q, want closed by the supervisor", got, st.GetAuthor().GetUserId())
	}
	want := []auditLine{{action: store.AuditCloseClient, user: w.supA1.UserID, role: "supervisor", client: w.clientA1, team: w.teamA1}}
	if got := w.auditBy(w.areaA, w.supA1.UserID); !slices.Equal(got, want) {
		t.Errorf("the supervisor's entries:\n got %+v\nwant %+v", got, want)
	}
	list, err := w.svc.ListClients(w.ctx, w.adminA, w.teamA1)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Status != "closed" || list[0].DisplayName != "Alex Smith" {
		t.Errorf("ListClients after closing = %+v", list)
	}
}

// A list of clients carries their names and status, and is audited: the
// clients it named, the team asked for, how many.
func TestListClientsNamesAudited(t *testing.T) {
	w := newWorld(t)
	sam, err := w.svc.CreateClient(w.ctx, w.supA1, NewClient{TeamID: w.teamA1, GivenName: "Sam", FamilyName: "Jones", Pathway: "licence"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := w.svc.ListClients(w.ctx, w.supA1, "")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, c := range got {
		names[c.ID] = c.DisplayName + "/" + c.Status
	}
	if want := map[string]string{w.clientA1: "Alex Smith/active", sam: "Sam Jones/active"}; len(names) != 2 || names[w.clientA1] != want[w.clientA1] || names[sam] != want[sam] {
		t.Errorf("clients %v, want %v", names, want)
	}
	var entries []*store.Audit
	if err := w.st.DirectoryView(w.ctx, func(tx store.DirTx) error {
		var err error
		entries, err = tx.AuditOfUser(w.areaA, w.supA1.UserID, 0, 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	last := entries[len(entries)-1]
	ids := slices.Sorted(slices.Values([]string{w.clientA1, sam}))
	if last.Action != store.AuditListClients || last.Count != 2 || !slices.Equal(slices.Sorted(slices.Values(last.ClientIDs)), ids) {
		t.Errorf("last entry %+v, want list_clients of %v", last, ids)
	}
}

// refusingWriter is an engine whose writes are all refused.
type refusingWriter struct{ Writer }

func (refusingWriter) WriteAudited(_ context.Context, _ *store.Audit, changes []*v1.Change, _ func(*v1.Change, *v1.RecordState) syncengine.Decision) (*syncengine.PushResult, error) {
	res := &syncengine.PushResult{}
	for range changes {
		res.Results = append(res.Results, syncengine.Result{Verdict: v1.Verdict_VERDICT_REJECTED, Reason: v1.RejectReason_REJECT_REASON_NOT_FOUND})
	}
	return res, nil
}

// A close the engine refuses is a typed error the API maps (a failed
// precondition), not an internal one.
func TestCloseClientRefusedIsTyped(t *testing.T) {
	w := newWorld(t)
	svc, err := New(Config{Store: w.st, Sessions: w.sessions, Writer: refusingWriter{w.eng}, Devices: w.devices, Now: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	err = svc.CloseClient(w.ctx, w.supA1, w.clientA1)
	var e *errkind.Error
	if !errors.As(err, &e) || e.Kind != errkind.Precondition {
		t.Fatalf("refused close: %v, want a Precondition error", err)
	}
}
