package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/throughcare/throughcare/server/auth"
	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// syncedOpts is how a platform passkey (Android, iOS) is made: backup
// eligible and backed up, so the platform copies it to the person's other
// devices.
var syncedOpts = virtualwebauthn.AuthenticatorOptions{BackupEligible: true, BackupState: true}

// enrollWith enrols a new person with a passkey made with opts.
func (e *env) enrollWith(t *testing.T, opts virtualwebauthn.AuthenticatorOptions, name string) (*passkey, *v1.Session) {
	t.Helper()
	code := e.invite(t, "worker", teamA, name, time.Hour)
	begin, err := e.svc.BeginEnrollment(context.Background(), code, "Outreach tablet 3")
	if err != nil {
		t.Fatalf("BeginEnrollment: %v", err)
	}
	pk, resp := attest(t, goodRP, opts, begin.GetOptionsJson())
	sess, err := e.svc.FinishEnrollment(context.Background(), begin.GetCeremonyId(), resp)
	if err != nil {
		var de *errkind.Error
		errors.As(err, &de)
		t.Fatalf("FinishEnrollment: %v (%v)", err, de.Cause)
	}
	return pk, sess
}

// loginAs signs in with pk, sending a device id and name. A synced passkey
// keeps no sign count: it answers 0 every time, so counter is false for it.
func (e *env) loginAs(t *testing.T, pk *passkey, counter bool, deviceID, deviceName string) (*v1.Session, error) {
	t.Helper()
	ctx := context.Background()
	begin, err := e.svc.BeginLogin(ctx)
	if err != nil {
		t.Fatalf("BeginLogin: %v", err)
	}
	so, err := virtualwebauthn.ParseAssertionOptions(begin.GetOptionsJson())
	if err != nil {
		t.Fatal(err)
	}
	if counter {
		pk.cred.Counter++
	}
	resp := virtualwebauthn.CreateAssertionResponse(goodRP, pk.auth, pk.cred, *so)
	return e.svc.FinishLoginWith(ctx, auth.LoginRequest{CeremonyID: begin.GetCeremonyId(), CredentialJSON: resp,
		DeviceID: deviceID, DeviceName: deviceName})
}

func (e *env) mustLoginAs(t *testing.T, pk *passkey, counter bool, deviceID, deviceName string) *v1.Session {
	t.Helper()
	s, err := e.loginAs(t, pk, counter, deviceID, deviceName)
	if err != nil {
		var de *errkind.Error
		errors.As(err, &de)
		t.Fatalf("FinishLogin: %v (%v)", err, de)
	}
	return s
}

// storedCredential reads the WebAuthn credential a device holds.
func (e *env) storedCredential(t *testing.T, deviceID string) webauthn.Credential {
	t.Helper()
	var cred webauthn.Credential
	if err := json.Unmarshal(e.device(t, deviceID).Credential, &cred); err != nil {
		t.Fatal(err)
	}
	return cred
}

func (e *env) devicesOf(t *testing.T, userID string) []string {
	t.Helper()
	var ids []string
	if err := e.st.DirectoryView(context.Background(), func(tx store.DirTx) error {
		ids = tx.DevicesOfUser(userID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestSyncedPasskeySignsInOnAnotherTablet(t *testing.T) {
	e := newEnv(t)
	pk, enrolled := e.enrollWith(t, syncedOpts, "Sam")
	primary := enrolled.GetDeviceId()
	tabletA := e.mustLoginAs(t, pk, false, primary, "")
	if tabletA.GetDeviceId() != primary {
		t.Fatalf("tablet A signed in as %s, want its own id %s", tabletA.GetDeviceId(), primary)
	}

	// Tablet B has the same passkey (the platform synced it) and has never
	// signed in: it becomes a device of its own.
	e.clock.Advance(time.Minute)
	tabletB := e.mustLoginAs(t, pk, false, "", "")
	b := tabletB.GetDeviceId()
	if b == primary || !isUUID(b) || tabletB.GetUserId() != enrolled.GetUserId() {
		t.Fatalf("tablet B signed in as %s/%s; want a new device of user %s", tabletB.GetUserId(), b, enrolled.GetUserId())
	}
	e.mustIdentify(t, tabletA.GetAccessToken()) // tablet A keeps its session
	if id := e.mustIdentify(t, tabletB.GetAccessToken()); id.DeviceID != b {
		t.Fatalf("tablet B identifies as device %s", id.DeviceID)
	}
	d := e.device(t, b)
	p := e.device(t, primary)
	switch {
	case d.PrimaryID != primary || d.Credential != nil || string(d.CredentialID) != string(p.CredentialID):
		t.Fatalf("installation = %+v; want PrimaryID %s, the primary's credential id, no credential", d, primary)
	case d.Name != "Outreach tablet 3 (another device)" || d.UserID != p.UserID:
		t.Fatalf("installation name %q user %s", d.Name, d.UserID)
	case !d.CreatedAt.Equal(e.clock.Now()) || !d.LastUsedAt.Equal(e.clock.Now()):
		t.Fatalf("installation created %v, last used %v", d.CreatedAt, d.LastUsedAt)
	case !p.IsPrimary() || p.LastUsedAt.Equal(e.clock.Now()):
		t.Fatalf("primary = %+v: its own last use moved with tablet B's sign-in", p)
	}

	// Tablet C names itself.
	tabletC := e.mustLoginAs(t, pk, false, "", "Van laptop")
	if c := e.device(t, tabletC.GetDeviceId()); c.Name != "Van laptop" || c.ID == b || c.ID == primary {
		t.Fatalf("tablet C = %+v", c)
	}

	// Each tablet signs in again with its device id and stays itself;
	// only its own earlier session ends.
	againA := e.mustLoginAs(t, pk, false, primary, "ignored")
	againB := e.mustLoginAs(t, pk, false, b, "")
	if againA.GetDeviceId() != primary || againB.GetDeviceId() != b {
		t.Fatalf("re-sign-ins as %s and %s, want %s and %s", againA.GetDeviceId(), againB.GetDeviceId(), primary, b)
	}
	for what, tok := range map[string]string{"tablet A's first session": tabletA.GetAccessToken(), "tablet B's first session": tabletB.GetAccessToken()} {
		_, err := e.identify(tok)
		wantUnauthenticated(t, what, err)
	}
	for _, tok := range []string{againA.GetAccessToken(), againB.GetAccessToken(), tabletC.GetAccessToken()} {
		e.mustIdentify(t, tok)
	}
	if e.device(t, primary).Name != "Outreach tablet 3" {
		t.Fatal("a device name sent with a known device id renamed it")
	}

	// The synced passkey answered 0 every time: accepted, stored as 0, and
	// kept on the primary only.
	if cred := e.storedCredential(t, primary); cred.Authenticator.SignCount != 0 || cred.Authenticator.CloneWarning ||
		!cred.Flags.BackupEligible || !cred.Flags.BackupState {
		t.Fatalf("stored credential = %+v %+v", cred.Authenticator, cred.Flags)
	}

	// ListDevices shows every installation, and which one is calling.
	devices, err := e.svc.ListDevices(context.Background(), e.mustIdentify(t, againB.GetAccessToken()))
	if err != nil {
		t.Fatal(err)
	}
	if len(devices) != 3 || devices[0].GetDeviceId() != primary {
		t.Fatalf("ListDevices = %v", devices)
	}
	for _, dev := range devices {
		if dev.GetCurrent() != (dev.GetDeviceId() == b) {
			t.Fatalf("device %s current = %v", dev.GetDeviceId(), dev.GetCurrent())
		}
	}
}

func TestDeviceBoundPasskeySignsInAsItsDevice(t *testing.T) {
	e := newEnv(t)
	pk, enrolled := e.newPerson(t, "worker", teamA, "Sam")
	for _, id := range []string{"", enrolled.GetDeviceId()} {
		s := e.mustLoginAs(t, pk, true, id, "Another name")
		if s.GetDeviceId() != enrolled.GetDeviceId() {
			t.Fatalf("device_id %q: signed in as %s, want the primary %s", id, s.GetDeviceId(), enrolled.GetDeviceId())
		}
	}
	if n := len(e.devicesOf(t, enrolled.GetUserId())); n != 1 {
		t.Fatalf("%d devices after device-bound sign-ins, want 1", n)
	}
	if e.device(t, enrolled.GetDeviceId()).Name != "Outreach tablet 3" {
		t.Fatal("device renamed")
	}
}

// A passkey that keeps no count (0 at enrolment, 0 at every sign-in) is not
// taken for a clone.
func TestSignCountZeroStaysZero(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts virtualwebauthn.AuthenticatorOptions
	}{{"device_bound", virtualwebauthn.AuthenticatorOptions{}}, {"synced", syncedOpts}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			pk, enrolled := e.enrollWith(t, tc.opts, "Sam")
			for range 3 {
				s := e.mustLoginAs(t, pk, false, enrolled.GetDeviceId(), "")
				if s.GetDeviceId() != enrolled.GetDeviceId() {
					t.Fatalf("signed in as %s", s.GetDeviceId())
				}
				if cred := e.storedCredential(t, enrolled.GetDeviceId()); cred.Authenticator.SignCount != 0 || cred.Authenticator.CloneWarning {
					t.Fatalf("stored authenticator = %+v", cred.Authenticator)
				}
			}
			// Once a count has been seen, 0 is a count going backwards.
			pk.cred.Counter = 4
			e.mustLoginAs(t, pk, false, enrolled.GetDeviceId(), "")
			pk.cred.Counter = 0
			_, err := e.loginAs(t, pk, false, enrolled.GetDeviceId(), "")
			wantKind(t, "0 after 4", err, errkind.Unauthenticated, msgVerify)
		})
	}
}

func TestDeviceIDRefused(t *testing.T) {
	tests := []struct {
		name string
		// deviceID returns the id tablet B sends.
		deviceID func(t *testing.T, e *env, pk *passkey, enrolled *v1.Session) string
		reason   string
	}{
		{"another_users_device", func(t *testing.T, e *env, _ *passkey, _ *v1.Session) string {
			_, other := e.enrollWith(t, syncedOpts, "Alex")
			return other.GetDeviceId()
		}, "device_id_unknown"},
		{"another_users_installation", func(t *testing.T, e *env, _ *passkey, _ *v1.Session) string {
			opk, _ := e.enrollWith(t, syncedOpts, "Alex")
			return e.mustLoginAs(t, opk, false, "", "").GetDeviceId()
		}, "device_id_unknown"},
		{"another_passkeys_device", func(t *testing.T, e *env, _ *passkey, enrolled *v1.Session) string {
			id := uuid.NewString()
			e.dir(t, func(tx store.DirTx) error {
				return tx.PutDevice(&store.Device{ID: id, UserID: enrolled.GetUserId(), Name: "Old phone",
					CredentialID: []byte("another credential"), Credential: []byte("{}"), CreatedAt: e.clock.Now()})
			})
			return id
		}, "device_id_unknown"},
		{"unknown", func(*testing.T, *env, *passkey, *v1.Session) string { return uuid.NewString() }, "device_id_unknown"},
		{"malformed", func(*testing.T, *env, *passkey, *v1.Session) string { return "../" + strings.Repeat("x", 40) }, "device_id_unknown"},
		{"not_canonical", func(_ *testing.T, _ *env, _ *passkey, enrolled *v1.Session) string {
			return strings.ToUpper(enrolled.GetDeviceId())
		}, "device_id_unknown"},
		{"revoked_installation", func(t *testing.T, e *env, pk *passkey, enrolled *v1.Session) string {
			b := e.mustLoginAs(t, pk, false, "", "")
			me := e.mustIdentify(t, enrolled.GetAccessToken())
			bID := e.mustIdentify(t, b.GetAccessToken())
			if err := e.svc.RevokeDevice(context.Background(), me, b.GetDeviceId()); err != nil {
				t.Fatal(err)
			}
			// Only the installation's sessions end.
			waitClosed(t, "the revoked installation's Ended", bID.Ended)
			_, err := e.identify(b.GetAccessToken())
			wantUnauthenticated(t, "the revoked installation's session", err)
			_, err = e.svc.Refresh(context.Background(), b.GetRefreshToken())
			wantKind(t, "the revoked installation's refresh", err, errkind.Unauthenticated, msgSessionGo)
			if closed(me.Ended) {
				t.Fatal("revoking an installation ended the primary's session")
			}
			e.mustIdentify(t, enrolled.GetAccessToken())
			if !e.device(t, enrolled.GetDeviceId()).RevokedAt.IsZero() {
				t.Fatal("revoking an installation revoked the primary")
			}
			return b.GetDeviceId()
		}, "device_id_revoked"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			pk, enrolled := e.enrollWith(t, syncedOpts, "Sam")
			id := tc.deviceID(t, e, pk, enrolled)
			before := len(e.devicesOf(t, enrolled.GetUserId()))
			_, err := e.loginAs(t, pk, false, id, "")
			wantKind(t, "FinishLogin", err, errkind.Unauthenticated, msgVerify)
			line := lastLine(e.logs.String())
			if want := `"reason":"` + tc.reason + `"`; !strings.Contains(line, want) {
				t.Fatalf("last log line %s lacks %s", line, want)
			}
			if strings.Contains(strings.ToLower(line), strings.ToLower(id)) {
				t.Fatalf("the refused device id reached the log: %s", line)
			}
			if after := len(e.devicesOf(t, enrolled.GetUserId())); after != before {
				t.Fatalf("a refused sign-in added a device (%d → %d)", before, after)
			}
			e.mustIdentify(t, enrolled.GetAccessToken()) // nothing else changed
			// The passkey still works without the bad id.
			e.mustLoginAs(t, pk, false, enrolled.GetDeviceId(), "")
		})
	}
}

func TestRevokingThePrimaryEndsEveryInstallation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	pk, enrolled := e.enrollWith(t, syncedOpts, "Sam")
	b := e.mustLoginAs(t, pk, false, "", "")
	c := e.mustLoginAs(t, pk, false, "", "")
	bID, cID := e.mustIdentify(t, b.GetAccessToken()), e.mustIdentify(t, c.GetAccessToken())
	aID := e.mustIdentify(t, enrolled.GetAccessToken())

	// Tablet B revokes the (lost) tablet the passkey was enrolled on.
	if err := e.svc.RevokeDevice(ctx, bID, enrolled.GetDeviceId()); err != nil {
		t.Fatal(err)
	}
	for what, ch := range map[string]<-chan struct{}{"A": aID.Ended, "B": bID.Ended, "C": cID.Ended} {
		waitClosed(t, "tablet "+what+"'s Ended", ch)
	}
	for _, s := range []*v1.Session{enrolled, b, c} {
		_, err := e.identify(s.GetAccessToken())
		wantUnauthenticated(t, "a session of the revoked passkey", err)
		_, err = e.svc.Refresh(ctx, s.GetRefreshToken())
		wantKind(t, "a refresh of the revoked passkey", err, errkind.Unauthenticated, msgSessionGo)
		if e.device(t, s.GetDeviceId()).RevokedAt.IsZero() {
			t.Fatalf("device %s not revoked with its primary", s.GetDeviceId())
		}
	}
	for _, id := range []string{"", enrolled.GetDeviceId(), b.GetDeviceId()} {
		_, err := e.loginAs(t, pk, false, id, "")
		wantKind(t, "signing in with the revoked passkey", err, errkind.Unauthenticated, msgVerify)
		if !strings.Contains(lastLine(e.logs.String()), `"reason":"device_revoked"`) {
			t.Fatalf("last log line %s", lastLine(e.logs.String()))
		}
	}
}

// If a primary is revoked without its installations (a store written
// otherwise than by RevokeDevice), the installations' sessions still stop
// working.
func TestIdentifyChecksTheInstallationsPrimary(t *testing.T) {
	e := newEnv(t)
	pk, enrolled := e.enrollWith(t, syncedOpts, "Sam")
	b := e.mustLoginAs(t, pk, false, "", "")
	e.dir(t, func(tx store.DirTx) error {
		d, err := tx.Device(enrolled.GetDeviceId())
		if err != nil {
			return err
		}
		d.RevokedAt = e.clock.Now()
		return tx.PutDevice(d)
	})
	_, err := e.identify(b.GetAccessToken())
	wantUnauthenticated(t, "an installation of a revoked primary", err)
	if !strings.Contains(err.Error(), "device_revoked") {
		t.Fatalf("error %v", err)
	}
}

func TestLoginDeviceNameTooLong(t *testing.T) {
	e := newEnv(t)
	pk, _ := e.enrollWith(t, syncedOpts, "Sam")
	_, err := e.loginAs(t, pk, false, "", strings.Repeat("é", 101))
	wantKind(t, "long device name", err, errkind.Invalid, "")
	s := e.mustLoginAs(t, pk, false, "", "  "+strings.Repeat("é", 100)+" ")
	if got := e.device(t, s.GetDeviceId()).Name; got != strings.Repeat("é", 100) {
		t.Fatalf("name %q", got)
	}
}
