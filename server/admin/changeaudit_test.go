package admin

import (
	"slices"
	"testing"

	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
)

// auditLine is what a test compares of an audit entry: ids only.
type auditLine struct {
	action       store.AuditAction
	user, role   string
	client       string
	record, team string
}

// auditBy returns the entries of the area's chain made by a user, as lines,
// leaving out the given actions.
func (w *world) auditBy(area, user string, skip ...store.AuditAction) []auditLine {
	w.t.Helper()
	var out []auditLine
	if err := w.st.DirectoryView(w.ctx, func(tx store.DirTx) error {
		entries, err := tx.AuditOfUser(area, user, 0, 0)
		for _, e := range entries {
			if slices.Contains(skip, e.Action) {
				continue
			}
			l := auditLine{action: e.Action, user: e.UserID, role: e.Role, record: e.RecordID, team: e.TeamID}
			if len(e.ClientIDs) == 1 {
				l.client = e.ClientIDs[0]
			}
			out = append(out, l)
		}
		return err
	}); err != nil {
		w.t.Fatal(err)
	}
	return out
}

// Each change to who may do what is audited once, in its transaction:
// inviting and revoking, assigning and unassigning, disabling a user. A
// retry that changes nothing writes nothing, and a refused change writes
// nothing either.
func TestAccessChangesAreAudited(t *testing.T) {
	w := newWorld(t)
	sup, admin := w.supA1, w.adminA
	inv := w.mustInvite(sup, identity.Worker, w.teamA1, "New Worker")
	for range 2 {
		if err := w.svc.RevokeInvite(w.ctx, sup, inv.ID); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if err := w.svc.AssignClient(w.ctx, sup, w.clientA1, w.workerA1.UserID); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if err := w.svc.UnassignClient(w.ctx, sup, w.clientA1, w.workerA1.UserID); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.svc.AssignClient(w.ctx, sup, w.clientA2, w.workerA2.UserID); err == nil {
		t.Fatal("a supervisor assigned another team's client")
	}
	for range 2 {
		if err := w.svc.DisableUser(w.ctx, admin, w.worker2A1.UserID); err != nil {
			t.Fatal(err)
		}
	}

	want := []auditLine{
		{action: store.AuditCreateInvite, user: sup.UserID, role: "supervisor", record: inv.ID, team: w.teamA1},
		{action: store.AuditRevokeInvite, user: sup.UserID, role: "supervisor", record: inv.ID, team: w.teamA1},
		{action: store.AuditAssignClient, user: sup.UserID, role: "supervisor", client: w.clientA1, record: w.workerA1.UserID},
		{action: store.AuditUnassignClient, user: sup.UserID, role: "supervisor", client: w.clientA1, record: w.workerA1.UserID},
	}
	if got := w.auditBy(w.areaA, sup.UserID); !slices.Equal(got, want) {
		t.Errorf("the supervisor's entries:\n got %+v\nwant %+v", got, want)
	}
	wantAdmin := []auditLine{{action: store.AuditDisableUser, user: admin.UserID, role: "admin", record: w.worker2A1.UserID}}
	if got := w.auditBy(w.areaA, admin.UserID, store.AuditCreateClient); !slices.Equal(got, wantAdmin) {
		t.Errorf("the admin's entries:\n got %+v\nwant %+v", got, wantAdmin)
	}
}
