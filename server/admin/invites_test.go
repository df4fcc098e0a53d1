package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/throughcare/throughcare/server/auth"
	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
)

// mustInvite creates an invite or fails the test.
func (w *world) mustInvite(by *identity.Identity, role identity.Role, team, name string) Invite {
	w.t.Helper()
	in, err := w.svc.CreateInvite(w.ctx, by, role, team, name)
	if err != nil {
		w.t.Fatalf("invite %s: %v", name, err)
	}
	return in
}

// listed returns the display names of the invites a caller lists, page by
// page, newest first.
func (w *world) listed(id *identity.Identity, q InviteQuery) ([]string, error) {
	var names []string
	for {
		page, err := w.svc.ListInvites(w.ctx, id, q)
		if err != nil {
			return nil, err
		}
		for _, in := range page.Invites {
			names = append(names, in.DisplayName)
		}
		if page.NextPageToken == "" {
			return names, nil
		}
		q.PageToken = page.NextPageToken
	}
}

// pendingByHash reports whether enrolment would find the invite by its code.
func (w *world) pendingByHash(code string) bool {
	w.t.Helper()
	err := w.st.DirectoryView(w.ctx, func(tx store.DirTx) error { _, err := tx.Invite(auth.HashSecret(code)); return err })
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		w.t.Fatal(err)
	}
	return err == nil
}

func TestCreateInviteNamesIt(t *testing.T) {
	w := newWorld(t)
	in := w.mustInvite(w.adminA, identity.Worker, w.teamA1, "Jo Bloggs")
	if u, err := uuid.Parse(in.ID); err != nil || u.Version() != 7 {
		t.Fatalf("invite id %q is not a UUIDv7: %v", in.ID, err)
	}
	if strings.Contains(in.ID, strings.TrimPrefix(in.Code, auth.InvitePrefix)) {
		t.Error("the invite id carries its code")
	}
	var stored *store.Invite
	err := w.st.DirectoryView(w.ctx, func(tx store.DirTx) error {
		var err error
		stored, err = tx.InviteOfArea(w.areaA, in.ID)
		return err
	})
	if err != nil || !bytes.Equal(stored.Hash, auth.HashSecret(in.Code)) || !stored.CreatedAt.Equal(w.clock.Now()) {
		t.Fatalf("stored under its id: %+v, %v", stored, err)
	}
	if !strings.Contains(w.logs.String(), in.ID) || strings.Contains(w.logs.String(), in.Code) {
		t.Error("the log should name the invite by id, never by code")
	}
}

// TestListInvitesScope: an admin lists every invite of their area; a
// supervisor the worker invites to their teams, whoever made them; nobody
// sees another area's; a worker may not list invites.
func TestListInvitesScope(t *testing.T) {
	w := newWorld(t)
	w.mustInvite(w.adminA, identity.Worker, w.teamA1, "worker A1 by admin")
	w.mustInvite(w.adminA, identity.Worker, w.teamA2, "worker A2 by admin")
	w.mustInvite(w.adminA, identity.Supervisor, w.teamA1, "supervisor A1 by admin")
	w.mustInvite(w.adminA, identity.Admin, "", "admin by admin")
	w.mustInvite(w.supA1, identity.Worker, w.teamA1, "worker A1 by supA1")
	w.mustInvite(w.adminB, identity.Worker, w.teamB1, "worker B1 by adminB")
	if _, err := MintAdminInvite(w.ctx, w.st, "Hackney", w.clock.Now(), 0); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		caller *identity.Identity
		want   []string // newest first
		err    errkind.Kind
	}{
		{w.adminA, []string{"worker A1 by supA1", "admin by admin", "supervisor A1 by admin", "worker A2 by admin", "worker A1 by admin"}, 0},
		{w.supA1, []string{"worker A1 by supA1", "worker A1 by admin"}, 0},
		{w.supA2, []string{"worker A2 by admin"}, 0},
		{w.adminB, []string{BootstrapDisplayName, "worker B1 by adminB"}, 0},
		{w.supB1, []string{"worker B1 by adminB"}, 0},
		{w.workerA1, nil, errkind.Forbidden},
		{w.workerA12, nil, errkind.Forbidden},
		{nil, nil, errkind.Unauthenticated},
	}
	for _, tc := range tests {
		name := "nobody"
		if tc.caller != nil {
			name = tc.caller.DeviceID
		}
		t.Run(name, func(t *testing.T) {
			got, err := w.listed(tc.caller, InviteQuery{})
			wantKind(t, "ListInvites", err, tc.err)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	// Listing never shows a code or its hash.
	page, err := w.svc.ListInvites(w.ctx, w.adminA, InviteQuery{IncludeEnded: true})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(page); bytes.Contains(b, []byte(auth.InvitePrefix)) || bytes.Contains(b, []byte(`"Hash"`)) {
		t.Errorf("a listed invite carries its secret: %s", b)
	}
}

// TestListInvitesStates: by default only pending invites are listed; with
// IncludeEnded also used, revoked, expired ones and those whose inviter was
// disabled, each with its state.
func TestListInvitesStates(t *testing.T) {
	w := newWorld(t)
	pending := w.mustInvite(w.adminA, identity.Worker, w.teamA1, "pending")
	revoked := w.mustInvite(w.adminA, identity.Worker, w.teamA1, "revoked")
	used := w.mustInvite(w.adminA, identity.Worker, w.teamA1, "used")
	orphan := w.mustInvite(w.supA1, identity.Worker, w.teamA1, "inviter disabled")
	past, err := New(Config{Store: w.st, Sessions: w.sessions, Writer: w.eng, Devices: w.devices, Now: func() time.Time { return w.clock.Now().Add(-73 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	expired, err := past.CreateInvite(w.ctx, w.adminA, identity.Worker, w.teamA1, "expired")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.svc.RevokeInvite(w.ctx, w.adminA, revoked.ID); err != nil {
		t.Fatal(err)
	}
	err = w.st.Directory(w.ctx, func(tx store.DirTx) error { // as auth does on enrolment
		in, err := tx.Invite(auth.HashSecret(used.Code))
		if err != nil {
			return err
		}
		in.UsedBy, in.UsedAt = w.workerA1.UserID, w.clock.Now()
		return tx.PutInvite(in)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.svc.DisableUser(w.ctx, w.adminA, w.supA1.UserID); err != nil {
		t.Fatal(err)
	}

	page, err := w.svc.ListInvites(w.ctx, w.adminA, InviteQuery{})
	if err != nil || len(page.Invites) != 1 || page.Invites[0].ID != pending.ID {
		t.Fatalf("pending only: %+v, %v", page, err)
	}
	page, err = w.svc.ListInvites(w.ctx, w.adminA, InviteQuery{IncludeEnded: true})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]InviteInfo{}
	for _, in := range page.Invites {
		got[in.ID] = in
	}
	want := map[string]InviteInfo{
		pending.ID: {State: InvitePending, CreatedBy: w.adminA.UserID},
		revoked.ID: {State: InviteRevoked, CreatedBy: w.adminA.UserID, RevokedBy: w.adminA.UserID},
		used.ID:    {State: InviteUsed, CreatedBy: w.adminA.UserID, UsedBy: w.workerA1.UserID},
		orphan.ID:  {State: InviteInviterDisabled, CreatedBy: w.supA1.UserID},
		expired.ID: {State: InviteExpired, CreatedBy: w.adminA.UserID},
	}
	if len(got) != len(want) {
		t.Fatalf("listed %d invites, want %d: %+v", len(got), len(want), page.Invites)
	}
	for id, wi := range want {
		gi := got[id]
		if gi.State != wi.State || gi.CreatedBy != wi.CreatedBy || gi.UsedBy != wi.UsedBy || gi.RevokedBy != wi.RevokedBy ||
			gi.Role != identity.Worker || gi.TeamID != w.teamA1 || gi.ExpiresAt.IsZero() || gi.CreatedAt.IsZero() {
			t.Errorf("invite %q = %+v, want %+v", gi.DisplayName, gi, wi)
		}
	}
}

func TestListInvitesPages(t *testing.T) {
	w := newWorld(t)
	var want []string
	for i := range 7 {
		name := "invitee " + string(rune('a'+i))
		w.mustInvite(w.supA1, identity.Worker, w.teamA1, name)
		want = append([]string{name}, want...)
	}
	w.mustInvite(w.adminA, identity.Worker, w.teamA2, "not the supervisor's")
	var got []string
	var sizes []int
	q := InviteQuery{PageSize: 3}
	for {
		page, err := w.svc.ListInvites(w.ctx, w.supA1, q)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(page.Invites))
		for _, in := range page.Invites {
			got = append(got, in.DisplayName)
		}
		if page.NextPageToken == "" {
			break
		}
		q.PageToken = page.NextPageToken
	}
	if !slices.Equal(got, want) || !slices.Equal(sizes, []int{3, 3, 1}) {
		t.Errorf("pages %v listed %q, want %q in pages of 3, 3, 1", sizes, got, want)
	}
	for _, bad := range []string{"x", "tci_aaaa", strings.Repeat("9", 36)} {
		_, err := w.svc.ListInvites(w.ctx, w.supA1, InviteQuery{PageToken: bad})
		wantKind(t, "page token "+bad, err, errkind.Invalid)
	}
}

// TestRevokeInvite: a revoked invite is no longer found by its code, so
// nobody enrols with it; revoking again succeeds; a used invite cannot be
// revoked; an invite out of reach is NotFound and stays pending.
func TestRevokeInvite(t *testing.T) {
	w := newWorld(t)
	in := w.mustInvite(w.supA1, identity.Worker, w.teamA1, "Jo Bloggs")
	if !w.pendingByHash(in.Code) {
		t.Fatal("a new invite is not pending")
	}
	for _, caller := range []*identity.Identity{w.adminB, w.supB1, w.supA2} {
		wantKind(t, "revoke out of reach", w.svc.RevokeInvite(w.ctx, caller, in.ID), errkind.NotFound)
	}
	if !w.pendingByHash(in.Code) {
		t.Fatal("a refused revocation revoked the invite")
	}
	w.logs.Reset()
	if err := w.svc.RevokeInvite(w.ctx, w.supA1, in.ID); err != nil {
		t.Fatal(err)
	}
	if w.pendingByHash(in.Code) {
		t.Error("a revoked invite is still found by its code")
	}
	if logs := w.logs.String(); !strings.Contains(logs, `"invite_id":"`+in.ID) || strings.Contains(logs, "Jo Bloggs") || strings.Contains(logs, in.Code) {
		t.Errorf("revocation log %s", logs)
	}
	if err := w.svc.RevokeInvite(w.ctx, w.adminA, in.ID); err != nil {
		t.Errorf("revoking again: %v", err)
	}
	page, _ := w.svc.ListInvites(w.ctx, w.adminA, InviteQuery{IncludeEnded: true})
	if len(page.Invites) != 1 || page.Invites[0].RevokedBy != w.supA1.UserID {
		t.Errorf("a second revocation changed who revoked it: %+v", page.Invites)
	}

	used := w.mustInvite(w.adminA, identity.Worker, w.teamA1, "Sam")
	w.st.Directory(w.ctx, func(tx store.DirTx) error {
		s, err := tx.Invite(auth.HashSecret(used.Code))
		if err != nil {
			return err
		}
		s.UsedBy = w.workerA1.UserID
		return tx.PutInvite(s)
	})
	wantKind(t, "revoke a used invite", w.svc.RevokeInvite(w.ctx, w.adminA, used.ID), errkind.Precondition)
}
