package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/throughcare/throughcare/server/auth"
	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

func TestEnrollmentCreatesUserDeviceAndSession(t *testing.T) {
	e := newEnv(t)
	code := e.invite(t, "worker", teamA, "Sam Worker", time.Hour)
	begin, err := e.svc.BeginEnrollment(context.Background(), code, "Outreach tablet 3")
	if err != nil {
		t.Fatal(err)
	}
	var opts struct {
		PublicKey struct {
			RP   struct{ ID string }
			User struct {
				ID string `json:"id"`
			}
			Timeout                int
			Attestation            string
			AuthenticatorSelection struct {
				ResidentKey        string `json:"residentKey"`
				RequireResidentKey bool   `json:"requireResidentKey"`
				UserVerification   string `json:"userVerification"`
			} `json:"authenticatorSelection"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal([]byte(begin.GetOptionsJson()), &opts); err != nil {
		t.Fatal(err)
	}
	pkOpts := opts.PublicKey
	handle, err := base64.RawURLEncoding.DecodeString(pkOpts.User.ID)
	switch {
	case err != nil || len(handle) != 64:
		t.Fatalf("user handle = %d bytes (%v), want 64 random bytes", len(handle), err)
	case pkOpts.RP.ID != rpID:
		t.Fatalf("rp.id = %q", pkOpts.RP.ID)
	case pkOpts.AuthenticatorSelection.ResidentKey != "required" || !pkOpts.AuthenticatorSelection.RequireResidentKey:
		t.Fatalf("resident key not required: %+v", pkOpts.AuthenticatorSelection)
	case pkOpts.AuthenticatorSelection.UserVerification != "required":
		t.Fatalf("user verification = %q, want required", pkOpts.AuthenticatorSelection.UserVerification)
	case pkOpts.Attestation != "none":
		t.Fatalf("attestation = %q, want none", pkOpts.Attestation)
	case pkOpts.Timeout != int((3 * time.Minute).Milliseconds()):
		t.Fatalf("timeout = %d ms, want the ceremony TTL", pkOpts.Timeout)
	case !isUUID(begin.GetCeremonyId()):
		t.Fatalf("ceremony id %q is not a UUID", begin.GetCeremonyId())
	}

	pk, resp := attest(t, goodRP, virtualwebauthn.AuthenticatorOptions{BackupEligible: true, BackupState: true}, begin.GetOptionsJson())
	sess, err := e.svc.FinishEnrollment(context.Background(), begin.GetCeremonyId(), resp)
	if err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	switch {
	case !strings.HasPrefix(sess.GetAccessToken(), auth.AccessPrefix) || !strings.HasPrefix(sess.GetRefreshToken(), auth.RefreshPrefix):
		t.Fatal("tokens lack their prefixes")
	case !isUUID(sess.GetUserId()) || !isUUID(sess.GetDeviceId()):
		t.Fatalf("user %q / device %q are not UUIDs", sess.GetUserId(), sess.GetDeviceId())
	case sess.GetRole() != v1.Role_ROLE_WORKER || sess.GetAreaId() != areaID:
		t.Fatalf("role %v area %q", sess.GetRole(), sess.GetAreaId())
	case !sess.GetAccessExpiresAt().AsTime().Equal(now.Add(15 * time.Minute)):
		t.Fatalf("access expires %v, want now+15m", sess.GetAccessExpiresAt().AsTime())
	case !sess.GetRefreshExpiresAt().AsTime().Equal(now.Add(14 * 24 * time.Hour)):
		t.Fatalf("refresh expires %v, want now+14d", sess.GetRefreshExpiresAt().AsTime())
	case !sess.GetAbsoluteExpiresAt().AsTime().Equal(now.Add(30 * 24 * time.Hour)):
		t.Fatalf("session expires %v, want now+30d", sess.GetAbsoluteExpiresAt().AsTime())
	}
	u := e.user(t, sess.GetUserId())
	switch {
	case u.DisplayName != "Sam Worker" || u.Role != "worker" || u.AreaID != areaID || len(u.TeamIDs) != 1 || u.TeamIDs[0] != teamA:
		t.Fatalf("user = %+v", u)
	case string(u.Handle) != string(handle):
		t.Fatal("the user's handle is not the one the ceremony sent")
	}
	d := e.device(t, sess.GetDeviceId())
	var cred webauthn.Credential
	if err := json.Unmarshal(d.Credential, &cred); err != nil {
		t.Fatal(err)
	}
	switch {
	case d.UserID != u.ID || d.Name != "Outreach tablet 3" || string(d.CredentialID) != string(pk.cred.ID):
		t.Fatalf("device = %+v", d)
	case !cred.Flags.UserVerified || !cred.Flags.BackupEligible || !cred.Flags.BackupState:
		t.Fatalf("credential flags = %+v, want UV, BE and BS stored", cred.Flags)
	}
	id := e.mustIdentify(t, sess.GetAccessToken())
	if id.UserID != u.ID || id.DeviceID != d.ID || id.Area != areaID || id.Role.String() != "worker" {
		t.Fatalf("identity = %+v", id)
	}
	// The invite is used up.
	_, err = e.svc.BeginEnrollment(context.Background(), code, "another")
	wantKind(t, "reused invite", err, errkind.NotFound, msgInvite)
}

func TestEnrollmentRefused(t *testing.T) {
	tests := []struct {
		name string
		// rp and opts make the attestation; mangle may change the request.
		rp        virtualwebauthn.RelyingParty
		opts      virtualwebauthn.AuthenticatorOptions
		before    func(t *testing.T, e *env, code string)
		mangle    func(ceremony, resp string) (string, string)
		inviteTTL time.Duration
		kind      errkind.Kind
		msg       string
	}{
		{name: "wrong_origin", rp: virtualwebauthn.RelyingParty{ID: rpID, Origin: "https://evil.test"}, kind: errkind.Unauthenticated, msg: msgVerify},
		{name: "wrong_rp_id", rp: virtualwebauthn.RelyingParty{ID: "evil.test", Origin: rpOrigin}, kind: errkind.Unauthenticated, msg: msgVerify},
		{name: "user_not_verified", rp: goodRP, opts: virtualwebauthn.AuthenticatorOptions{UserNotVerified: true}, kind: errkind.Unauthenticated, msg: msgVerify},
		{name: "backup_state_without_eligibility", rp: goodRP, opts: virtualwebauthn.AuthenticatorOptions{BackupState: true}, kind: errkind.Unauthenticated, msg: msgVerify},
		{name: "malformed_credential", rp: goodRP, mangle: func(c, _ string) (string, string) { return c, `{"id":"x"}` }, kind: errkind.Unauthenticated, msg: msgVerify},
		{name: "unknown_ceremony", rp: goodRP, mangle: func(_, r string) (string, string) { return "9b2f4c1e-0000-4000-8000-000000000000", r }, kind: errkind.Precondition, msg: msgCeremony},
		{name: "no_ceremony", rp: goodRP, mangle: func(_, r string) (string, string) { return "", r }, kind: errkind.Precondition, msg: msgCeremony},
		{name: "expired_ceremony", rp: goodRP, before: func(_ *testing.T, e *env, _ string) { e.clock.Advance(3 * time.Minute) }, kind: errkind.Precondition, msg: msgCeremony},
		{name: "invite_expired_during_ceremony", rp: goodRP, inviteTTL: time.Minute, before: func(_ *testing.T, e *env, _ string) { e.clock.Advance(time.Minute) }, kind: errkind.NotFound, msg: msgInvite},
		{name: "invite_used_during_ceremony", rp: goodRP, before: func(t *testing.T, e *env, code string) { e.enroll(t, code) }, kind: errkind.NotFound, msg: msgInvite},
		{name: "invite_revoked_during_ceremony", rp: goodRP, before: func(t *testing.T, e *env, code string) {
			e.dir(t, func(tx store.DirTx) error {
				in, err := tx.Invite(auth.HashSecret(code))
				if err != nil {
					return err
				}
				in.RevokedBy, in.RevokedAt = "admin-1", e.clock.Now()
				return tx.PutInvite(in)
			})
		}, kind: errkind.NotFound, msg: msgInvite},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ttl := tc.inviteTTL
			if ttl == 0 {
				ttl = time.Hour
			}
			code := e.invite(t, "worker", teamA, "Sam Worker", ttl)
			begin, err := e.svc.BeginEnrollment(context.Background(), code, "tablet")
			if err != nil {
				t.Fatal(err)
			}
			_, resp := attest(t, tc.rp, tc.opts, begin.GetOptionsJson())
			ceremony := begin.GetCeremonyId()
			if tc.before != nil {
				tc.before(t, e, code)
			}
			if tc.mangle != nil {
				ceremony, resp = tc.mangle(ceremony, resp)
			}
			users := e.usersOfArea(t)
			_, err = e.svc.FinishEnrollment(context.Background(), ceremony, resp)
			wantKind(t, "FinishEnrollment", err, tc.kind, tc.msg)
			if n := e.usersOfArea(t); n != users {
				t.Fatalf("a refused enrolment created a user (%d → %d)", users, n)
			}
			if ceremony == begin.GetCeremonyId() {
				// The ceremony is used up whatever happened.
				_, err = e.svc.FinishEnrollment(context.Background(), ceremony, resp)
				wantKind(t, "finish again", err, errkind.Precondition, msgCeremony)
			}
		})
	}
}

func TestEnrollmentInviteChecks(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.svc.BeginEnrollment(ctx, auth.NewInviteCode(), "tablet")
	wantKind(t, "unknown invite", err, errkind.NotFound, msgInvite)
	_, err = e.svc.BeginEnrollment(ctx, "", "tablet")
	wantKind(t, "empty invite", err, errkind.NotFound, msgInvite)
	code := e.invite(t, "worker", teamA, "Sam", time.Hour)
	_, err = e.svc.BeginEnrollment(ctx, code, "  ")
	wantKind(t, "no device name", err, errkind.Invalid, "")
	e.clock.Advance(time.Hour)
	_, err = e.svc.BeginEnrollment(ctx, code, "tablet")
	wantKind(t, "expired invite", err, errkind.NotFound, msgInvite)
	// An invite for an area that does not exist, or with a role that does
	// not, enrols nobody.
	bad := auth.NewInviteCode()
	e.dir(t, func(tx store.DirTx) error {
		return tx.PutInvite(&store.Invite{Hash: auth.HashSecret(bad), AreaID: "nowhere", Role: "worker", ExpiresAt: e.clock.Now().Add(time.Hour)})
	})
	_, err = e.svc.BeginEnrollment(ctx, bad, "tablet")
	wantKind(t, "invite to no area", err, errkind.NotFound, msgInvite)
	// A login ceremony does not finish an enrolment.
	code = e.invite(t, "worker", teamA, "Sam", time.Hour)
	begin, _ := e.svc.BeginEnrollment(ctx, code, "tablet")
	_, resp := attest(t, goodRP, virtualwebauthn.AuthenticatorOptions{}, begin.GetOptionsJson())
	login, err := e.svc.BeginLogin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.FinishEnrollment(ctx, login.GetCeremonyId(), resp)
	wantKind(t, "login ceremony", err, errkind.Precondition, msgCeremony)
	// A passkey registers once.
	if _, err := e.svc.FinishEnrollment(ctx, begin.GetCeremonyId(), resp); err != nil {
		t.Fatal(err)
	}
}

func TestInviteIsSingleUseUnderConcurrentFinishes(t *testing.T) {
	e := newEnv(t)
	code := e.invite(t, "supervisor", teamB, "Jo Supervisor", time.Hour)
	const n = 6
	ceremonies, responses := make([]string, n), make([]string, n)
	for i := range n {
		begin, err := e.svc.BeginEnrollment(context.Background(), code, "tablet")
		if err != nil {
			t.Fatal(err)
		}
		ceremonies[i] = begin.GetCeremonyId()
		_, responses[i] = attest(t, goodRP, virtualwebauthn.AuthenticatorOptions{}, begin.GetOptionsJson())
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { _, errs[i] = e.svc.FinishEnrollment(context.Background(), ceremonies[i], responses[i]) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			wantKind(t, "losing finish", err, errkind.NotFound, msgInvite)
		}
	}
	if ok != 1 || e.usersOfArea(t) != 1 {
		t.Fatalf("%d finishes succeeded and %d users exist, want exactly one", ok, e.usersOfArea(t))
	}
}
