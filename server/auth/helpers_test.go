package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"
	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/auth"
	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/servertest/fixture"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

const (
	rpID     = "throughcare.test"
	rpOrigin = "https://throughcare.test"
	areaID   = "area-lambeth"
	teamA    = "team-a"
	teamB    = "team-b"
)

var goodRP = virtualwebauthn.RelyingParty{ID: rpID, Name: "Throughcare", Origin: rpOrigin}

type env struct {
	st  *store.DB
	svc *auth.Service
	// clock starts at the real time, because the store's own TTLs run on
	// the real clock: the service checks expiry against this one too, so
	// moving it forward expires things.
	clock *fixture.Clock
	logs  *fixture.Logs
	cfg   auth.Config
}

// newEnv starts a service over an in-memory store holding one area with two
// teams.
func newEnv(t testing.TB, adjust ...func(*auth.Config)) *env {
	t.Helper()
	st, err := store.Open(store.Options{InMemory: true, Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{st: st, clock: fixture.NewClock(time.Now()), logs: &fixture.Logs{}}
	e.cfg = auth.Config{RPID: rpID, RPDisplayName: "Throughcare", RPOrigins: []string{rpOrigin},
		Now: e.clock.Now, Logger: zerolog.New(e.logs)}
	for _, f := range adjust {
		f(&e.cfg)
	}
	if e.svc, err = auth.New(e.cfg, st); err != nil {
		t.Fatal(err)
	}
	e.dir(t, func(tx store.DirTx) error {
		if err := tx.PutArea(&store.Area{ID: areaID, Name: "Lambeth", CreatedAt: e.clock.Now()}); err != nil {
			return err
		}
		for _, team := range []string{teamA, teamB} {
			if err := tx.PutTeam(&store.Team{ID: team, AreaID: areaID, Name: team}); err != nil {
				return err
			}
		}
		return nil
	})
	return e
}

func (e *env) dir(t testing.TB, fn func(tx store.DirTx) error) {
	t.Helper()
	if err := e.st.Directory(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

// invite stores an invite the server minted and returns its code.
func (e *env) invite(t testing.TB, role, team, name string, ttl time.Duration) string {
	t.Helper()
	return e.inviteFrom(t, store.InviteByServer, role, team, name, ttl)
}

// inviteFrom stores an invite made by a user (or store.InviteByServer) and
// returns its code.
func (e *env) inviteFrom(t testing.TB, createdBy, role, team, name string, ttl time.Duration) string {
	t.Helper()
	code := auth.NewInviteCode()
	e.dir(t, func(tx store.DirTx) error {
		return tx.PutInvite(&store.Invite{Hash: auth.HashSecret(code), AreaID: areaID, Role: role, TeamID: team,
			DisplayName: name, CreatedBy: createdBy, ExpiresAt: e.clock.Now().Add(ttl)})
	})
	return code
}

// passkey is a software authenticator holding one credential.
type passkey struct {
	auth virtualwebauthn.Authenticator
	cred virtualwebauthn.Credential
}

// newCredential returns a new P-256 credential. virtualwebauthn encodes the
// public key's coordinates without leading zero bytes, which go-webauthn
// rightly refuses (about one key in 128), so such keys are skipped.
func newCredential(t testing.TB) virtualwebauthn.Credential {
	t.Helper()
	for {
		c := virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2)
		k, err := x509.ParsePKCS8PrivateKey(c.Key.Data)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := k.(*ecdsa.PrivateKey).PublicKey.Bytes() // 0x04 || X || Y
		if err != nil {
			t.Fatal(err)
		}
		if pub[1] != 0 && pub[33] != 0 {
			return c
		}
	}
}

// attest answers a creation ceremony's options as an authenticator would.
func attest(t testing.TB, rp virtualwebauthn.RelyingParty, opts virtualwebauthn.AuthenticatorOptions, optionsJSON string) (*passkey, string) {
	t.Helper()
	ao, err := virtualwebauthn.ParseAttestationOptions(optionsJSON)
	if err != nil {
		t.Fatal(err)
	}
	opts.UserHandle = []byte(ao.UserID)
	pk := &passkey{auth: virtualwebauthn.NewAuthenticatorWithOptions(opts), cred: newCredential(t)}
	resp := virtualwebauthn.CreateAttestationResponse(rp, pk.auth, pk.cred, *ao)
	pk.auth.AddCredential(pk.cred)
	return pk, resp
}

// enroll enrols a new person with an invite and a fresh passkey.
func (e *env) enroll(t testing.TB, code string) (*passkey, *v1.Session) {
	t.Helper()
	begin, err := e.svc.BeginEnrollment(context.Background(), code, "Outreach tablet 3")
	if err != nil {
		t.Fatalf("BeginEnrollment: %v", err)
	}
	pk, resp := attest(t, goodRP, virtualwebauthn.AuthenticatorOptions{}, begin.GetOptionsJson())
	sess, err := e.svc.FinishEnrollment(context.Background(), begin.GetCeremonyId(), resp)
	if err != nil {
		var de *errkind.Error
		errors.As(err, &de)
		t.Fatalf("FinishEnrollment: %v (%v)", err, de.Cause)
	}
	return pk, sess
}

// newPerson invites and enrols someone.
func (e *env) newPerson(t testing.TB, role, team, name string) (*passkey, *v1.Session) {
	t.Helper()
	return e.enroll(t, e.invite(t, role, team, name, time.Hour))
}

// assertion answers a sign-in ceremony's options with pk, counting up.
func assertion(t testing.TB, rp virtualwebauthn.RelyingParty, pk *passkey, optionsJSON string) string {
	t.Helper()
	so, err := virtualwebauthn.ParseAssertionOptions(optionsJSON)
	if err != nil {
		t.Fatal(err)
	}
	if len(so.AllowCredentials) != 0 {
		t.Fatal("a discoverable sign-in must not list credentials")
	}
	pk.cred.Counter++
	return virtualwebauthn.CreateAssertionResponse(rp, pk.auth, pk.cred, *so)
}

// login signs in with pk.
func (e *env) login(t testing.TB, pk *passkey) (*v1.Session, error) {
	t.Helper()
	begin, err := e.svc.BeginLogin(context.Background())
	if err != nil {
		t.Fatalf("BeginLogin: %v", err)
	}
	return e.svc.FinishLogin(context.Background(), begin.GetCeremonyId(), assertion(t, goodRP, pk, begin.GetOptionsJson()))
}

func (e *env) mustLogin(t testing.TB, pk *passkey) *v1.Session {
	t.Helper()
	s, err := e.login(t, pk)
	if err != nil {
		t.Fatalf("FinishLogin: %v", err)
	}
	return s
}

func bearer(token string) http.Header {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+token)
	return h
}

func (e *env) identify(token string) (*identity.Identity, error) {
	return e.svc.Identify(context.Background(), bearer(token))
}

func (e *env) mustIdentify(t testing.TB, token string) *identity.Identity {
	t.Helper()
	id, err := e.identify(token)
	if err != nil {
		t.Fatalf("Identify: %v", err)
	}
	return id
}

func wantUnauthenticated(t testing.TB, what string, err error) {
	t.Helper()
	if !errors.Is(err, identity.ErrUnauthenticated) {
		t.Fatalf("%s: error = %v, want one wrapping identity.ErrUnauthenticated", what, err)
	}
}

func wantKind(t testing.TB, what string, err error, k errkind.Kind, msg string) {
	t.Helper()
	var e *errkind.Error
	if !errors.As(err, &e) || e.Kind != k {
		t.Fatalf("%s: error = %v, want errkind %d", what, err, k)
	}
	if msg != "" && e.Msg != msg {
		t.Fatalf("%s: message = %q, want %q", what, e.Msg, msg)
	}
}

const (
	msgVerify    = "passkey verification failed"
	msgCeremony  = "sign-in ceremony expired or already used; start again"
	msgInvite    = "invite not found or expired"
	msgSessionGo = "session expired or ended; sign in again"
)

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func waitClosed(t testing.TB, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s did not close", what)
	}
}

// user reads a user from the directory.
func (e *env) user(t testing.TB, id string) *store.User {
	t.Helper()
	var u *store.User
	if err := e.st.DirectoryView(context.Background(), func(tx store.DirTx) error {
		var err error
		u, err = tx.User(id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return u
}

func (e *env) device(t testing.TB, id string) *store.Device {
	t.Helper()
	var d *store.Device
	if err := e.st.DirectoryView(context.Background(), func(tx store.DirTx) error {
		var err error
		d, err = tx.Device(id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return d
}

func (e *env) usersOfArea(t testing.TB) int {
	t.Helper()
	var n int
	if err := e.st.DirectoryView(context.Background(), func(tx store.DirTx) error {
		n = len(tx.UsersOfArea(areaID))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func isUUID(s string) bool { _, err := uuid.Parse(s); return err == nil }
