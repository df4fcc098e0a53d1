package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/store"
)

// TestInviteNeedsAnActiveInviter: an invite enrols someone only while
// whoever made it may still sign in. Once the inviter is disabled (before
// the ceremony begins or while it runs), or if the inviter is not a user of
// the invite's area, the invite answers exactly as one that does not
// exist. Invites the server minted itself have no inviter and keep working.
func TestInviteNeedsAnActiveInviter(t *testing.T) {
	const (
		beforeBegin  = "before begin"
		beforeFinish = "before finish"
	)
	tests := []struct {
		name string
		// createdBy returns the invite's CreatedBy, given the supervisor
		// who may have made it.
		createdBy  func(sup string) string
		disableAt  string // when the supervisor is disabled, if at all
		wantRefuse bool
	}{
		{name: "active_inviter", createdBy: func(sup string) string { return sup }},
		{name: "server_minted", createdBy: func(string) string { return store.InviteByServer }},
		{name: "inviter_disabled", createdBy: func(sup string) string { return sup }, disableAt: beforeBegin, wantRefuse: true},
		{name: "inviter_disabled_during_ceremony", createdBy: func(sup string) string { return sup }, disableAt: beforeFinish, wantRefuse: true},
		{name: "other_inviter_disabled", createdBy: func(string) string { return store.InviteByServer }, disableAt: beforeFinish},
		{name: "unknown_inviter", createdBy: func(string) string { return "no-such-user" }, wantRefuse: true},
		{name: "no_inviter", createdBy: func(string) string { return "" }, wantRefuse: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			_, sup := e.newPerson(t, "supervisor", teamA, "Jo Supervisor")
			code := e.inviteFrom(t, tc.createdBy(sup.GetUserId()), "worker", teamA, "Sam Worker", time.Hour)
			disable := func() {
				e.dir(t, func(tx store.DirTx) error {
					u, err := tx.User(sup.GetUserId())
					if err != nil {
						return err
					}
					u.Disabled = true
					return tx.PutUser(u)
				})
			}
			if tc.disableAt == beforeBegin {
				disable()
			}
			users := e.usersOfArea(t)
			begin, err := e.svc.BeginEnrollment(ctx, code, "tablet")
			if tc.wantRefuse && tc.disableAt != beforeFinish {
				wantKind(t, "BeginEnrollment", err, errkind.NotFound, msgInvite)
				return
			}
			if err != nil {
				t.Fatalf("BeginEnrollment: %v", err)
			}
			_, resp := attest(t, goodRP, virtualwebauthn.AuthenticatorOptions{}, begin.GetOptionsJson())
			if tc.disableAt == beforeFinish {
				disable()
			}
			_, err = e.svc.FinishEnrollment(ctx, begin.GetCeremonyId(), resp)
			if !tc.wantRefuse {
				if err != nil {
					t.Fatalf("FinishEnrollment: %v", err)
				}
				return
			}
			wantKind(t, "FinishEnrollment", err, errkind.NotFound, msgInvite)
			if n := e.usersOfArea(t); n != users {
				t.Fatalf("a refused enrolment created a user (%d → %d)", users, n)
			}
		})
	}
}
