package api_test

// The world the access matrix runs in: the whole API (auth, admin, sync) on
// real passkey sessions, built through the API itself the way an area would
// be set up.
//
//	area A: admin adminA; teams A1, A2; supervisor supA1 (A1);
//	        workers w1, m1 (A1), w2 (A2);
//	        clients c1 (A1, w1), m1's (A1, m1), c2 (A2, w2)
//	area B: admin adminB; team B1; worker wB; client cB (B1, wB)
//
// Each target's worker has logged one contact with their client through
// the sync API, for the review cells.
//
// The four targets of every cell are c1's world (the caller's own
// caseload, team or device), a team-mate's caseload, another team's in the
// caller's area, and another area's.

import (
	"context"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"

	"github.com/throughcare/throughcare/client-sdk/passkey"
	"github.com/throughcare/throughcare/client-sdk/passkey/software"
	"github.com/throughcare/throughcare/server"
	"github.com/throughcare/throughcare/server/admin"
	"github.com/throughcare/throughcare/server/api"
	"github.com/throughcare/throughcare/server/servertest"
	"github.com/throughcare/throughcare/server/storekey"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
	"github.com/throughcare/throughcare/syncproto/sample"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// person is someone with a passkey and a session.
type person struct {
	key  *software.Key
	sess *v1.Session
	dev  *sample.Device // makes their pushes; stamped with sess's device
}

func (p *person) token() string {
	if p == nil {
		return ""
	}
	return p.sess.GetAccessToken()
}

type world struct {
	t   *testing.T
	ctx context.Context
	st  servertest.Store
	url string
	hc  *http.Client

	adminA, adminB, supA1 *person
	// Indexed by target: own (A1), team-mate's (A1), other team's (A2),
	// other area's (B1).
	teams    [nTargets]string
	clients  [nTargets]string
	contacts [nTargets]string // logged by the target's worker with its client
	orders   map[int]string   // court orders by target, made on first use (order)
	workers  [nTargets]*person
	admins   [nTargets]*person // the admin of the target's area
}

// matrixBackupKey is the store key the matrix's server seals backups with.
var matrixBackupKey = func() storekey.Key { k, _ := storekey.Generate(); return k }()

// newWorld builds the world on a server over st (nil: a Badger store in
// memory).
func newWorld(t *testing.T, st servertest.Store) *world {
	t.Helper()
	wide := api.Limit{Rate: 1e6, Burst: 1e6}
	unlimited := api.Limits{Address: wide, Prefix: wide, Global: wide}
	env := servertest.New(t, servertest.Options{Store: st, Passkeys: true, Engine: syncengine.Config{Keepalive: time.Hour},
		// Every sign-in comes from one address here; rate limits have their own tests.
		Server: func(c *server.Config) {
			c.RateLimit = api.RateLimit{Ceremony: unlimited, Refresh: unlimited}
			c.BackupKey = matrixBackupKey
		}})
	st = env.Store
	w := &world{t: t, ctx: context.Background(), st: st, url: env.URL, hc: env.HTTPClient}

	codeA, created, err := admin.Bootstrap(w.ctx, st, "Lambeth", time.Now(), 0)
	if err != nil || !created {
		t.Fatalf("bootstrap: %v %v", created, err)
	}
	codeB, err := admin.MintAdminInvite(w.ctx, st, "Hackney", time.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	w.adminA, w.adminB = w.enrol(codeA), w.enrol(codeB)
	a1 := w.team(w.adminA, "Outreach A1")
	w.teams = [nTargets]string{a1, a1, w.team(w.adminA, "Outreach A2"), w.team(w.adminB, "Outreach B1")}
	w.admins = [nTargets]*person{w.adminA, w.adminA, w.adminA, w.adminB}
	w.supA1 = w.invitee(w.adminA, v1.Role_ROLE_SUPERVISOR, a1)
	for i := range nTargets {
		w.workers[i] = w.invitee(w.admins[i], v1.Role_ROLE_WORKER, w.teams[i])
		w.clients[i] = w.client(i)
		w.assign(w.admins[i], w.clients[i], w.workers[i])
		w.contacts[i] = w.logContact(w.workers[i], w.clients[i])
	}
	return w
}

func (w *world) authClient(token string) throughcarev1connect.AuthServiceClient {
	return throughcarev1connect.NewAuthServiceClient(w.hc, w.url, bearerOpts(token)...)
}

func (w *world) adminClient(token string) throughcarev1connect.AdminServiceClient {
	return throughcarev1connect.NewAdminServiceClient(w.hc, w.url, bearerOpts(token)...)
}

func (w *world) syncClient(token string) throughcarev1connect.SyncServiceClient {
	return throughcarev1connect.NewSyncServiceClient(w.hc, w.url, bearerOpts(token)...)
}

func bearerOpts(token string) []connect.ClientOption { return servertest.WithToken(token) }

// enrol redeems an invite with a new synced software passkey.
func (w *world) enrol(code string) *person {
	w.t.Helper()
	key := software.New(testRP.Origin)
	key.Synced = true
	sess, err := passkey.Enrol(w.ctx, w.authClient(""), key, code, "Tablet")
	if err != nil {
		w.t.Fatalf("enrol: %v", err)
	}
	return &person{key: key, sess: sess, dev: sample.NewDevice(sess.GetUserId(), time.Now, uint64(time.Now().UnixNano()))}
}

// signIn signs p in again on the same device (their earlier session ends).
func (w *world) signIn(p *person) {
	w.t.Helper()
	sess, err := passkey.SignIn(w.ctx, w.authClient(""), p.key, p.sess.GetDeviceId())
	if err != nil {
		w.t.Fatalf("sign in: %v", err)
	}
	if sess.GetDeviceId() != p.sess.GetDeviceId() {
		w.t.Fatalf("sign-in moved to device %s from %s", sess.GetDeviceId(), p.sess.GetDeviceId())
	}
	p.sess = sess
}

func (w *world) invite(by *person, role v1.Role, team string) string {
	w.t.Helper()
	resp, err := w.adminClient(by.token()).CreateInvite(w.ctx, &v1.CreateInviteRequest{Role: role, TeamId: team, DisplayName: "Pat Example"})
	if err != nil {
		w.t.Fatalf("invite: %v", err)
	}
	return resp.GetInviteCode()
}

func (w *world) invitee(by *person, role v1.Role, team string) *person {
	w.t.Helper()
	return w.enrol(w.invite(by, role, team))
}

func (w *world) team(by *person, name string) string {
	w.t.Helper()
	resp, err := w.adminClient(by.token()).CreateTeam(w.ctx, &v1.CreateTeamRequest{Name: name})
	if err != nil {
		w.t.Fatalf("team: %v", err)
	}
	return resp.GetTeam().GetTeamId()
}

// client registers a client in the target's team.
func (w *world) client(target int) string {
	w.t.Helper()
	resp, err := w.adminClient(w.admins[target].token()).CreateClient(w.ctx, &v1.CreateClientRequest{
		TeamId: w.teams[target], GivenName: "Sam", FamilyName: "Jones", Pathway: "licence"})
	if err != nil {
		w.t.Fatalf("client: %v", err)
	}
	return resp.GetClientId()
}

func (w *world) assign(by *person, client string, worker *person) {
	w.t.Helper()
	_, err := w.adminClient(by.token()).AssignClient(w.ctx, &v1.AssignClientRequest{ClientId: client, WorkerId: worker.sess.GetUserId()})
	if err != nil {
		w.t.Fatalf("assign: %v", err)
	}
}

// extraDevice signs p's synced passkey in on another tablet and returns
// that device's id; p's own session is untouched.
func (w *world) extraDevice(p *person) string {
	w.t.Helper()
	sess, err := passkey.SignIn(w.ctx, w.authClient(""), p.key, "")
	if err != nil {
		w.t.Fatalf("sign in on another tablet: %v", err)
	}
	if sess.GetDeviceId() == p.sess.GetDeviceId() {
		w.t.Fatal("a second tablet got the first one's device id")
	}
	return sess.GetDeviceId()
}

// contact makes p's changes logging a contact with the client, stamped
// with their session's device.
func (w *world) contact(p *person, client string) []*v1.Change {
	_, chs := p.dev.NewContact(client, time.Now())
	for _, ch := range chs {
		ch.Stamp.Replica = p.sess.GetDeviceId()
		if ch.GetField() == "author" {
			ch.Value = &v1.Value{Kind: &v1.Value_StringValue{StringValue: p.sess.GetUserId()}}
		}
	}
	return chs
}

// logContact has p log a contact with the client through the sync API and
// returns its id.
func (w *world) logContact(p *person, client string) string {
	w.t.Helper()
	chs := w.contact(p, client)
	w.pushApplied(p, chs...)
	return chs[0].GetRecordId()
}

// pushApplied pushes p's changes through the sync API; all must apply.
func (w *world) pushApplied(p *person, chs ...*v1.Change) {
	w.t.Helper()
	resp, err := w.syncClient(p.token()).Push(w.ctx, pushReq(chs...))
	if err != nil {
		w.t.Fatalf("push: %v", err)
	}
	for _, r := range resp.GetResults() {
		if r.GetVerdict() != v1.Verdict_VERDICT_APPLIED {
			w.t.Fatalf("push: %v %v", r.GetVerdict(), r.GetMessage())
		}
	}
}

// conflict has the target's worker edit its contact's notes without having
// seen the current value, which raises a fresh conflict; it returns the
// conflict's id.
func (w *world) conflict(target int) uint64 {
	w.t.Helper()
	p, client, contact := w.workers[target], w.clients[target], w.contacts[target]
	ch := p.dev.Change("contact", contact, client, "notes", &v1.Value{Kind: &v1.Value_StringValue{StringValue: "Edited offline"}}, nil)
	ch.Stamp.Replica = p.sess.GetDeviceId()
	w.pushApplied(p, ch)
	m, err := w.st.Records(w.ctx, client, []string{contact})
	if err != nil || m[contact] == nil || len(m[contact].GetConflicts()) == 0 {
		w.t.Fatalf("no conflict raised: %v %v", m, err)
	}
	var id uint64
	for _, c := range m[contact].GetConflicts() {
		id = max(id, c.GetId())
	}
	return id
}

func (w *world) reviewClient(token string) throughcarev1connect.ReviewServiceClient {
	return throughcarev1connect.NewReviewServiceClient(w.hc, w.url, bearerOpts(token)...)
}

func newUUID() string { return uuid.NewString() }

// order has the target's worker record a court order for the target's
// client through the sync API (once per target) and returns its id.
func (w *world) order(target int) string {
	w.t.Helper()
	if w.orders == nil {
		w.orders = map[int]string{}
	}
	if id, ok := w.orders[target]; ok {
		return id
	}
	p, client := w.workers[target], w.clients[target]
	id := p.dev.NewID()
	chs := p.dev.Record("court_order", id, client, []sample.Field{
		{Name: "kind", Value: sample.Str("drr")}, {Name: "start_date", Value: sample.Date(2026, 1, 5)},
		{Name: "author", Value: sample.Str(p.sess.GetUserId())},
	})
	for _, ch := range chs {
		ch.Stamp.Replica = p.sess.GetDeviceId()
	}
	req := pushReq(chs...)
	req.SchemaVersion = schema.CurrentVersion
	resp, err := w.syncClient(p.token()).Push(w.ctx, req)
	if err != nil || len(resp.GetResults()) != len(chs) || resp.GetResults()[0].GetVerdict() != v1.Verdict_VERDICT_APPLIED {
		w.t.Fatalf("push of an order: %v %v", resp, err)
	}
	w.orders[target] = id
	return id
}
