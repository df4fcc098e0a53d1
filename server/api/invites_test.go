package api_test

import (
	"sync"
	"testing"

	"connectrpc.com/connect"

	"github.com/throughcare/throughcare/client-sdk/passkey"
	"github.com/throughcare/throughcare/client-sdk/passkey/software"
	"github.com/throughcare/throughcare/server/auth"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// enrolWith tries to enrol a new software passkey with an invite code.
func (w *world) enrolWith(code string) error {
	_, err := passkey.Enrol(w.ctx, w.authClient(""), software.New(testRP.Origin), code, "Tablet")
	return err
}

// inviteState lists the caller's invites, ended ones too, and returns the
// state of one (UNSPECIFIED if it is not listed).
func (w *world) inviteState(by *person, inviteID string) v1.InviteState {
	w.t.Helper()
	resp, err := w.adminClient(by.token()).ListInvites(w.ctx, &v1.ListInvitesRequest{IncludeEnded: true, PageSize: 500})
	if err != nil {
		w.t.Fatalf("ListInvites: %v", err)
	}
	for _, in := range resp.GetInvites() {
		if in.GetInviteId() == inviteID {
			return in.GetState()
		}
	}
	return v1.InviteState_INVITE_STATE_UNSPECIFIED
}

// TestInvitesOverTheAPI enrols real passkeys: a revoked invite, or one
// whose inviter has been disabled, refuses enrolment exactly as an unknown
// code does; another area cannot revoke an invite, which keeps working; a
// used invite cannot be revoked.
func TestInvitesOverTheAPI(t *testing.T) {
	w := newWorld(t, nil)
	admA := w.adminClient(w.adminA.token())
	unknown := w.enrolWith(auth.NewInviteCode())
	if connect.CodeOf(unknown) != connect.CodeNotFound {
		t.Fatalf("an unknown code: %v", unknown)
	}
	refusedLikeUnknown := func(what string, err error) {
		t.Helper()
		if connect.CodeOf(err) != connect.CodeNotFound || err.Error() != unknown.Error() {
			t.Errorf("%s: enrolment answered %v, want exactly what an unknown code gets (%v)", what, err, unknown)
		}
	}
	newInvite := func(by *person, team string) *v1.CreateInviteResponse {
		t.Helper()
		resp, err := w.adminClient(by.token()).CreateInvite(w.ctx, &v1.CreateInviteRequest{Role: v1.Role_ROLE_WORKER, TeamId: team, DisplayName: "Pat Example"})
		if err != nil || resp.GetInviteId() == "" {
			t.Fatalf("CreateInvite = %v, %v", resp, err)
		}
		return resp
	}

	// Revoked: refused; revoking again is fine.
	revoked := newInvite(w.adminA, w.teams[own])
	if st := w.inviteState(w.adminA, revoked.GetInviteId()); st != v1.InviteState_INVITE_STATE_PENDING {
		t.Fatalf("a new invite is listed as %v", st)
	}
	for range 2 {
		if _, err := admA.RevokeInvite(w.ctx, &v1.RevokeInviteRequest{InviteId: revoked.GetInviteId()}); err != nil {
			t.Fatalf("RevokeInvite: %v", err)
		}
	}
	refusedLikeUnknown("revoked invite", w.enrolWith(revoked.GetInviteCode()))
	if st := w.inviteState(w.adminA, revoked.GetInviteId()); st != v1.InviteState_INVITE_STATE_REVOKED {
		t.Errorf("a revoked invite is listed as %v", st)
	}

	// Inviter disabled: refused.
	orphan := newInvite(w.supA1, w.teams[own])
	if _, err := admA.DisableUser(w.ctx, &v1.DisableUserRequest{UserId: w.supA1.sess.GetUserId()}); err != nil {
		t.Fatal(err)
	}
	refusedLikeUnknown("invite from a disabled supervisor", w.enrolWith(orphan.GetInviteCode()))
	if st := w.inviteState(w.adminA, orphan.GetInviteId()); st != v1.InviteState_INVITE_STATE_INVITER_DISABLED {
		t.Errorf("a disabled supervisor's invite is listed as %v", st)
	}

	// Another area's admin cannot revoke an invite (NotFound), which still
	// enrols; once used it cannot be revoked.
	kept := newInvite(w.adminA, w.teams[otherTeam])
	_, err := w.adminClient(w.adminB.token()).RevokeInvite(w.ctx, &v1.RevokeInviteRequest{InviteId: kept.GetInviteId()})
	if connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("another area's revoke: %v, want NotFound", err)
	}
	if err := w.enrolWith(kept.GetInviteCode()); err != nil {
		t.Fatalf("the invite another area tried to revoke: %v", err)
	}
	if st := w.inviteState(w.adminA, kept.GetInviteId()); st != v1.InviteState_INVITE_STATE_USED {
		t.Errorf("a used invite is listed as %v", st)
	}
	_, err = admA.RevokeInvite(w.ctx, &v1.RevokeInviteRequest{InviteId: kept.GetInviteId()})
	if connect.CodeOf(err) != connect.CodeFailedPrecondition {
		t.Errorf("revoking a used invite: %v, want FailedPrecondition", err)
	}
}

// TestRevokeRacesEnrolment: an invite revoked while someone enrols with it
// either enrols them (and the revocation is refused: it was used) or not
// (and the revocation stands); never both, never neither.
func TestRevokeRacesEnrolment(t *testing.T) {
	w := newWorld(t, nil)
	admA := w.adminClient(w.adminA.token())
	for i := range 8 {
		made, err := admA.CreateInvite(w.ctx, &v1.CreateInviteRequest{Role: v1.Role_ROLE_WORKER, TeamId: w.teams[own], DisplayName: "Pat Example"})
		if err != nil {
			t.Fatal(err)
		}
		var enrolErr, revokeErr error
		var wg sync.WaitGroup
		wg.Go(func() { enrolErr = w.enrolWith(made.GetInviteCode()) })
		wg.Go(func() {
			_, revokeErr = admA.RevokeInvite(w.ctx, &v1.RevokeInviteRequest{InviteId: made.GetInviteId()})
		})
		wg.Wait()
		switch {
		case enrolErr == nil && connect.CodeOf(revokeErr) == connect.CodeFailedPrecondition:
		case revokeErr == nil && connect.CodeOf(enrolErr) == connect.CodeNotFound:
		default:
			t.Fatalf("round %d: enrolment %v, revocation %v", i, enrolErr, revokeErr)
		}
	}
}
