package admin

import (
	"strings"
	"testing"

	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
)

// TestScope pins who may do what to what: admins everything in their area,
// supervisors their own teams, workers nothing but GetArea; anything in
// another area or outside a supervisor's teams is NotFound, never
// Forbidden, and a role that may not use a method is Forbidden whatever it
// names.
func TestScope(t *testing.T) {
	const (
		ok        = errkind.Kind(0)
		notFound  = errkind.NotFound
		forbidden = errkind.Forbidden
		invalid   = errkind.Invalid
	)
	type op func(w *world, id *identity.Identity) error
	getArea := func(w *world, id *identity.Identity) error { _, err := w.svc.GetArea(w.ctx, id); return err }
	createTeam := func(w *world, id *identity.Identity) error {
		_, err := w.svc.CreateTeam(w.ctx, id, "Team "+newID())
		return err
	}
	listTeams := func(w *world, id *identity.Identity) error { _, err := w.svc.ListTeams(w.ctx, id); return err }
	listUsers := func(w *world, id *identity.Identity) error { _, err := w.svc.ListUsers(w.ctx, id); return err }
	invite := func(role identity.Role, team func(*world) string) op {
		return func(w *world, id *identity.Identity) error {
			_, err := w.svc.CreateInvite(w.ctx, id, role, team(w), "New Person")
			return err
		}
	}
	disable := func(user func(*world) string) op {
		return func(w *world, id *identity.Identity) error { return w.svc.DisableUser(w.ctx, id, user(w)) }
	}
	createClient := func(team func(*world) string) op {
		return func(w *world, id *identity.Identity) error {
			_, err := w.svc.CreateClient(w.ctx, id, NewClient{TeamID: team(w), GivenName: "Sam", FamilyName: "Jones", Pathway: "licence"})
			return err
		}
	}
	listClients := func(team func(*world) string) op {
		return func(w *world, id *identity.Identity) error {
			_, err := w.svc.ListClients(w.ctx, id, team(w))
			return err
		}
	}
	assign := func(client, worker func(*world) string) op {
		return func(w *world, id *identity.Identity) error {
			return w.svc.AssignClient(w.ctx, id, client(w), worker(w))
		}
	}
	unassign := func(client, worker func(*world) string) op {
		return func(w *world, id *identity.Identity) error {
			return w.svc.UnassignClient(w.ctx, id, client(w), worker(w))
		}
	}
	listInvites := func(w *world, id *identity.Identity) error {
		_, err := w.svc.ListInvites(w.ctx, id, InviteQuery{IncludeEnded: true})
		return err
	}
	// revoke has the caller revoke a fresh invite made by maker.
	revoke := func(maker func(*world) *identity.Identity, role identity.Role, team func(*world) string) op {
		return func(w *world, id *identity.Identity) error {
			in, err := w.svc.CreateInvite(w.ctx, maker(w), role, team(w), "New Person")
			if err != nil {
				w.t.Fatalf("setup: %v", err)
			}
			return w.svc.RevokeInvite(w.ctx, id, in.ID)
		}
	}
	revokeID := func(inviteID func(*world) string) op {
		return func(w *world, id *identity.Identity) error { return w.svc.RevokeInvite(w.ctx, id, inviteID(w)) }
	}
	closeCase := func(client func(*world) string) op {
		return func(w *world, id *identity.Identity) error { return w.svc.CloseClient(w.ctx, id, client(w)) }
	}
	listDevices := func(user func(*world) string) op {
		return func(w *world, id *identity.Identity) error {
			_, err := w.svc.ListUserDevices(w.ctx, id, user(w))
			return err
		}
	}
	none := func(*world) string { return "" }
	missing := func(*world) string { return newID() }
	teamA1 := func(w *world) string { return w.teamA1 }
	teamA2 := func(w *world) string { return w.teamA2 }
	teamB1 := func(w *world) string { return w.teamB1 }
	clientA1 := func(w *world) string { return w.clientA1 }
	clientA2 := func(w *world) string { return w.clientA2 }
	clientB1 := func(w *world) string { return w.clientB1 }
	workerA1 := func(w *world) string { return w.workerA1.UserID }
	workerA2 := func(w *world) string { return w.workerA2.UserID }
	workerB1 := func(w *world) string { return w.workerB1.UserID }
	worker2A1 := func(w *world) string { return w.worker2A1.UserID }
	supA1 := func(w *world) string { return w.supA1.UserID }

	adminA := func(w *world) *identity.Identity { return w.adminA }
	adminB := func(w *world) *identity.Identity { return w.adminB }
	supervisorA1 := func(w *world) *identity.Identity { return w.supA1 }
	worker := func(w *world) *identity.Identity { return w.workerA1 }

	cases := []struct {
		name   string
		caller func(*world) *identity.Identity
		op     op
		want   errkind.Kind
	}{
		// Admin: everything in the area; nothing outside it.
		{"admin GetArea", adminA, getArea, ok},
		{"admin CreateTeam", adminA, createTeam, ok},
		{"admin ListTeams", adminA, listTeams, ok},
		{"admin ListUsers", adminA, listUsers, ok},
		{"admin invite worker own area", adminA, invite(identity.Worker, teamA2), ok},
		{"admin invite supervisor own area", adminA, invite(identity.Supervisor, teamA1), ok},
		{"admin invite admin no team", adminA, invite(identity.Admin, none), ok},
		{"admin invite worker other area", adminA, invite(identity.Worker, teamB1), notFound},
		{"admin invite worker missing team", adminA, invite(identity.Worker, missing), notFound},
		{"admin invite worker no team", adminA, invite(identity.Worker, none), invalid},
		{"admin disable own area", adminA, disable(worker2A1), ok},
		{"admin disable other area", adminA, disable(workerB1), notFound},
		{"admin disable missing", adminA, disable(missing), notFound},
		{"admin create client own area", adminA, createClient(teamA2), ok},
		{"admin create client other area", adminA, createClient(teamB1), notFound},
		{"admin list clients", adminA, listClients(none), ok},
		{"admin list clients of a team", adminA, listClients(teamA2), ok},
		{"admin list clients other area", adminA, listClients(teamB1), notFound},
		{"admin assign own area", adminA, assign(clientA2, workerA2), ok},
		{"admin assign client other area", adminA, assign(clientB1, workerA1), notFound},
		{"admin assign worker other area", adminA, assign(clientA1, workerB1), notFound},
		{"admin assign missing client", adminA, assign(missing, workerA1), notFound},
		{"admin unassign own area", adminA, unassign(clientA1, workerA1), ok},
		{"admin unassign other area", adminA, unassign(clientB1, workerB1), notFound},
		{"admin list invites", adminA, listInvites, ok},
		{"admin revoke worker invite own area", adminA, revoke(adminA, identity.Worker, teamA2), ok},
		{"admin revoke admin invite own area", adminA, revoke(adminA, identity.Admin, none), ok},
		{"admin revoke supervisor's invite", adminA, revoke(supervisorA1, identity.Worker, teamA1), ok},
		{"admin revoke invite other area", adminA, revoke(adminB, identity.Worker, teamB1), notFound},
		{"admin revoke missing invite", adminA, revokeID(missing), notFound},
		{"admin revoke no invite", adminA, revokeID(none), invalid},
		{"admin close case own area", adminA, closeCase(clientA2), ok},
		{"admin close case other area", adminA, closeCase(clientB1), notFound},
		{"admin list devices own area", adminA, listDevices(workerA2), ok},
		{"admin list devices other area", adminA, listDevices(workerB1), notFound},

		// Supervisor of A1: their team only.
		{"supervisor GetArea", supervisorA1, getArea, ok},
		{"supervisor CreateTeam", supervisorA1, createTeam, forbidden},
		{"supervisor ListTeams", supervisorA1, listTeams, ok},
		{"supervisor ListUsers", supervisorA1, listUsers, ok},
		{"supervisor invite worker own team", supervisorA1, invite(identity.Worker, teamA1), ok},
		{"supervisor invite worker other team", supervisorA1, invite(identity.Worker, teamA2), notFound},
		{"supervisor invite worker other area", supervisorA1, invite(identity.Worker, teamB1), notFound},
		{"supervisor invite supervisor", supervisorA1, invite(identity.Supervisor, teamA1), forbidden},
		{"supervisor invite admin", supervisorA1, invite(identity.Admin, none), forbidden},
		{"supervisor disable own team", supervisorA1, disable(workerA1), forbidden},
		{"supervisor disable other area", supervisorA1, disable(workerB1), forbidden},
		{"supervisor create client own team", supervisorA1, createClient(teamA1), ok},
		{"supervisor create client other team", supervisorA1, createClient(teamA2), notFound},
		{"supervisor create client other area", supervisorA1, createClient(teamB1), notFound},
		{"supervisor list clients", supervisorA1, listClients(none), ok},
		{"supervisor list clients own team", supervisorA1, listClients(teamA1), ok},
		{"supervisor list clients other team", supervisorA1, listClients(teamA2), notFound},
		{"supervisor list clients other area", supervisorA1, listClients(teamB1), notFound},
		{"supervisor assign own team", supervisorA1, assign(clientA1, workerA1), ok},
		{"supervisor assign client other team", supervisorA1, assign(clientA2, workerA1), notFound},
		{"supervisor assign worker other team", supervisorA1, assign(clientA1, workerA2), notFound},
		{"supervisor assign other area", supervisorA1, assign(clientB1, workerB1), notFound},
		{"supervisor assign a supervisor", supervisorA1, assign(clientA1, supA1), invalid},
		{"supervisor unassign own team", supervisorA1, unassign(clientA1, workerA1), ok},
		{"supervisor unassign other team", supervisorA1, unassign(clientA2, workerA2), notFound},
		{"supervisor unassign other area", supervisorA1, unassign(clientB1, workerB1), notFound},
		{"supervisor list invites", supervisorA1, listInvites, ok},
		{"supervisor revoke own invite", supervisorA1, revoke(supervisorA1, identity.Worker, teamA1), ok},
		{"supervisor revoke admin's worker invite own team", supervisorA1, revoke(adminA, identity.Worker, teamA1), ok},
		{"supervisor revoke supervisor invite own team", supervisorA1, revoke(adminA, identity.Supervisor, teamA1), notFound},
		{"supervisor revoke admin invite", supervisorA1, revoke(adminA, identity.Admin, none), notFound},
		{"supervisor revoke invite other team", supervisorA1, revoke(adminA, identity.Worker, teamA2), notFound},
		{"supervisor revoke invite other area", supervisorA1, revoke(adminB, identity.Worker, teamB1), notFound},
		{"supervisor close case own team", supervisorA1, closeCase(clientA1), ok},
		{"supervisor close case other team", supervisorA1, closeCase(clientA2), notFound},
		{"supervisor close case other area", supervisorA1, closeCase(clientB1), notFound},
		{"supervisor list devices own team", supervisorA1, listDevices(workerA1), forbidden},

		// Worker: GetArea only.
		{"worker GetArea", worker, getArea, ok},
		{"worker CreateTeam", worker, createTeam, forbidden},
		{"worker ListTeams", worker, listTeams, forbidden},
		{"worker ListUsers", worker, listUsers, forbidden},
		{"worker invite", worker, invite(identity.Worker, teamA1), forbidden},
		{"worker disable", worker, disable(workerA2), forbidden},
		{"worker create client", worker, createClient(teamA1), forbidden},
		{"worker list clients", worker, listClients(none), forbidden},
		{"worker assign", worker, assign(clientA1, workerA1), forbidden},
		{"worker unassign", worker, unassign(clientA1, workerA1), forbidden},
		{"worker assign other area", worker, assign(clientB1, workerB1), forbidden},
		{"worker list invites", worker, listInvites, forbidden},
		{"worker revoke invite", worker, revoke(adminA, identity.Worker, teamA1), forbidden},
		{"worker revoke missing invite", worker, revokeID(missing), forbidden},
		{"worker close case", worker, closeCase(clientA1), forbidden},
		{"worker list devices", worker, listDevices(workerA1), forbidden},
	}
	w := newWorld(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := c.caller(w)
			err := c.op(w, id)
			wantKind(t, c.name, err, c.want)
			// Messages never carry the ids named in the request.
			if err != nil {
				for _, secret := range []string{w.teamA2, w.teamB1, w.clientA2, w.clientB1, w.workerA2.UserID, w.workerB1.UserID, w.areaB} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("%s: error message %q names an id", c.name, err)
					}
				}
			}
		})
	}
}

// TestCallerMustBeCurrent: a caller missing from the directory, disabled,
// in another area than their identity says, or whose role changed must sign
// in again.
func TestCallerMustBeCurrent(t *testing.T) {
	w := newWorld(t)
	ghost := &identity.Identity{UserID: newID(), Role: identity.Admin, Area: w.areaA}
	otherArea := *w.adminA
	otherArea.Area = w.areaB
	promoted := *w.workerA1
	promoted.Role = identity.Admin
	for name, id := range map[string]*identity.Identity{"nil": nil, "ghost": ghost, "other area": &otherArea, "promoted": &promoted} {
		_, err := w.svc.ListTeams(w.ctx, id)
		wantKind(t, name, err, errkind.Unauthenticated)
	}
	if err := w.svc.DisableUser(w.ctx, w.adminA, w.supA1.UserID); err != nil {
		t.Fatal(err)
	}
	_, err := w.svc.ListTeams(w.ctx, w.supA1)
	wantKind(t, "disabled supervisor", err, errkind.Unauthenticated)
	_, err = w.svc.GetArea(w.ctx, w.supA1)
	wantKind(t, "disabled supervisor GetArea", err, errkind.Unauthenticated)
	_, err = w.svc.CreateClient(w.ctx, nil, NewClient{})
	wantKind(t, "nil CreateClient", err, errkind.Unauthenticated)
}
