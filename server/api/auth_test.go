package api_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/descope/virtualwebauthn"
	"github.com/google/uuid"

	"github.com/throughcare/throughcare/server/auth"
	"github.com/throughcare/throughcare/server/servertest"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
	"github.com/throughcare/throughcare/syncproto/sample"
)

var testRP = virtualwebauthn.RelyingParty{ID: servertest.RPID, Name: servertest.RPName, Origin: servertest.RPOrigin}

// authEnv is the whole server with passkey sessions as its identity source.
type authEnv struct {
	*servertest.Env
	opts []connect.ClientOption
}

func newAuthEnv(t *testing.T, opts ...connect.ClientOption) *authEnv {
	t.Helper()
	return &authEnv{Env: servertest.New(t, servertest.Options{Passkeys: true, Engine: syncengine.Config{Keepalive: time.Hour}}), opts: opts}
}

func (e *authEnv) authClient(token string) throughcarev1connect.AuthServiceClient {
	return e.AuthClient(token, e.opts...)
}

func (e *authEnv) syncClient(token string) throughcarev1connect.SyncServiceClient {
	return e.SyncClient(token, e.opts...)
}

func (e *authEnv) dir(t *testing.T, fn func(tx store.DirTx) error) {
	t.Helper()
	if err := e.Store.Directory(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

// softPasskey is a software authenticator with one credential.
type softPasskey struct {
	auth virtualwebauthn.Authenticator
	cred virtualwebauthn.Credential
}

// newSoftCredential skips the keys virtualwebauthn would encode with a
// short coordinate (go-webauthn refuses those).
func newSoftCredential(t *testing.T) virtualwebauthn.Credential {
	t.Helper()
	for {
		c := virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2)
		k, err := x509.ParsePKCS8PrivateKey(c.Key.Data)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := k.(*ecdsa.PrivateKey).PublicKey.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		if pub[1] != 0 && pub[33] != 0 {
			return c
		}
	}
}

func (e *authEnv) enroll(t *testing.T, code string, rp virtualwebauthn.RelyingParty) (*softPasskey, *v1.Session, error) {
	t.Helper()
	ctx := context.Background()
	begin, err := e.authClient("").BeginEnrollment(ctx, &v1.BeginEnrollmentRequest{InviteCode: code, DeviceName: "Outreach tablet 3"})
	if err != nil {
		return nil, nil, err
	}
	ao, err := virtualwebauthn.ParseAttestationOptions(begin.GetOptionsJson())
	if err != nil {
		t.Fatal(err)
	}
	pk := &softPasskey{auth: virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{UserHandle: []byte(ao.UserID)}), cred: newSoftCredential(t)}
	att := virtualwebauthn.CreateAttestationResponse(rp, pk.auth, pk.cred, *ao)
	pk.auth.AddCredential(pk.cred)
	fin, err := e.authClient("").FinishEnrollment(ctx, &v1.FinishEnrollmentRequest{CeremonyId: begin.GetCeremonyId(), CredentialJson: att})
	return pk, fin.GetSession(), err
}

func (e *authEnv) login(t *testing.T, pk *softPasskey, rp virtualwebauthn.RelyingParty) (*v1.Session, error) {
	t.Helper()
	ctx := context.Background()
	begin, err := e.authClient("").BeginLogin(ctx, &v1.BeginLoginRequest{})
	if err != nil {
		t.Fatal(err)
	}
	so, err := virtualwebauthn.ParseAssertionOptions(begin.GetOptionsJson())
	if err != nil {
		t.Fatal(err)
	}
	pk.cred.Counter++
	as := virtualwebauthn.CreateAssertionResponse(rp, pk.auth, pk.cred, *so)
	fin, err := e.authClient("").FinishLogin(ctx, &v1.FinishLoginRequest{CeremonyId: begin.GetCeremonyId(), CredentialJson: as})
	return fin.GetSession(), err
}

// seedDirectory creates an area, a team, a client and a worker invite.
func (e *authEnv) seedDirectory(t *testing.T) (clientID, code string) {
	t.Helper()
	clientID, code = uuid.NewString(), auth.NewInviteCode()
	e.dir(t, func(tx store.DirTx) error {
		if err := tx.PutArea(&store.Area{ID: "area-1", Name: "Lambeth", CreatedAt: time.Now()}); err != nil {
			return err
		}
		if err := tx.PutTeam(&store.Team{ID: "team-1", AreaID: "area-1", Name: "Outreach"}); err != nil {
			return err
		}
		if err := tx.PutClient(&store.Client{ID: clientID, AreaID: "area-1", TeamID: "team-1", CreatedAt: time.Now()}); err != nil {
			return err
		}
		return tx.PutInvite(&store.Invite{Hash: auth.HashSecret(code), AreaID: "area-1", Role: "worker", TeamID: "team-1",
			DisplayName: "Sam Worker", CreatedBy: store.InviteByServer, ExpiresAt: time.Now().Add(time.Hour)})
	})
	return clientID, code
}

func TestPasskeySessionsOverTheAPI(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			e := newAuthEnv(t, p.opts...)
			ctx := context.Background()
			clientID, code := e.seedDirectory(t)

			// Enrol with the invite; the invite is then used up.
			pk, sess, err := e.enroll(t, code, testRP)
			if err != nil {
				t.Fatalf("enrol: %v", err)
			}
			if sess.GetRole() != v1.Role_ROLE_WORKER || sess.GetAreaId() != "area-1" {
				t.Fatalf("session = %v", sess)
			}
			_, _, err = e.enroll(t, code, testRP)
			assertCode(t, "enrol with a used invite", err, connect.CodeNotFound)

			// Assign the client; the worker logs a contact and syncs it.
			e.dir(t, func(tx store.DirTx) error {
				return tx.PutAssignment(&store.Assignment{ClientID: clientID, UserID: sess.GetUserId(), From: time.Now().Add(-time.Hour)})
			})
			dev := sample.NewDevice(sess.GetUserId(), time.Now, 7)
			contact, chs := dev.NewContact(clientID, time.Now())
			for _, ch := range chs {
				ch.Stamp.Replica = sess.GetDeviceId()
			}
			resp, err := e.syncClient(sess.GetAccessToken()).Push(ctx, pushReq(chs...))
			if err != nil {
				t.Fatalf("Push: %v", err)
			}
			for _, r := range resp.GetResults() {
				if r.GetVerdict() != v1.Verdict_VERDICT_APPLIED {
					t.Fatalf("push result %v", r)
				}
			}
			recs, _, _ := pullAll(t, e.syncClient(sess.GetAccessToken()), nil, 0)
			if len(recs) != 1 || recs[contact] == nil {
				t.Fatalf("pulled %d records, want the contact", len(recs))
			}

			// Sign in again: a new session replaces the enrolment's.
			login, err := e.login(t, pk, testRP)
			if err != nil {
				t.Fatalf("login: %v", err)
			}
			_, err = e.syncClient(sess.GetAccessToken()).Pull(ctx, pullReq(nil, 0))
			assertCode(t, "Pull with the replaced token", err, connect.CodeUnauthenticated)
			recs, _, _ = pullAll(t, e.syncClient(login.GetAccessToken()), nil, 0)
			if len(recs) != 1 {
				t.Fatalf("pulled %d records after sign-in, want 1", len(recs))
			}

			// Refresh rotates the tokens.
			refreshed, err := e.authClient("").Refresh(ctx, &v1.RefreshRequest{RefreshToken: login.GetRefreshToken()})
			if err != nil {
				t.Fatalf("Refresh: %v", err)
			}
			token := refreshed.GetSession().GetAccessToken()
			devices, err := e.authClient(token).ListDevices(ctx, &v1.ListDevicesRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if len(devices.GetDevices()) != 1 || !devices.GetDevices()[0].GetCurrent() {
				t.Fatalf("devices = %v", devices)
			}
			_, err = e.authClient(token).RevokeDevice(ctx, &v1.RevokeDeviceRequest{DeviceId: uuid.NewString()})
			assertCode(t, "revoke an unknown device", err, connect.CodeNotFound)

			// Logout ends the session and its open stream.
			stream, _ := subscribe(t, e.syncClient(token), nil)
			receive(t, stream)
			if _, err := e.authClient(token).Logout(ctx, &v1.LogoutRequest{}); err != nil {
				t.Fatalf("Logout: %v", err)
			}
			for stream.Receive() {
			}
			cerr := assertCode(t, "stream after logout", stream.Err(), connect.CodeUnauthenticated)
			if r := detail[v1.StreamClosed](t, cerr); r.GetReason() != v1.CloseReason_CLOSE_REASON_SESSION_ENDED {
				t.Fatalf("close reason = %v", r.GetReason())
			}
			_, err = e.syncClient(token).Pull(ctx, pullReq(nil, 0))
			assertCode(t, "Pull after logout", err, connect.CodeUnauthenticated)
			_, err = e.authClient("").Refresh(ctx, &v1.RefreshRequest{RefreshToken: refreshed.GetSession().GetRefreshToken()})
			assertCode(t, "Refresh after logout", err, connect.CodeUnauthenticated)
		})
	}
}

func TestRevokeDeviceEndsStreamsOverTheAPI(t *testing.T) {
	e := newAuthEnv(t)
	_, code := e.seedDirectory(t)
	_, sess, err := e.enroll(t, code, testRP)
	if err != nil {
		t.Fatal(err)
	}
	stream, _ := subscribe(t, e.syncClient(sess.GetAccessToken()), nil)
	receive(t, stream)
	if _, err := e.authClient(sess.GetAccessToken()).RevokeDevice(context.Background(), &v1.RevokeDeviceRequest{DeviceId: sess.GetDeviceId()}); err != nil {
		t.Fatal(err)
	}
	for stream.Receive() {
	}
	cerr := assertCode(t, "stream after revocation", stream.Err(), connect.CodeUnauthenticated)
	if r := detail[v1.StreamClosed](t, cerr); r.GetReason() != v1.CloseReason_CLOSE_REASON_SESSION_ENDED {
		t.Fatalf("close reason = %v", r.GetReason())
	}
}

func TestAuthErrorsOverTheAPI(t *testing.T) {
	e := newAuthEnv(t)
	ctx := context.Background()
	_, code := e.seedDirectory(t)
	anon := e.authClient("")

	_, err := anon.BeginEnrollment(ctx, &v1.BeginEnrollmentRequest{InviteCode: code, DeviceName: strings.Repeat("é", 101)})
	assertCode(t, "long device name", err, connect.CodeInvalidArgument)
	_, err = anon.BeginEnrollment(ctx, &v1.BeginEnrollmentRequest{InviteCode: auth.NewInviteCode(), DeviceName: "tablet"})
	if cerr := assertCode(t, "unknown invite", err, connect.CodeNotFound); cerr.Message() != "invite not found or expired" {
		t.Fatalf("message %q", cerr.Message())
	}
	_, err = anon.FinishEnrollment(ctx, &v1.FinishEnrollmentRequest{CeremonyId: uuid.NewString(), CredentialJson: strings.Repeat("x", 64<<10+1)})
	assertCode(t, "huge credential", err, connect.CodeInvalidArgument)
	_, err = anon.FinishLogin(ctx, &v1.FinishLoginRequest{CeremonyId: uuid.NewString(), CredentialJson: "{}"})
	assertCode(t, "unknown ceremony", err, connect.CodeFailedPrecondition)
	_, err = anon.FinishLogin(ctx, &v1.FinishLoginRequest{CredentialJson: "{}"})
	assertCode(t, "no ceremony", err, connect.CodeInvalidArgument)
	_, err = anon.Refresh(ctx, &v1.RefreshRequest{})
	assertCode(t, "no refresh token", err, connect.CodeInvalidArgument)
	_, err = anon.Refresh(ctx, &v1.RefreshRequest{RefreshToken: auth.NewToken(auth.RefreshPrefix)})
	assertCode(t, "unknown refresh token", err, connect.CodeUnauthenticated)
	// Procedures other than the ceremonies and Refresh need a session.
	_, err = anon.Logout(ctx, &v1.LogoutRequest{})
	assertCode(t, "Logout without a session", err, connect.CodeUnauthenticated)
	_, err = anon.ListDevices(ctx, &v1.ListDevicesRequest{})
	assertCode(t, "ListDevices without a session", err, connect.CodeUnauthenticated)
	_, err = anon.RevokeDevice(ctx, &v1.RevokeDeviceRequest{DeviceId: "x"})
	assertCode(t, "RevokeDevice without a session", err, connect.CodeUnauthenticated)

	// A passkey made for another origin fails verification, with a
	// message that says no more.
	_, _, err = e.enroll(t, code, virtualwebauthn.RelyingParty{ID: testRP.ID, Origin: "https://evil.test"})
	if cerr := assertCode(t, "wrong origin", err, connect.CodeUnauthenticated); cerr.Message() != "passkey verification failed" {
		t.Fatalf("message %q", cerr.Message())
	}
	pk, _, err := e.enroll(t, code, testRP) // the invite survived the failed attempt
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.login(t, pk, virtualwebauthn.RelyingParty{ID: "evil.test", Origin: testRP.Origin})
	assertCode(t, "wrong RP id", err, connect.CodeUnauthenticated)
}

func TestFinishLoginDeviceFields(t *testing.T) {
	e := newAuthEnv(t)
	ctx := context.Background()
	_, code := e.seedDirectory(t)
	pk, enrolled, err := e.enroll(t, code, testRP)
	if err != nil {
		t.Fatal(err)
	}
	anon := e.authClient("")
	finish := func(deviceID, deviceName string) (*v1.Session, error) {
		begin, err := anon.BeginLogin(ctx, &v1.BeginLoginRequest{})
		if err != nil {
			t.Fatal(err)
		}
		so, err := virtualwebauthn.ParseAssertionOptions(begin.GetOptionsJson())
		if err != nil {
			t.Fatal(err)
		}
		pk.cred.Counter++
		as := virtualwebauthn.CreateAssertionResponse(testRP, pk.auth, pk.cred, *so)
		fin, err := anon.FinishLogin(ctx, &v1.FinishLoginRequest{CeremonyId: begin.GetCeremonyId(), CredentialJson: as,
			DeviceId: deviceID, DeviceName: deviceName})
		return fin.GetSession(), err
	}
	for _, bad := range []string{"not-a-device", strings.Repeat("a", 65), strings.ToUpper(enrolled.GetDeviceId())} {
		_, err := finish(bad, "")
		if cerr := assertCode(t, "malformed device_id", err, connect.CodeInvalidArgument); strings.Contains(cerr.Message(), bad) {
			t.Fatalf("message %q echoes the device id", cerr.Message())
		}
	}
	long := strings.Repeat("é", 101)
	_, err = finish("", long)
	if cerr := assertCode(t, "long device_name", err, connect.CodeInvalidArgument); strings.Contains(cerr.Message(), long) {
		t.Fatalf("message %q echoes the name", cerr.Message())
	}
	// A device id that is well formed but not this passkey's: a failed
	// sign-in like any other.
	_, err = finish(uuid.NewString(), "")
	if cerr := assertCode(t, "unknown device_id", err, connect.CodeUnauthenticated); cerr.Message() != "passkey verification failed" {
		t.Fatalf("message %q", cerr.Message())
	}
	s, err := finish(enrolled.GetDeviceId(), "Tablet")
	if err != nil {
		t.Fatal(err)
	}
	if s.GetDeviceId() != enrolled.GetDeviceId() {
		t.Fatalf("signed in as %s, want %s", s.GetDeviceId(), enrolled.GetDeviceId())
	}
}
