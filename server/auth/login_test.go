package auth_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/servertest/fixture"
	"github.com/throughcare/throughcare/server/store"
)

func TestLoginWritesBackCounterAndReplacesTheDeviceSession(t *testing.T) {
	e := newEnv(t)
	pk, first := e.newPerson(t, "worker", teamA, "Sam")
	pk.cred.Counter = 41 // the next sign-in sends 42
	e.clock.Advance(time.Minute)
	sess := e.mustLogin(t, pk)
	switch {
	case sess.GetUserId() != first.GetUserId() || sess.GetDeviceId() != first.GetDeviceId():
		t.Fatalf("signed in as %s/%s, want %s/%s", sess.GetUserId(), sess.GetDeviceId(), first.GetUserId(), first.GetDeviceId())
	case sess.GetAccessToken() == first.GetAccessToken() || sess.GetRefreshToken() == first.GetRefreshToken():
		t.Fatal("sign-in reused the earlier tokens")
	}
	d := e.device(t, sess.GetDeviceId())
	var cred webauthn.Credential
	if err := json.Unmarshal(d.Credential, &cred); err != nil {
		t.Fatal(err)
	}
	if cred.Authenticator.SignCount != 42 || !d.LastUsedAt.Equal(e.clock.Now()) {
		t.Fatalf("sign count %d, last used %v: not written back", cred.Authenticator.SignCount, d.LastUsedAt)
	}
	e.mustIdentify(t, sess.GetAccessToken())
	_, err := e.identify(first.GetAccessToken())
	wantUnauthenticated(t, "the device's earlier session", err)
	_, err = e.svc.Refresh(context.Background(), first.GetRefreshToken())
	wantKind(t, "the earlier refresh token", err, errkind.Unauthenticated, msgSessionGo)
}

func TestLoginRefused(t *testing.T) {
	tests := []struct {
		name string
		// setup prepares the case and returns the passkey to sign in with
		// and the relying party the client believes it talks to.
		setup func(t *testing.T, e *env, pk, other *passkey) (*passkey, virtualwebauthn.RelyingParty)
		// reason is the refusal's category in the log.
		reason string
		// audited: the assertion is signed with a user's passkey, so the
		// refusal is in their area's audit trail (an unknown passkey or a
		// forged signature is only logged).
		audited bool
	}{
		{"wrong_origin", func(_ *testing.T, _ *env, pk, _ *passkey) (*passkey, virtualwebauthn.RelyingParty) {
			return pk, virtualwebauthn.RelyingParty{ID: rpID, Origin: "https://throughcare.test.evil.example"}
		}, "verification_failed", true},
		{"wrong_rp_id", func(_ *testing.T, _ *env, pk, _ *passkey) (*passkey, virtualwebauthn.RelyingParty) {
			return pk, virtualwebauthn.RelyingParty{ID: "evil.test", Origin: rpOrigin}
		}, "verification_failed", true},
		{"user_not_verified", func(_ *testing.T, _ *env, pk, _ *passkey) (*passkey, virtualwebauthn.RelyingParty) {
			pk.auth.Options.UserNotVerified = true
			return pk, goodRP
		}, "verification_failed", true},
		{"other_users_handle", func(_ *testing.T, _ *env, pk, other *passkey) (*passkey, virtualwebauthn.RelyingParty) {
			pk.auth.Options.UserHandle = other.auth.Options.UserHandle
			return pk, goodRP
		}, "unknown_credential", false},
		{"unknown_handle", func(_ *testing.T, _ *env, pk, _ *passkey) (*passkey, virtualwebauthn.RelyingParty) {
			pk.auth.Options.UserHandle = make([]byte, 64)
			return pk, goodRP
		}, "unknown_credential", false},
		{"unknown_credential", func(_ *testing.T, _ *env, pk, _ *passkey) (*passkey, virtualwebauthn.RelyingParty) {
			pk.cred = newCredential(t)
			return pk, goodRP
		}, "unknown_credential", false},
		{"sign_count_backwards", func(t *testing.T, e *env, pk, _ *passkey) (*passkey, virtualwebauthn.RelyingParty) {
			pk.cred.Counter = 9
			e.mustLogin(t, pk) // stored count 10
			pk.cred.Counter = 5
			return pk, goodRP
		}, "sign_count", true},
		{"sign_count_stalled", func(t *testing.T, e *env, pk, _ *passkey) (*passkey, virtualwebauthn.RelyingParty) {
			e.mustLogin(t, pk) // stored count 1
			pk.cred.Counter = 0
			return pk, goodRP
		}, "sign_count", true},
		{"backup_eligibility_changed", func(_ *testing.T, _ *env, pk, _ *passkey) (*passkey, virtualwebauthn.RelyingParty) {
			pk.auth.Options.BackupEligible = true
			return pk, goodRP
		}, "verification_failed", true},
		{"forged_signature", func(t *testing.T, _ *env, pk, _ *passkey) (*passkey, virtualwebauthn.RelyingParty) {
			return forge(t, pk), goodRP // anyone who knows the credential id and handle
		}, "verification_failed", false},
		{"forged_on_revoked_device", func(t *testing.T, e *env, pk, _ *passkey) (*passkey, virtualwebauthn.RelyingParty) {
			revoke(t, e, pk)
			return forge(t, pk), goodRP
		}, "device_revoked", false},
		{"forged_for_disabled_user", func(t *testing.T, e *env, pk, _ *passkey) (*passkey, virtualwebauthn.RelyingParty) {
			disable(t, e, pk)
			return forge(t, pk), goodRP
		}, "user_disabled", false},
		{"revoked_device", func(t *testing.T, e *env, pk, _ *passkey) (*passkey, virtualwebauthn.RelyingParty) {
			revoke(t, e, pk)
			return pk, goodRP
		}, "device_revoked", true},
		{"disabled_user", func(t *testing.T, e *env, pk, _ *passkey) (*passkey, virtualwebauthn.RelyingParty) {
			disable(t, e, pk)
			return pk, goodRP
		}, "user_disabled", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			pk, _ := e.newPerson(t, "worker", teamA, "Sam")
			other, _ := e.newPerson(t, "worker", teamA, "Alex")
			pk, rp := tc.setup(t, e, pk, other)
			begin, err := e.svc.BeginLogin(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.svc.FinishLogin(context.Background(), begin.GetCeremonyId(), assertion(t, rp, pk, begin.GetOptionsJson()))
			wantKind(t, "FinishLogin", err, errkind.Unauthenticated, msgVerify)
			if want := `"reason":"` + tc.reason + `"`; !strings.Contains(lastLine(e.logs.String()), want) {
				t.Fatalf("last log line %s lacks %s", lastLine(e.logs.String()), want)
			}
			var refused []*store.Audit
			for _, a := range fixture.AreaAudit(t, e.st, areaID) {
				if a.Action == store.AuditSignInRefused {
					refused = append(refused, a)
				}
			}
			switch {
			case !tc.audited && len(refused) != 0:
				t.Fatalf("a refusal not signed with the user's passkey is in the audit trail: %+v", refused)
			case tc.audited && (len(refused) != 1 || refused[0].UserID == "" || refused[0].DeviceID == "" || refused[0].Role != "worker"):
				t.Fatalf("refused sign-ins in the audit trail = %+v, want one, Sam's, on Sam's device", refused)
			}
		})
	}
}

// forge is pk's credential id signed with another key: an assertion anyone
// who has seen the id and the user handle can make.
func forge(t *testing.T, pk *passkey) *passkey {
	t.Helper()
	other := newCredential(t)
	other.ID, other.Counter = pk.cred.ID, pk.cred.Counter
	return &passkey{auth: pk.auth, cred: other}
}

// revoke revokes pk's device.
func revoke(t *testing.T, e *env, pk *passkey) {
	t.Helper()
	e.dir(t, func(tx store.DirTx) error {
		d, err := tx.DeviceByCredential(pk.cred.ID)
		if err != nil {
			return err
		}
		d.RevokedAt = e.clock.Now()
		return tx.PutDevice(d)
	})
}

// disable disables pk's user.
func disable(t *testing.T, e *env, pk *passkey) {
	t.Helper()
	e.dir(t, func(tx store.DirTx) error {
		u, err := tx.UserByHandle(pk.auth.Options.UserHandle)
		if err != nil {
			return err
		}
		u.Disabled = true
		return tx.PutUser(u)
	})
}

func TestRefusedSignCountIsLoggedAndNotStored(t *testing.T) {
	e := newEnv(t)
	pk, sess := e.newPerson(t, "worker", teamA, "Sam")
	pk.cred.Counter = 9
	e.mustLogin(t, pk)
	pk.cred.Counter = 3
	if _, err := e.login(t, pk); err == nil {
		t.Fatal("a sign count going backwards was accepted")
	}
	if !strings.Contains(e.logs.String(), `"level":"warn"`) || !strings.Contains(e.logs.String(), `"reason":"sign_count"`) {
		t.Fatalf("no warning logged:\n%s", e.logs)
	}
	var cred webauthn.Credential
	if err := json.Unmarshal(e.device(t, sess.GetDeviceId()).Credential, &cred); err != nil {
		t.Fatal(err)
	}
	if cred.Authenticator.SignCount != 10 || cred.Authenticator.CloneWarning {
		t.Fatalf("stored authenticator = %+v after a refused sign-in", cred.Authenticator)
	}
	pk.cred.Counter = 10 // the real authenticator carries on
	e.mustLogin(t, pk)
}

func TestLoginCeremonyIsSingleUseAndExpires(t *testing.T) {
	e := newEnv(t)
	pk, _ := e.newPerson(t, "worker", teamA, "Sam")
	ctx := context.Background()

	begin, _ := e.svc.BeginLogin(ctx)
	resp := assertion(t, goodRP, pk, begin.GetOptionsJson())
	if _, err := e.svc.FinishLogin(ctx, begin.GetCeremonyId(), resp); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.FinishLogin(ctx, begin.GetCeremonyId(), resp)
	wantKind(t, "reused ceremony", err, errkind.Precondition, msgCeremony)

	// The same assertion replayed against a new ceremony: wrong challenge.
	again, _ := e.svc.BeginLogin(ctx)
	_, err = e.svc.FinishLogin(ctx, again.GetCeremonyId(), resp)
	wantKind(t, "replayed assertion", err, errkind.Unauthenticated, msgVerify)

	late, _ := e.svc.BeginLogin(ctx)
	resp = assertion(t, goodRP, pk, late.GetOptionsJson())
	e.clock.Advance(3 * time.Minute)
	_, err = e.svc.FinishLogin(ctx, late.GetCeremonyId(), resp)
	wantKind(t, "expired ceremony", err, errkind.Precondition, msgCeremony)

	_, err = e.svc.FinishLogin(ctx, "", resp)
	wantKind(t, "no ceremony", err, errkind.Precondition, msgCeremony)

	// An enrolment ceremony does not finish a sign-in.
	code := e.invite(t, "worker", teamA, "Alex", time.Hour)
	enrol, err := e.svc.BeginEnrollment(ctx, code, "tablet")
	if err != nil {
		t.Fatal(err)
	}
	fresh, _ := e.svc.BeginLogin(ctx)
	_, err = e.svc.FinishLogin(ctx, enrol.GetCeremonyId(), assertion(t, goodRP, pk, fresh.GetOptionsJson()))
	wantKind(t, "enrolment ceremony", err, errkind.Precondition, msgCeremony)
}

func TestChallengesAreUnique(t *testing.T) {
	e := newEnv(t)
	seen := map[string]bool{}
	for range 500 {
		begin, err := e.svc.BeginLogin(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		so, err := virtualwebauthn.ParseAssertionOptions(begin.GetOptionsJson())
		if err != nil {
			t.Fatal(err)
		}
		if len(so.Challenge) < 16 || seen[string(so.Challenge)] || seen[begin.GetCeremonyId()] {
			t.Fatal("challenge or ceremony id repeated, or too short")
		}
		seen[string(so.Challenge)], seen[begin.GetCeremonyId()] = true, true
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
