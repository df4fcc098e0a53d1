package admin

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/auth"
	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/servertest/fixture"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/syncengine"
)

// fakeSessions records what the service asks of the sessions layer.
type fakeSessions struct {
	mu      sync.Mutex
	ended   []string
	changed [][]string
	endErr  error
}

func (f *fakeSessions) EndUserSessions(_ context.Context, userID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ended = append(f.ended, userID)
	return f.endErr
}

func (f *fakeSessions) CaseloadChanged(userIDs ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.changed = append(f.changed, append([]string(nil), userIDs...))
}

func (f *fakeSessions) calls() (ended []string, changed [][]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ended...), append([][]string(nil), f.changed...)
}

func (f *fakeSessions) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ended, f.changed = nil, nil
}

// world is two areas with teams, users of every role and a service.
//
//	area A "Lambeth":  teams A1, A2
//	  adminA (admin), supA1 (supervisor of A1), supA2 (supervisor of A2),
//	  workerA1, worker2A1 (workers of A1), workerA2 (worker of A2),
//	  workerA12 (worker of A1 and A2)
//	area B "Hackney":  team B1
//	  adminB (admin), supB1 (supervisor of B1), workerB1 (worker of B1)
type world struct {
	t        *testing.T
	fx       *fixture.World
	st       *store.DB
	eng      *syncengine.Engine // writes client records (Config.Writer)
	devices  *auth.Service      // revokes devices (Config.Devices)
	svc      *Service
	sessions *fakeSessions
	clock    *fixture.Clock // near real time (the directory expires invites by real time)
	logs     *fixture.Logs

	areaA, areaB                 string
	teamA1, teamA2               string
	teamB1                       string
	users                        map[string]*store.User // by short name
	adminA, adminB               *identity.Identity
	supA1, supA2                 *identity.Identity
	supB1                        *identity.Identity
	workerA1                     *identity.Identity
	worker2A1                    *identity.Identity
	workerA2                     *identity.Identity
	workerA12                    *identity.Identity
	workerB1                     *identity.Identity
	ctx                          context.Context
	clientA1, clientA2, clientB1 string
}

func newID() string { return fixture.NewID() }

func openStore(t *testing.T) *store.DB {
	t.Helper()
	st, err := store.Open(store.Options{InMemory: true, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// newEngine returns a sync engine over st, the service's Writer.
func newEngine(t *testing.T, st *store.DB, now func() time.Time) *syncengine.Engine {
	t.Helper()
	eng, err := syncengine.New(syncengine.Config{Store: st, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Shutdown)
	return eng
}

// newDevices returns the sessions layer over st, the service's Devices.
func newDevices(t *testing.T, st *store.DB, now func() time.Time) *auth.Service {
	t.Helper()
	a, err := auth.New(auth.Config{RPID: "localhost", RPDisplayName: "Throughcare", RPOrigins: []string{"http://localhost"}, Now: now}, st)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, st: openStore(t), sessions: &fakeSessions{}, clock: fixture.NewClock(time.Now().UTC()),
		logs: &fixture.Logs{}, users: map[string]*store.User{}, ctx: context.Background()}
	w.eng = newEngine(t, w.st, w.clock.Now)
	w.devices = newDevices(t, w.st, w.clock.Now)
	svc, err := New(Config{Store: w.st, Sessions: w.sessions, Now: w.clock.Now, Logger: zerolog.New(w.logs), Writer: w.eng, Devices: w.devices})
	if err != nil {
		t.Fatal(err)
	}
	w.svc = svc
	w.fx = fixture.NewWorld(t, w.st)
	w.areaA, w.areaB = w.fx.AreaA, w.fx.AreaB
	w.teamA1, w.teamA2, w.teamB1 = w.fx.TeamA1, w.fx.TeamA2, w.fx.TeamB1
	// Lower case: team lists sort regardless of case.
	w.fx.Directory(func(tx store.DirTx) error {
		return tx.PutTeam(&store.Team{ID: w.teamA2, AreaID: w.areaA, Name: "east"})
	})
	w.adminA = w.addUser("adminA", w.areaA, identity.Admin)
	w.supA1 = w.addUser("supA1", w.areaA, identity.Supervisor, w.teamA1)
	w.supA2 = w.addUser("supA2", w.areaA, identity.Supervisor, w.teamA2)
	w.workerA1 = w.addUser("workerA1", w.areaA, identity.Worker, w.teamA1)
	w.worker2A1 = w.addUser("worker2A1", w.areaA, identity.Worker, w.teamA1)
	w.workerA2 = w.addUser("workerA2", w.areaA, identity.Worker, w.teamA2)
	w.workerA12 = w.addUser("workerA12", w.areaA, identity.Worker, w.teamA1, w.teamA2)
	w.adminB = w.addUser("adminB", w.areaB, identity.Admin)
	w.supB1 = w.addUser("supB1", w.areaB, identity.Supervisor, w.teamB1)
	w.workerB1 = w.addUser("workerB1", w.areaB, identity.Worker, w.teamB1)
	w.clientA1 = w.createClient(w.adminA, w.teamA1)
	w.clientA2 = w.createClient(w.adminA, w.teamA2)
	w.clientB1 = w.createClient(w.adminB, w.teamB1)
	w.sessions.reset()
	return w
}

func (w *world) addUser(name, area string, role identity.Role, teams ...string) *identity.Identity {
	w.t.Helper()
	u, id := w.fx.AddUser(name, area, role, w.clock.Now(), teams...)
	w.users[name] = u
	return id
}

func (w *world) createClient(id *identity.Identity, team string) string {
	w.t.Helper()
	cid, err := w.svc.CreateClient(w.ctx, id, NewClient{TeamID: team, GivenName: "Alex", FamilyName: "Smith", Pathway: "drr"})
	if err != nil {
		w.t.Fatalf("create client: %v", err)
	}
	return cid
}

func (w *world) user(id string) *store.User {
	w.t.Helper()
	var u *store.User
	err := w.st.DirectoryView(w.ctx, func(tx store.DirTx) error {
		var err error
		u, err = tx.User(id)
		return err
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return u
}

func (w *world) assignments(userID string) []*store.Assignment {
	w.t.Helper()
	var as []*store.Assignment
	err := w.st.DirectoryView(w.ctx, func(tx store.DirTx) error {
		var err error
		as, err = tx.AssignmentsOfUser(userID)
		return err
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return as
}

// wantKind fails unless err is a domain error of kind k (0: no error).
func wantKind(t *testing.T, what string, err error, k errkind.Kind) {
	t.Helper()
	if k == 0 {
		if err != nil {
			t.Errorf("%s: unexpected error %v", what, err)
		}
		return
	}
	var de *errkind.Error
	if !errors.As(err, &de) || de.Kind != k {
		t.Errorf("%s: got %v (kind %d), want kind %d", what, err, errkind.Of(err), k)
	}
}
