package access

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
)

// directory is a two-area directory: area A with teams A1 and A2, area B
// with team B1, their people and clients.
type directory struct {
	st                               *store.DB
	areaA, areaB                     string
	teamA1, teamA2, teamB1           string
	adminA, supA1, supBoth, w1, w2   *store.User
	adminB, supGone, adminGone, dual *store.User
	c1, c2, cB                       string
	assigned, ended                  time.Time
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func newDirectory(t *testing.T) *directory {
	t.Helper()
	st, err := store.Open(store.Options{InMemory: true, GCInterval: -1, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	d := &directory{st: st, areaA: newID(), areaB: newID(), teamA1: newID(), teamA2: newID(), teamB1: newID(),
		c1: newID(), c2: newID(), cB: newID(),
		assigned: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC), ended: time.Date(2026, 11, 20, 17, 0, 0, 0, time.UTC)}
	user := func(area, role string, teams ...string) *store.User {
		id := newID()
		return &store.User{ID: id, AreaID: area, Role: role, TeamIDs: teams, DisplayName: role, Handle: []byte(id)}
	}
	d.adminA = user(d.areaA, "admin")
	d.supA1 = user(d.areaA, "supervisor", d.teamA1)
	d.supBoth = user(d.areaA, "supervisor", d.teamA1, d.teamA2)
	d.w1 = user(d.areaA, "worker", d.teamA1)
	d.w2 = user(d.areaA, "worker", d.teamA2)
	d.adminB = user(d.areaB, "admin")
	d.supGone = user(d.areaA, "supervisor", d.teamA1)
	d.supGone.Disabled = true
	d.adminGone = user(d.areaA, "admin")
	d.adminGone.Disabled = true
	d.dual = user(d.areaA, "worker", d.teamA1, d.teamA2)
	err = st.Directory(context.Background(), func(tx store.DirTx) error {
		for _, a := range []*store.Area{{ID: d.areaA, Name: "Lambeth"}, {ID: d.areaB, Name: "Hackney"}} {
			if err := tx.PutArea(a); err != nil {
				return err
			}
		}
		for _, tm := range []*store.Team{{ID: d.teamA1, AreaID: d.areaA, Name: "North"}, {ID: d.teamA2, AreaID: d.areaA, Name: "East"},
			{ID: d.teamB1, AreaID: d.areaB, Name: "Central"}} {
			if err := tx.PutTeam(tm); err != nil {
				return err
			}
		}
		for _, u := range []*store.User{d.adminA, d.supA1, d.supBoth, d.w1, d.w2, d.adminB, d.supGone, d.adminGone, d.dual} {
			if err := tx.PutUser(u); err != nil {
				return err
			}
		}
		for _, c := range []*store.Client{{ID: d.c1, AreaID: d.areaA, TeamID: d.teamA1}, {ID: d.c2, AreaID: d.areaA, TeamID: d.teamA2},
			{ID: d.cB, AreaID: d.areaB, TeamID: d.teamB1}} {
			if err := tx.PutClient(c); err != nil {
				return err
			}
		}
		// w1 holds c1 and held c2 once; w2 holds c2.
		for _, a := range []*store.Assignment{{ClientID: d.c1, UserID: d.w1.ID, From: d.assigned},
			{ClientID: d.c2, UserID: d.w1.ID, From: d.assigned, To: d.ended},
			{ClientID: d.c2, UserID: d.w2.ID, From: d.ended}} {
			if err := tx.PutAssignment(a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *directory) view(t *testing.T, fn func(tx store.DirTx) error) {
	t.Helper()
	if err := d.st.DirectoryView(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func ident(u *store.User) *identity.Identity {
	return &identity.Identity{UserID: u.ID, Role: identity.ParseRole(u.Role), Area: u.AreaID}
}

func sorted(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// Each role's caseload: a worker's open assignments (and the periods of
// the clients they held before), a supervisor's teams' clients, an admin's
// area's clients.
func TestCaseload(t *testing.T) {
	d := newDirectory(t)
	tests := []struct {
		name   string
		u      *store.User
		want   []string
		former map[string][]identity.Period
	}{
		{"worker", d.w1, []string{d.c1}, map[string][]identity.Period{d.c2: {{From: d.assigned, To: d.ended}}}},
		{"worker_newly_assigned", d.w2, []string{d.c2}, nil},
		{"unassigned_worker", d.dual, nil, nil},
		{"supervisor", d.supA1, []string{d.c1}, nil},
		{"supervisor_of_two_teams", d.supBoth, sorted(d.c1, d.c2), nil},
		{"admin", d.adminA, sorted(d.c1, d.c2), nil},
		{"other_area_admin", d.adminB, []string{d.cB}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d.view(t, func(tx store.DirTx) error {
				got, former, err := Caseload(tx, tt.u, identity.ParseRole(tt.u.Role))
				if err != nil {
					return err
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("buckets %v, want %v", got, tt.want)
				}
				if fmt.Sprint(former) != fmt.Sprint(tt.former) {
					t.Errorf("former %v, want %v", former, tt.former)
				}
				return nil
			})
		})
	}
}

// A new client is held at once by its area's enabled admins and its team's
// enabled supervisors, and nobody else.
func TestNewClientHolders(t *testing.T) {
	d := newDirectory(t)
	tests := []struct {
		area, team string
		want       []string
	}{
		{d.areaA, d.teamA1, sorted(d.adminA.ID, d.supA1.ID, d.supBoth.ID)},
		{d.areaA, d.teamA2, sorted(d.adminA.ID, d.supBoth.ID)},
		{d.areaB, d.teamB1, []string{d.adminB.ID}},
	}
	for i, tt := range tests {
		d.view(t, func(tx store.DirTx) error {
			got, err := NewClientHolders(tx, tt.area, tt.team)
			slices.Sort(got)
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("case %d: holders %v, %v; want %v", i, got, err, tt.want)
			}
			return nil
		})
	}
}

// Resolve refuses a role that may not act before anything else, and a
// caller whose directory entry no longer matches their identity.
func TestResolve(t *testing.T) {
	d := newDirectory(t)
	promoted := ident(d.w1)
	promoted.Role = identity.Supervisor
	moved := ident(d.supA1)
	moved.Area = d.areaB
	ghost := &identity.Identity{UserID: newID(), Role: identity.Admin, Area: d.areaA}
	tests := []struct {
		name string
		id   *identity.Identity
		a    Action
		want errkind.Kind
	}{
		{"admin", ident(d.adminA), CreateTeams, 0},
		{"supervisor", ident(d.supA1), ListClients, 0},
		{"worker_describes_area", ident(d.w1), DescribeArea, 0},
		{"worker_lists_clients", ident(d.w1), ListClients, errkind.Forbidden},
		{"supervisor_creates_teams", ident(d.supA1), CreateTeams, errkind.Forbidden},
		{"nobody", nil, DescribeArea, errkind.Unauthenticated},
		{"ghost", ghost, DescribeArea, errkind.Unauthenticated},
		{"disabled", ident(d.supGone), ListClients, errkind.Unauthenticated},
		{"role_changed", promoted, ListClients, errkind.Unauthenticated},
		{"other_area", moved, ListClients, errkind.Unauthenticated},
		{"ghost_forbidden_first", &identity.Identity{UserID: newID(), Role: identity.Worker}, CreateTeams, errkind.Forbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d.view(t, func(tx store.DirTx) error {
				r, err := Resolve(tx, tt.id, tt.a)
				if got := errkind.Of(err); got != tt.want || (err == nil) != (r != nil) {
					t.Errorf("Resolve = %v, %v; want kind %v", r, err, tt.want)
				}
				return nil
			})
		})
	}
}

// What an admin and a supervisor reach: teams, users, clients and invites.
func TestReach(t *testing.T) {
	d := newDirectory(t)
	type reaches struct{ admin, supervisor bool }
	found := func(_ any, err error) bool {
		if err != nil && errkind.Of(err) != errkind.NotFound {
			t.Fatalf("lookup error %v, want found or NotFound", err)
		}
		return err == nil
	}
	tests := []struct {
		name string
		look func(r *Reach, tx store.DirTx) bool
		want reaches
	}{
		{"own_team", func(r *Reach, tx store.DirTx) bool { return found(r.Team(tx, d.teamA1)) }, reaches{true, true}},
		{"other_team", func(r *Reach, tx store.DirTx) bool { return found(r.Team(tx, d.teamA2)) }, reaches{true, false}},
		{"other_area_team", func(r *Reach, tx store.DirTx) bool { return found(r.Team(tx, d.teamB1)) }, reaches{false, false}},
		{"unknown_team", func(r *Reach, tx store.DirTx) bool { return found(r.Team(tx, newID())) }, reaches{false, false}},
		{"own_team_client", func(r *Reach, tx store.DirTx) bool { return found(r.Client(tx, d.c1)) }, reaches{true, true}},
		{"other_team_client", func(r *Reach, tx store.DirTx) bool { return found(r.Client(tx, d.c2)) }, reaches{true, false}},
		{"other_area_client", func(r *Reach, tx store.DirTx) bool { return found(r.Client(tx, d.cB)) }, reaches{false, false}},
		{"team_mate", func(r *Reach, tx store.DirTx) bool { return found(r.Member(tx, d.w1.ID, "user_id")) }, reaches{true, true}},
		{"worker_of_both_teams", func(r *Reach, tx store.DirTx) bool { return found(r.Member(tx, d.dual.ID, "user_id")) }, reaches{true, true}},
		{"other_team_worker", func(r *Reach, tx store.DirTx) bool { return found(r.Member(tx, d.w2.ID, "user_id")) }, reaches{true, false}},
		{"other_area_admin", func(r *Reach, tx store.DirTx) bool { return found(r.Member(tx, d.adminB.ID, "user_id")) }, reaches{false, false}},
		{"worker_invite_to_own_team", func(r *Reach, _ store.DirTx) bool {
			return r.ManagesInvite(&store.Invite{AreaID: d.areaA, Role: "worker", TeamID: d.teamA1})
		}, reaches{true, true}},
		{"supervisor_invite_to_own_team", func(r *Reach, _ store.DirTx) bool {
			return r.ManagesInvite(&store.Invite{AreaID: d.areaA, Role: "supervisor", TeamID: d.teamA1})
		}, reaches{true, false}},
		{"worker_invite_to_other_team", func(r *Reach, _ store.DirTx) bool {
			return r.ManagesInvite(&store.Invite{AreaID: d.areaA, Role: "worker", TeamID: d.teamA2})
		}, reaches{true, false}},
		{"other_area_invite", func(r *Reach, _ store.DirTx) bool {
			return r.ManagesInvite(&store.Invite{AreaID: d.areaB, Role: "worker", TeamID: d.teamB1})
		}, reaches{false, false}},
		{"may_invite_worker", func(r *Reach, _ store.DirTx) bool { return r.MayInvite(identity.Worker) }, reaches{true, true}},
		{"may_invite_supervisor", func(r *Reach, _ store.DirTx) bool { return r.MayInvite(identity.Supervisor) }, reaches{true, false}},
		{"may_invite_admin", func(r *Reach, _ store.DirTx) bool { return r.MayInvite(identity.Admin) }, reaches{true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d.view(t, func(tx store.DirTx) error {
				for _, c := range []struct {
					u    *store.User
					want bool
				}{{d.adminA, tt.want.admin}, {d.supA1, tt.want.supervisor}} {
					r, err := Resolve(tx, ident(c.u), ListUsers)
					if err != nil {
						return err
					}
					if got := tt.look(r, tx); got != c.want {
						t.Errorf("%s: reaches %v, want %v", c.u.Role, got, c.want)
					}
				}
				return nil
			})
		})
	}
}

// An empty id is invalid, not merely out of reach.
func TestReachNeedsIDs(t *testing.T) {
	d := newDirectory(t)
	d.view(t, func(tx store.DirTx) error {
		r, err := Resolve(tx, ident(d.adminA), ListUsers)
		if err != nil {
			return err
		}
		_, e1 := r.Team(tx, "")
		_, e2 := r.Client(tx, "")
		_, e3 := r.Member(tx, "", "worker_id")
		for _, err := range []error{e1, e2, e3} {
			if errkind.Of(err) != errkind.Invalid {
				t.Errorf("lookup of an empty id: %v, want Invalid", err)
			}
		}
		return nil
	})
}

// Only an enabled worker of the client's team may be assigned it.
func TestAssignable(t *testing.T) {
	d := newDirectory(t)
	c1 := &store.Client{ID: d.c1, AreaID: d.areaA, TeamID: d.teamA1}
	disabled := *d.w1
	disabled.Disabled = true
	tests := []struct {
		name string
		u    *store.User
		want errkind.Kind
	}{
		{"team_worker", d.w1, 0},
		{"worker_of_both_teams", d.dual, 0},
		{"other_team_worker", d.w2, errkind.Invalid},
		{"supervisor", d.supA1, errkind.Invalid},
		{"disabled_worker", &disabled, errkind.Precondition},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Assignable(tt.u, c1); errkind.Of(err) != tt.want || (tt.want == 0) != (err == nil) {
				t.Fatalf("Assignable = %v, want kind %v", err, tt.want)
			}
		})
	}
}
