package subject_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server"
	"github.com/throughcare/throughcare/server/admin"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/servertest"
	"github.com/throughcare/throughcare/server/servertest/fixture"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/protocol"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// env is the whole server in process, on a settable clock, with the
// two-area world: an admin of each area, a supervisor and a worker of team
// A1 (the worker pushing from a sample device).
type env struct {
	*servertest.Env
	t                 *testing.T
	ctx               context.Context
	clock             *fixture.Clock
	w                 *fixture.World
	adminA, adminB    *identity.Identity
	sup, worker       *identity.Identity
	dev               *sample.Device
	adminName, wkName string
	sessions          *sessions
}

// sessions records the users told their caseload changed.
type sessions struct {
	mu      sync.Mutex
	changed []string
}

func (s *sessions) EndUserSessions(context.Context, string) error { return nil }

func (s *sessions) CaseloadChanged(userIDs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changed = append(s.changed, userIDs...)
}

// take returns the users told since the last call, sorted.
func (s *sessions) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.changed
	s.changed = nil
	slices.Sort(out)
	return slices.Compact(out)
}

// options adjusts newEnv's server.
type options struct {
	retention time.Duration
	passkeys  bool // callers are the passkey sessions (for SDK devices)
}

func newEnv(t *testing.T, retention time.Duration) *env {
	t.Helper()
	return newEnvWith(t, options{retention: retention})
}

func newEnvWith(t *testing.T, o options) *env {
	t.Helper()
	clock := fixture.NewClock(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	sessions := &sessions{}
	so := servertest.Options{Now: clock.Now, Passkeys: o.passkeys, Server: func(c *server.Config) { c.Retention = o.retention }}
	if !o.passkeys {
		so.Sessions = sessions
	}
	se := servertest.New(t, so)
	e := &env{Env: se, sessions: sessions, t: t, ctx: context.Background(), clock: clock, w: fixture.NewWorld(t, se.Store), adminName: "Alex Admin", wkName: "Wendy Worker"}
	_, e.adminA = e.w.AddUser(e.adminName, e.w.AreaA, identity.Admin, clock.Now())
	_, e.adminB = e.w.AddUser("Bea Admin", e.w.AreaB, identity.Admin, clock.Now())
	_, e.sup = e.w.AddUser("Sam Supervisor", e.w.AreaA, identity.Supervisor, clock.Now(), e.w.TeamA1)
	_, e.worker = e.w.AddUser(e.wkName, e.w.AreaA, identity.Worker, clock.Now(), e.w.TeamA1)
	e.dev = sample.NewDevice(e.worker.UserID, clock.Now, 11)
	e.worker.DeviceID = e.dev.ID
	return e
}

// client creates a client of team A1 (as admin A, with an idempotency key
// named after them) assigned to the worker, and gives everyone of area A
// its bucket.
func (e *env) client(given, family string) string {
	e.t.Helper()
	id, err := e.Server.Admin.CreateClient(e.ctx, e.adminA, admin.NewClient{TeamID: e.w.TeamA1, GivenName: given, FamilyName: family,
		DateOfBirth: &v1.Date{Year: 1980, Month: 4, Day: 2}, Pathway: "licence", IdempotencyKey: "client-" + given + "-" + family})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.Server.Admin.AssignClient(e.ctx, e.adminA, id, e.worker.UserID); err != nil {
		e.t.Fatal(err)
	}
	for _, p := range []*identity.Identity{e.adminA, e.sup, e.worker} {
		p.Buckets = append(p.Buckets, id)
		slices.Sort(p.Buckets)
	}
	return id
}

// push pushes changes as the worker and fails unless all apply.
func (e *env) push(by *identity.Identity, chs ...*v1.Change) {
	e.t.Helper()
	resp, err := e.Engine.Push(e.ctx, by, &v1.PushRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1, Changes: chs})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, r := range resp.GetResults() {
		if r.GetVerdict() != v1.Verdict_VERDICT_APPLIED {
			e.t.Fatalf("push: %v", r)
		}
	}
}

// contact logs a contact with notes as the worker and returns its id.
func (e *env) contact(client, notes string) string {
	e.t.Helper()
	id, chs := e.dev.NewContact(client, e.clock.Now())
	for _, ch := range chs {
		if ch.GetField() == "notes" {
			ch.Value = sample.Str(notes)
		}
	}
	e.push(e.worker, chs...)
	return id
}

// setStatus writes a client's status as admin A (on the server's account).
func (e *env) setStatus(client, status string) {
	e.t.Helper()
	res, err := e.Engine.WriteAs(e.ctx, e.adminA.UserID, []*v1.Change{{RecordId: client, RecordType: "client", ClientId: client, Field: "status", Value: sample.Str(status)}}, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, r := range res.Results {
		if r.Verdict != v1.Verdict_VERDICT_APPLIED {
			e.t.Fatalf("status %s: %v", status, r)
		}
	}
}
