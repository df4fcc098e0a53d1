package api_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/throughcare/throughcare/server/api"
	"github.com/throughcare/throughcare/server/auth"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/servertest"
	"github.com/throughcare/throughcare/server/servertest/fixture"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
)

// admTokens signs callers in on a test server by bearer token and
// remembers who each token is, so a test can change it.
type admTokens struct {
	env *servertest.Env
	m   map[string]identity.Identity
}

func (s *admTokens) set(tok string, id identity.Identity) {
	slices.Sort(id.Buckets)
	s.m[tok] = id
	s.env.SignIn(tok, id)
}

// admSessions records what the admin service asks of the sessions layer.
type admSessions struct {
	mu      sync.Mutex
	ended   []string
	changed []string
}

func (s *admSessions) EndUserSessions(_ context.Context, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended = append(s.ended, userID)
	return nil
}

func (s *admSessions) CaseloadChanged(userIDs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changed = append(s.changed, userIDs...)
}

// admEnv is a server over HTTP/2 and TLS in the two-area world:
//
//	area A "Lambeth": teams A1, A2; tokens admin-a, sup-a1, worker-a1
//	                  (team A1), worker-a2 (team A2)
//	area B "Hackney": team B1; tokens admin-b, worker-b1
type admEnv struct {
	world    *fixture.World
	url      string
	http     *http.Client
	st       servertest.Store
	tokens   *admTokens
	sessions *admSessions
	ids      map[string]identity.Identity // by token
	areaA    string
	teamA1   string
	teamA2   string
	teamB1   string
	opts     []connect.ClientOption
}

func newAdmEnv(t *testing.T, opts ...connect.ClientOption) *admEnv {
	t.Helper()
	sessions := &admSessions{}
	env := servertest.New(t, servertest.Options{Sessions: sessions})
	w := fixture.NewWorld(t, env.Store)
	e := &admEnv{world: w, url: env.URL, http: env.HTTPClient, st: env.Store, tokens: &admTokens{env: env, m: map[string]identity.Identity{}},
		sessions: sessions, ids: map[string]identity.Identity{}, opts: opts,
		areaA: w.AreaA, teamA1: w.TeamA1, teamA2: w.TeamA2, teamB1: w.TeamB1}
	e.addUser(t, "admin-a", e.areaA, identity.Admin)
	e.addUser(t, "sup-a1", e.areaA, identity.Supervisor, e.teamA1)
	e.addUser(t, "worker-a1", e.areaA, identity.Worker, e.teamA1)
	e.addUser(t, "worker-a2", e.areaA, identity.Worker, e.teamA2)
	e.addUser(t, "admin-b", w.AreaB, identity.Admin)
	e.addUser(t, "worker-b1", w.AreaB, identity.Worker, e.teamB1)
	return e
}

func (e *admEnv) addUser(t *testing.T, token, area string, role identity.Role, teams ...string) {
	t.Helper()
	_, id := e.world.AddUser(token, area, role, time.Time{}, teams...)
	e.ids[token] = *id
	e.tokens.set(token, *id)
}

func (e *admEnv) admin(token string) throughcarev1connect.AdminServiceClient {
	opts := slices.Clone(e.opts)
	if token != "" {
		opts = append(opts, connect.WithInterceptors(servertest.BearerToken(token)))
	}
	return throughcarev1connect.NewAdminServiceClient(e.http, e.url, opts...)
}

func (e *admEnv) sync(token string) throughcarev1connect.SyncServiceClient {
	return throughcarev1connect.NewSyncServiceClient(e.http, e.url, append(slices.Clone(e.opts), connect.WithInterceptors(servertest.BearerToken(token)))...)
}

func (e *admEnv) user(token string) string { return e.ids[token].UserID }

func (e *admEnv) newClient(t *testing.T, token, team string) string {
	t.Helper()
	resp, err := e.admin(token).CreateClient(t.Context(), &v1.CreateClientRequest{TeamId: team, GivenName: "Alex", FamilyName: "Smith", Pathway: "drr"})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetClientId()
}

func admCode(t *testing.T, what string, err error, want connect.Code) {
	t.Helper()
	var cerr *connect.Error
	switch {
	case want == 0 && err != nil:
		t.Errorf("%s: unexpected error %v", what, err)
	case want != 0 && (!errors.As(err, &cerr) || cerr.Code() != want):
		t.Errorf("%s: error %v, want code %v", what, err, want)
	}
}

// TestAdminTour walks every procedure's happy path, over every protocol: an
// admin sets up a team and invites, a supervisor creates and assigns a
// client, the worker syncs it, then loses it, and the admin disables a user.
func TestAdminTour(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			e := newAdmEnv(t, p.opts...)
			ctx := t.Context()
			adm, sup := e.admin("admin-a"), e.admin("sup-a1")

			area, err := adm.GetArea(ctx, &v1.GetAreaRequest{})
			if err != nil || area.GetAreaId() != e.areaA || area.GetName() != "Lambeth" {
				t.Fatalf("GetArea = %v, %v", area, err)
			}
			team, err := adm.CreateTeam(ctx, &v1.CreateTeamRequest{Name: "South"})
			if err != nil || team.GetTeam().GetName() != "South" || team.GetTeam().GetTeamId() == "" {
				t.Fatalf("CreateTeam = %v, %v", team, err)
			}
			teams, err := adm.ListTeams(ctx, &v1.ListTeamsRequest{})
			if err != nil || len(teams.GetTeams()) != 3 || teams.GetTeams()[0].GetName() != "East" {
				t.Errorf("ListTeams = %v, %v", teams, err)
			}
			inv, err := sup.CreateInvite(ctx, &v1.CreateInviteRequest{Role: v1.Role_ROLE_WORKER, TeamId: e.teamA1, DisplayName: "Jo Bloggs"})
			if err != nil || !strings.HasPrefix(inv.GetInviteCode(), auth.InvitePrefix) || !inv.GetExpiresAt().AsTime().After(time.Now().Add(71*time.Hour)) {
				t.Fatalf("CreateInvite = %v, %v", inv, err)
			}
			e.st.DirectoryView(ctx, func(tx store.DirTx) error {
				if in, err := tx.Invite(auth.HashSecret(inv.GetInviteCode())); err != nil || in.TeamID != e.teamA1 || in.Role != "worker" {
					t.Errorf("stored invite = %+v, %v", in, err)
				}
				return nil
			})
			users, err := sup.ListUsers(ctx, &v1.ListUsersRequest{})
			if err != nil || len(users.GetUsers()) != 2 {
				t.Errorf("ListUsers as supervisor = %v, %v", users, err)
			}
			for _, u := range users.GetUsers() {
				if u.GetUserId() == e.user("worker-a1") && (u.GetRole() != v1.Role_ROLE_WORKER || !slices.Equal(u.GetTeamIds(), []string{e.teamA1})) {
					t.Errorf("worker listed as %v", u)
				}
			}

			created, err := sup.CreateClient(ctx, &v1.CreateClientRequest{TeamId: e.teamA1, GivenName: "Jamie", FamilyName: "Taylor",
				DateOfBirth: &v1.Date{Year: 1990, Month: 6, Day: 1}, Pathway: "licence"})
			if err != nil {
				t.Fatal(err)
			}
			cid := created.GetClientId()
			if _, err := sup.AssignClient(ctx, &v1.AssignClientRequest{ClientId: cid, WorkerId: e.user("worker-a1")}); err != nil {
				t.Fatal(err)
			}
			clients, err := sup.ListClients(ctx, &v1.ListClientsRequest{TeamId: e.teamA1})
			if err != nil || len(clients.GetClients()) != 1 || clients.GetClients()[0].GetClientId() != cid ||
				!slices.Equal(clients.GetClients()[0].GetWorkerIds(), []string{e.user("worker-a1")}) {
				t.Errorf("ListClients = %v, %v", clients, err)
			}

			// The worker's device, now holding the bucket, pulls the record.
			wid := e.ids["worker-a1"]
			wid.Buckets = []string{cid}
			e.tokens.set("worker-a1", wid)
			recs, _, actions := pullAll(t, e.sync("worker-a1"), nil, 0)
			rec := recs[cid]
			if rec == nil || rec.GetRecordType() != "client" || !slices.Equal(actions[cid], []v1.BucketAction{v1.BucketAction_BUCKET_ACTION_SNAPSHOT}) {
				t.Fatalf("pulled %v with actions %v", recs, actions)
			}
			fields := map[string]string{}
			for _, f := range rec.GetFields() {
				fields[f.GetField()] = f.GetValue().GetStringValue()
			}
			if fields["given_name"] != "Jamie" || fields["family_name"] != "Taylor" || fields["area"] != "Lambeth" ||
				fields["pathway"] != "licence" || fields["status"] != "active" {
				t.Errorf("record fields = %v", fields)
			}

			if _, err := sup.UnassignClient(ctx, &v1.UnassignClientRequest{ClientId: cid, WorkerId: e.user("worker-a1")}); err != nil {
				t.Fatal(err)
			}
			e.st.DirectoryView(ctx, func(tx store.DirTx) error {
				as, err := tx.AssignmentsOfUser(e.user("worker-a1"))
				if err != nil || len(as) != 1 || as[0].ClientID != cid || as[0].From.IsZero() || as[0].To.Before(as[0].From) || as[0].Open() {
					t.Errorf("assignments = %+v, %v", as, err)
				}
				return nil
			})

			if _, err := adm.DisableUser(ctx, &v1.DisableUserRequest{UserId: e.user("worker-a2")}); err != nil {
				t.Fatal(err)
			}
			users, _ = adm.ListUsers(ctx, &v1.ListUsersRequest{})
			for _, u := range users.GetUsers() {
				if u.GetDisabled() != (u.GetUserId() == e.user("worker-a2")) {
					t.Errorf("user %v", u)
				}
			}
			e.sessions.mu.Lock()
			defer e.sessions.mu.Unlock()
			if !slices.Equal(e.sessions.ended, []string{e.user("worker-a2")}) {
				t.Errorf("EndUserSessions calls = %v", e.sessions.ended)
			}
			if n := countOf(e.sessions.changed, e.user("worker-a1")); n != 2 {
				t.Errorf("CaseloadChanged for the worker %d times (assign, unassign), want 2: %v", n, e.sessions.changed)
			}
		})
	}
}

func countOf(xs []string, x string) int {
	n := 0
	for _, y := range xs {
		if y == x {
			n++
		}
	}
	return n
}

// TestAdminAccess checks the codes callers get through the real API:
// outside their reach NotFound, a role that may not PermissionDenied, no
// session Unauthenticated; and no message names what it refers to.
func TestAdminAccess(t *testing.T) {
	e := newAdmEnv(t)
	ctx := t.Context()
	clientA1 := e.newClient(t, "admin-a", e.teamA1)
	clientA2 := e.newClient(t, "admin-a", e.teamA2)
	clientB1 := e.newClient(t, "admin-b", e.teamB1)
	const (
		ok        = connect.Code(0)
		notFound  = connect.CodeNotFound
		denied    = connect.CodePermissionDenied
		unauth    = connect.CodeUnauthenticated
		invalid   = connect.CodeInvalidArgument
		tooLong   = connect.CodeInvalidArgument
		workerA1  = "worker-a1"
		workerA2  = "worker-a2"
		workerB1  = "worker-b1"
		supA1     = "sup-a1"
		adminA    = "admin-a"
		noSession = ""
	)
	type call func(c throughcarev1connect.AdminServiceClient) error
	getArea := func(c throughcarev1connect.AdminServiceClient) error {
		_, err := c.GetArea(ctx, &v1.GetAreaRequest{})
		return err
	}
	createTeam := func(name string) call {
		return func(c throughcarev1connect.AdminServiceClient) error {
			_, err := c.CreateTeam(ctx, &v1.CreateTeamRequest{Name: name})
			return err
		}
	}
	listTeams := func(c throughcarev1connect.AdminServiceClient) error {
		_, err := c.ListTeams(ctx, &v1.ListTeamsRequest{})
		return err
	}
	listUsers := func(c throughcarev1connect.AdminServiceClient) error {
		_, err := c.ListUsers(ctx, &v1.ListUsersRequest{})
		return err
	}
	invite := func(role v1.Role, team, name string) call {
		return func(c throughcarev1connect.AdminServiceClient) error {
			_, err := c.CreateInvite(ctx, &v1.CreateInviteRequest{Role: role, TeamId: team, DisplayName: name})
			return err
		}
	}
	disable := func(token string) call {
		return func(c throughcarev1connect.AdminServiceClient) error {
			_, err := c.DisableUser(ctx, &v1.DisableUserRequest{UserId: e.user(token)})
			return err
		}
	}
	createClient := func(team, given string) call {
		return func(c throughcarev1connect.AdminServiceClient) error {
			_, err := c.CreateClient(ctx, &v1.CreateClientRequest{TeamId: team, GivenName: given, FamilyName: "Jones", Pathway: "drr"})
			return err
		}
	}
	listClients := func(team string) call {
		return func(c throughcarev1connect.AdminServiceClient) error {
			_, err := c.ListClients(ctx, &v1.ListClientsRequest{TeamId: team})
			return err
		}
	}
	assign := func(client, worker string) call {
		return func(c throughcarev1connect.AdminServiceClient) error {
			_, err := c.AssignClient(ctx, &v1.AssignClientRequest{ClientId: client, WorkerId: e.user(worker)})
			return err
		}
	}
	unassign := func(client, worker string) call {
		return func(c throughcarev1connect.AdminServiceClient) error {
			_, err := c.UnassignClient(ctx, &v1.UnassignClientRequest{ClientId: client, WorkerId: e.user(worker)})
			return err
		}
	}
	huge := strings.Repeat("x", 10_000)
	cases := []struct {
		name, token string
		call        call
		want        connect.Code
	}{
		{"no session GetArea", noSession, getArea, unauth},
		{"no session ListClients", noSession, listClients(""), unauth},
		{"no session CreateTeam", noSession, createTeam("T"), unauth},

		{"admin CreateTeam", adminA, createTeam("West"), ok},
		{"admin ListUsers", adminA, listUsers, ok},
		{"admin invite other area", adminA, invite(v1.Role_ROLE_WORKER, e.teamB1, "Jo"), notFound},
		{"admin invite no role", adminA, invite(v1.Role_ROLE_UNSPECIFIED, e.teamA1, "Jo"), invalid},
		{"admin create client other area", adminA, createClient(e.teamB1, "Sam"), notFound},
		{"admin list clients other area", adminA, listClients(e.teamB1), notFound},
		{"admin assign other area", adminA, assign(clientB1, workerB1), notFound},
		{"admin disable other area", adminA, disable(workerB1), notFound},
		{"admin unknown pathway", adminA, func(c throughcarev1connect.AdminServiceClient) error {
			_, err := c.CreateClient(ctx, &v1.CreateClientRequest{TeamId: e.teamA1, GivenName: "A", FamilyName: "B", Pathway: "nope"})
			return err
		}, invalid},

		{"supervisor ListTeams", supA1, listTeams, ok},
		{"supervisor CreateTeam", supA1, createTeam("Mine"), denied},
		{"supervisor invite worker own team", supA1, invite(v1.Role_ROLE_WORKER, e.teamA1, "Jo"), ok},
		{"supervisor invite worker other team", supA1, invite(v1.Role_ROLE_WORKER, e.teamA2, "Jo"), notFound},
		{"supervisor invite worker other area", supA1, invite(v1.Role_ROLE_WORKER, e.teamB1, "Jo"), notFound},
		{"supervisor invite supervisor", supA1, invite(v1.Role_ROLE_SUPERVISOR, e.teamA1, "Jo"), denied},
		{"supervisor invite admin", supA1, invite(v1.Role_ROLE_ADMIN, "", "Jo"), denied},
		{"supervisor disable", supA1, disable(workerA1), denied},
		{"supervisor create client own team", supA1, createClient(e.teamA1, "Sam"), ok},
		{"supervisor create client other team", supA1, createClient(e.teamA2, "Sam"), notFound},
		{"supervisor list clients other team", supA1, listClients(e.teamA2), notFound},
		{"supervisor assign own team", supA1, assign(clientA1, workerA1), ok},
		{"supervisor assign client other team", supA1, assign(clientA2, workerA2), notFound},
		{"supervisor assign worker other team", supA1, assign(clientA1, workerA2), notFound},
		{"supervisor assign other area", supA1, assign(clientB1, workerB1), notFound},
		{"supervisor unassign own team", supA1, unassign(clientA1, workerA1), ok},
		{"supervisor unassign other team", supA1, unassign(clientA2, workerA2), notFound},

		{"worker GetArea", workerA1, getArea, ok},
		{"worker ListTeams", workerA1, listTeams, denied},
		{"worker ListUsers", workerA1, listUsers, denied},
		{"worker invite", workerA1, invite(v1.Role_ROLE_WORKER, e.teamA1, "Jo"), denied},
		{"worker create client", workerA1, createClient(e.teamA1, "Sam"), denied},
		{"worker list clients", workerA1, listClients(""), denied},
		{"worker assign", workerA1, assign(clientA1, workerA1), denied},
		{"worker unassign other area", workerA1, unassign(clientB1, workerB1), denied},
		{"worker disable", workerA1, disable(workerA2), denied},

		{"oversized team name", adminA, createTeam(huge), tooLong},
		{"oversized given name", adminA, createClient(e.teamA1, huge), tooLong},
		{"oversized display name", adminA, invite(v1.Role_ROLE_WORKER, e.teamA1, huge), tooLong},
		{"oversized id", adminA, listClients(huge), tooLong},
	}
	far := []string{e.teamA2, e.teamB1, clientA2, clientB1, e.user(workerA2), e.user(workerB1)}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.call(e.admin(c.token))
			admCode(t, c.name, err, c.want)
			if err != nil {
				for _, s := range far {
					if strings.Contains(err.Error(), s) {
						t.Errorf("the message %q names an id", err)
					}
				}
			}
		})
	}
}

// TestAdminCreateClientIdempotencyKey: the same key names the same client.
func TestAdminCreateClientIdempotencyKey(t *testing.T) {
	e := newAdmEnv(t)
	c := e.admin("sup-a1")
	req := func(key string) *connect.Request[v1.CreateClientRequest] {
		r := connect.NewRequest(&v1.CreateClientRequest{TeamId: e.teamA1, GivenName: "Lee", FamilyName: "Walker", Pathway: "dtto"})
		if key != "" {
			r.Header().Set(api.IdempotencyKeyHeader, key)
		}
		return r
	}
	raw := connect.NewClient[v1.CreateClientRequest, v1.CreateClientResponse](e.http, e.url+throughcarev1connect.AdminServiceCreateClientProcedure,
		connect.WithInterceptors(servertest.BearerToken("sup-a1")))
	first, err := raw.CallUnary(t.Context(), req("form-1"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := raw.CallUnary(t.Context(), req("form-1"))
	if err != nil || again.Msg.GetClientId() != first.Msg.GetClientId() {
		t.Errorf("retry = %v, %v; want %s", again.Msg.GetClientId(), err, first.Msg.GetClientId())
	}
	other, err := raw.CallUnary(t.Context(), req(""))
	if err != nil || other.Msg.GetClientId() == first.Msg.GetClientId() {
		t.Errorf("no key = %v, %v", other.Msg.GetClientId(), err)
	}
	_, err = raw.CallUnary(t.Context(), req("has space"))
	admCode(t, "bad key", err, connect.CodeInvalidArgument)
	clients, err := c.ListClients(t.Context(), &v1.ListClientsRequest{})
	if err != nil || len(clients.GetClients()) != 2 {
		t.Errorf("clients = %v, %v", clients, err)
	}
}
