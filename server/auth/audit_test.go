package auth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/throughcare/throughcare/server/audit"
	"github.com/throughcare/throughcare/server/auth"
	"github.com/throughcare/throughcare/server/servertest/fixture"
	"github.com/throughcare/throughcare/server/store"
)

// Enrolment, sign-in and device revocation each leave an audit entry: who,
// in which role, which device, from which address; so does a refused
// sign-in with a user's passkey (TestLoginRefused has every kind).
func TestAuthEventsAreAudited(t *testing.T) {
	e := newEnv(t)
	pk, first := e.newPerson(t, "worker", teamA, "Sam")
	ctx := audit.WithAddress(context.Background(), "198.51.100.4")
	begin, err := e.svc.BeginLogin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := e.svc.FinishLogin(ctx, begin.GetCeremonyId(), assertion(t, goodRP, pk, begin.GetOptionsJson()))
	if err != nil {
		t.Fatal(err)
	}
	e.newPerson(t, "worker", teamB, "Alex") // someone else enrols meanwhile
	if err := e.svc.RevokeDevice(ctx, e.mustIdentify(t, sess.GetAccessToken()), first.GetDeviceId()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.login(t, pk); err == nil {
		t.Fatal("sign-in with a revoked device worked")
	}
	got := fixture.AreaAudit(t, e.st, areaID)
	want := []struct {
		action          store.AuditAction
		user, device    string
		address, record string
	}{
		{store.AuditEnrol, first.GetUserId(), first.GetDeviceId(), "", ""},
		{store.AuditSignIn, first.GetUserId(), sess.GetDeviceId(), "198.51.100.4", ""},
		{store.AuditEnrol, "", "", "", ""},
		{store.AuditRevokeDevice, first.GetUserId(), sess.GetDeviceId(), "198.51.100.4", first.GetDeviceId()},
		{store.AuditSignInRefused, first.GetUserId(), first.GetDeviceId(), "", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Action != w.action || g.Role != "worker" || (w.user != "" && (g.UserID != w.user || g.DeviceID != w.device)) ||
			g.Address != w.address || g.RecordID != w.record && w.record != "" {
			t.Errorf("entry %d = %+v, want %v by %s on %s from %q", i, g, w.action, w.user, w.device, w.address)
		}
	}
	if got[0].RecordID == "" || got[0].TeamID != teamA {
		t.Errorf("enrolment entry %+v, want the invite's id and team", got[0])
	}
}

// brokenAudit cannot append audit entries.
type brokenAudit struct{ store.DirectoryStore }

var errAuditDown = errors.New("audit trail unavailable")

func (b brokenAudit) Directory(ctx context.Context, fn func(tx store.DirTx) error) error {
	return b.DirectoryStore.Directory(ctx, func(tx store.DirTx) error { return fn(brokenTx{tx}) })
}

type brokenTx struct{ store.DirTx }

func (brokenTx) AppendAudit(*store.Audit) error { return errAuditDown }

// If the sign-in's audit entry cannot be written, there is no sign-in.
func TestNoAuditNoSignIn(t *testing.T) {
	e := newEnv(t)
	pk, first := e.newPerson(t, "worker", teamA, "Sam")
	broken, err := auth.New(e.cfg, brokenAudit{e.st})
	if err != nil {
		t.Fatal(err)
	}
	var before int
	e.dir(t, func(tx store.DirTx) error { before = len(tx.SessionsOfUser(first.GetUserId())); return nil })
	begin, err := broken.BeginLogin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sess, err := broken.FinishLogin(context.Background(), begin.GetCeremonyId(), assertion(t, goodRP, pk, begin.GetOptionsJson()))
	if !errors.Is(err, errAuditDown) || sess != nil {
		t.Fatalf("FinishLogin with the audit down = %v, %v; want no session and its error", sess, err)
	}
	var after int
	e.dir(t, func(tx store.DirTx) error { after = len(tx.SessionsOfUser(first.GetUserId())); return nil })
	if after != before {
		t.Errorf("sessions %d → %d: the failed sign-in kept one", before, after)
	}
}
