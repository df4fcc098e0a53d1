package e2e

// The SDK harness: an area set up through the AdminService by a real
// passkey admin, and SDK devices enrolled in it with software passkeys.

import (
	"context"
	"crypto/rand"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	"github.com/throughcare/throughcare/client-sdk/passkey"
	"github.com/throughcare/throughcare/client-sdk/passkey/software"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
)

// area is the bootstrap area of a running server, with its admin signed in.
type area struct {
	t     *testing.T
	s     *server
	url   string // where devices reach the server (a fault proxy, or s.URL)
	ctx   context.Context
	admin throughcarev1connect.AdminServiceClient
	// adminSession signs the admin's calls (for clients of other services).
	adminSession *signedIn
}

func newArea(t *testing.T, s *server) *area {
	t.Helper()
	ctx := context.Background()
	auth := throughcarev1connect.NewAuthServiceClient(h2cClient(), s.URL)
	sess, err := passkey.Enrol(ctx, auth, softKey(s), s.bootstrapInvite(t), "Admin laptop")
	if err != nil {
		t.Fatalf("enrolling the admin: %v", err)
	}
	a := &area{t: t, s: s, url: s.URL, ctx: ctx, adminSession: &signedIn{sess: sess, auth: auth}}
	a.admin = throughcarev1connect.NewAdminServiceClient(h2cClient(), s.URL, connect.WithInterceptors(a.adminSession))
	return a
}

// signedIn keeps a test's admin signed in the way a real client stays
// signed in: a call refused as unauthenticated (its access token expired,
// however slow the machine) refreshes the session and is sent again.
type signedIn struct {
	mu   sync.Mutex
	sess *v1.Session
	auth throughcarev1connect.AuthServiceClient
}

func (s *signedIn) token() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sess.GetAccessToken()
}

// refresh renews the session unless another call already renewed it since
// the token it was refused with.
func (s *signedIn) refresh(ctx context.Context, refused string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess.GetAccessToken() != refused {
		return nil
	}
	resp, err := s.auth.Refresh(ctx, &v1.RefreshRequest{RefreshToken: s.sess.GetRefreshToken()})
	if err != nil {
		return err
	}
	s.sess = resp.GetSession()
	return nil
}

func (s *signedIn) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		tok := s.token()
		req.Header().Set("Authorization", "Bearer "+tok)
		resp, err := next(ctx, req)
		if connect.CodeOf(err) != connect.CodeUnauthenticated {
			return resp, err
		}
		if err := s.refresh(ctx, tok); err != nil {
			return nil, err
		}
		req.Header().Set("Authorization", "Bearer "+s.token())
		return next(ctx, req)
	}
}

func (s *signedIn) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		conn.RequestHeader().Set("Authorization", "Bearer "+s.token())
		return conn
	}
}

func (s *signedIn) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

func softKey(s *server) *software.Key {
	k := software.New(s.URL)
	k.RPID = "localhost"
	return k
}

func (a *area) team(name string) string {
	a.t.Helper()
	resp, err := a.admin.CreateTeam(a.ctx, &v1.CreateTeamRequest{Name: name})
	if err != nil {
		a.t.Fatalf("CreateTeam: %v", err)
	}
	return resp.GetTeam().GetTeamId()
}

func (a *area) invite(role v1.Role, team string) string {
	a.t.Helper()
	resp, err := a.admin.CreateInvite(a.ctx, &v1.CreateInviteRequest{Role: role, TeamId: team, DisplayName: "Pat Example"})
	if err != nil {
		a.t.Fatalf("CreateInvite: %v", err)
	}
	return resp.GetInviteCode()
}

// client registers a client in a team and returns its id.
func (a *area) client(team, given, family string) string {
	a.t.Helper()
	resp, err := a.admin.CreateClient(a.ctx, &v1.CreateClientRequest{TeamId: team, GivenName: given, FamilyName: family, Pathway: "licence"})
	if err != nil {
		a.t.Fatalf("CreateClient: %v", err)
	}
	return resp.GetClientId()
}

func (a *area) assign(client string, worker *device) {
	a.t.Helper()
	if _, err := a.admin.AssignClient(a.ctx, &v1.AssignClientRequest{ClientId: client, WorkerId: worker.UserID()}); err != nil {
		a.t.Fatalf("AssignClient: %v", err)
	}
}

func (a *area) unassign(client string, worker *device) {
	a.t.Helper()
	if _, err := a.admin.UnassignClient(a.ctx, &v1.UnassignClientRequest{ClientId: client, WorkerId: worker.UserID()}); err != nil {
		a.t.Fatalf("UnassignClient: %v", err)
	}
}

// device is an SDK device with its passkey.
type device struct {
	*caseload.Device
	key   *software.Key
	dir   string
	enc   []byte
	shift atomic.Int64 // moves the device's clock (a tablet whose clock is off)
	// tune, if set, adjusts the device's Config when it is (re)opened.
	tune func(*caseload.Config)
}

func (d *device) now() time.Time { return time.Now().Add(time.Duration(d.shift.Load())) }

// openDevice opens an SDK device on a fresh directory.
func (a *area) openDevice(key *software.Key) *device {
	a.t.Helper()
	enc := make([]byte, 32)
	rand.Read(enc)
	d := &device{key: key, dir: a.t.TempDir(), enc: enc}
	d.reopen(a.t, a.url)
	return d
}

// reopen opens the device's store again (after Close: a restarted app).
func (d *device) reopen(t *testing.T, url string) {
	t.Helper()
	cfg := caseload.Config{Dir: d.dir, Key: d.enc, Server: url, Now: d.now}
	if d.tune != nil {
		d.tune(&cfg)
	}
	dev, err := caseload.Open(cfg)
	if err != nil {
		t.Fatalf("opening a device: %v", err)
	}
	d.Device = dev
	t.Cleanup(func() { dev.Close() })
}

// enrol invites someone with a role in a team and enrols them on a new
// device with a synced software passkey.
func (a *area) enrol(role v1.Role, team string) *device {
	a.t.Helper()
	key := softKey(a.s)
	key.Synced = true
	d := a.openDevice(key)
	if err := d.Enrol(a.ctx, key, a.invite(role, team), "Outreach tablet"); err != nil {
		a.t.Fatalf("enrol: %v", err)
	}
	return d
}

// sync syncs the device and fails the test on error.
func (d *device) mustSync(t *testing.T) caseload.SyncReport {
	t.Helper()
	rep, err := d.Sync(context.Background())
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	return rep
}

func h2cClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	t.Protocols = p
	return &http.Client{Transport: t, Timeout: time.Minute}
}

// openDeviceWith opens an SDK device on a fresh directory that reaches the
// server through hc (a client whose transport watches or holds calls).
func (a *area) openDeviceWith(key *software.Key, hc *http.Client) *device {
	a.t.Helper()
	enc := make([]byte, 32)
	rand.Read(enc)
	d := &device{key: key, dir: a.t.TempDir(), enc: enc}
	dev, err := caseload.Open(caseload.Config{Dir: d.dir, Key: d.enc, Server: a.url, Now: d.now, HTTPClient: hc})
	if err != nil {
		a.t.Fatalf("opening a device: %v", err)
	}
	d.Device = dev
	a.t.Cleanup(func() { dev.Close() })
	return d
}

// enrolWith is enrol on a device that reaches the server through hc.
func (a *area) enrolWith(role v1.Role, team string, hc *http.Client) *device {
	a.t.Helper()
	key := softKey(a.s)
	key.Synced = true
	d := a.openDeviceWith(key, hc)
	if err := d.Enrol(a.ctx, key, a.invite(role, team), "Outreach tablet"); err != nil {
		a.t.Fatalf("enrol: %v", err)
	}
	return d
}

// disable disables a device's user (which ends their sessions).
func (a *area) disable(d *device) {
	a.t.Helper()
	if _, err := a.admin.DisableUser(a.ctx, &v1.DisableUserRequest{UserId: d.UserID()}); err != nil {
		a.t.Fatalf("DisableUser: %v", err)
	}
}

// waitFor polls cond until it holds or timeout passes; false on timeout.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}
