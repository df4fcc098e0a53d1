package admin

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/auth"
	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
)

func areas(t *testing.T, st *store.DB) []*store.Area {
	t.Helper()
	var as []*store.Area
	if err := st.DirectoryView(t.Context(), func(tx store.DirTx) error {
		var err error
		as, err = tx.Areas()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return as
}

func invite(t *testing.T, st *store.DB, code string) *store.Invite {
	t.Helper()
	var in *store.Invite
	if err := st.DirectoryView(t.Context(), func(tx store.DirTx) error {
		var err error
		in, err = tx.Invite(auth.HashSecret(code))
		return err
	}); err != nil {
		t.Fatalf("invite: %v", err)
	}
	return in
}

func TestBootstrapOnceAndOnlyOnce(t *testing.T) {
	st := openStore(t)
	now := time.Now()
	code, created, err := Bootstrap(t.Context(), st, " Lambeth ", now, 0)
	if err != nil || !created || !strings.HasPrefix(code, auth.InvitePrefix) {
		t.Fatalf("Bootstrap = %q, %v, %v", code, created, err)
	}
	as := areas(t, st)
	if len(as) != 1 || as[0].Name != "Lambeth" || as[0].ID == "" {
		t.Fatalf("areas = %+v", as)
	}
	in := invite(t, st, code)
	if in.AreaID != as[0].ID || identity.ParseRole(in.Role) != identity.Admin || in.TeamID != "" ||
		in.DisplayName == "" || !in.ExpiresAt.Equal(now.Add(DefaultInviteTTL)) {
		t.Errorf("bootstrap invite = %+v", in)
	}
	for range 3 {
		code2, created, err := Bootstrap(t.Context(), st, "Lambeth", now, time.Hour)
		if err != nil || created || code2 != "" {
			t.Errorf("second Bootstrap = %q, %v, %v", code2, created, err)
		}
	}
	if _, created, _ := Bootstrap(t.Context(), st, "Hackney", now, 0); created || len(areas(t, st)) != 1 {
		t.Error("Bootstrap with another name created an area in a store that has one")
	}
	_, _, err = Bootstrap(t.Context(), openStore(t), "", now, 0)
	wantKind(t, "no name", err, errkind.Invalid)
}

func TestBootstrapTTL(t *testing.T) {
	st := openStore(t)
	now := time.Now()
	code, _, err := Bootstrap(t.Context(), st, "Bristol", now, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if in := invite(t, st, code); !in.ExpiresAt.Equal(now.Add(2 * time.Hour)) {
		t.Errorf("expires %v", in.ExpiresAt)
	}
}

func TestMintAdminInvite(t *testing.T) {
	st := openStore(t)
	now := time.Now()
	first, _, err := Bootstrap(t.Context(), st, "Lambeth", now, 0)
	if err != nil {
		t.Fatal(err)
	}
	areaID := areas(t, st)[0].ID

	// An existing area, named in any case: a new invite for it, no new area.
	code, err := MintAdminInvite(t.Context(), st, "lambeth", now, time.Hour)
	if err != nil || code == first {
		t.Fatalf("MintAdminInvite = %q, %v", code, err)
	}
	if in := invite(t, st, code); in.AreaID != areaID || in.Role != "admin" || !in.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Errorf("invite = %+v", in)
	}
	if len(areas(t, st)) != 1 {
		t.Error("minting for an existing area created another")
	}
	invite(t, st, first) // the earlier invite still works

	// A missing area is created.
	code, err = MintAdminInvite(t.Context(), st, "Southwark", now, 0)
	if err != nil {
		t.Fatal(err)
	}
	as := areas(t, st)
	if len(as) != 2 {
		t.Fatalf("areas = %+v", as)
	}
	var southwark string
	for _, a := range as {
		if a.Name == "Southwark" {
			southwark = a.ID
		}
	}
	if in := invite(t, st, code); in.AreaID != southwark || southwark == "" || !in.ExpiresAt.Equal(now.Add(DefaultInviteTTL)) {
		t.Errorf("invite = %+v", in)
	}
	// On an empty store it works too (and Bootstrap then does nothing).
	empty := openStore(t)
	if _, err := MintAdminInvite(t.Context(), empty, "Camden", now, 0); err != nil {
		t.Fatal(err)
	}
	if _, created, _ := Bootstrap(t.Context(), empty, "Camden", now, 0); created {
		t.Error("Bootstrap created after an invite was minted")
	}
	_, err = MintAdminInvite(t.Context(), st, "bad\x01name", now, 0)
	wantKind(t, "bad name", err, errkind.Invalid)
}

// TestLogsHoldNoSecretsOrNames plants recognisable names and collects the
// invite codes, then scans the service's log.
func TestLogsHoldNoSecretsOrNames(t *testing.T) {
	w := newWorld(t)
	planted := []string{"Zebedee-Team", "Quentin Plantedname", "Xanthippe", "Vorderman-Planted"}
	if _, err := w.svc.CreateTeam(w.ctx, w.adminA, planted[0]); err != nil {
		t.Fatal(err)
	}
	in, err := w.svc.CreateInvite(w.ctx, w.adminA, identity.Worker, w.teamA1, planted[1])
	if err != nil {
		t.Fatal(err)
	}
	cid, err := w.svc.CreateClient(w.ctx, w.supA1, NewClient{TeamID: w.teamA1, GivenName: planted[2], FamilyName: planted[3], Pathway: "drr"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.svc.AssignClient(w.ctx, w.supA1, cid, w.workerA1.UserID); err != nil {
		t.Fatal(err)
	}
	w.sessions.endErr = nil
	if err := w.svc.DisableUser(w.ctx, w.adminA, w.workerA2.UserID); err != nil {
		t.Fatal(err)
	}
	logs := w.logs.String()
	if !strings.Contains(logs, cid) || !strings.Contains(logs, "invite created") {
		t.Fatalf("the log does not record the actions: %s", logs)
	}
	for _, s := range append(planted, in.Code, strings.TrimPrefix(in.Code, auth.InvitePrefix), "Lambeth", "Alex", "Smith") {
		if strings.Contains(logs, s) {
			t.Errorf("the log holds %q", s)
		}
	}
}

// The bootstrap invite's file stays while its invite can enrol someone and
// goes once it cannot (used, expired, revoked, or never one).
func TestBootstrapInviteFile(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name string
		// invite prepares the store and returns what the file holds.
		invite      func(t *testing.T, st *store.DB) string
		wantRemoved bool
	}{
		{name: "unused", invite: func(t *testing.T, st *store.DB) string {
			code, _, err := Bootstrap(t.Context(), st, "Lambeth", now, 0)
			if err != nil {
				t.Fatal(err)
			}
			return code
		}},
		{name: "used", wantRemoved: true, invite: func(t *testing.T, st *store.DB) string {
			code, _, err := Bootstrap(t.Context(), st, "Lambeth", now, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Directory(t.Context(), func(tx store.DirTx) error {
				in, err := tx.Invite(auth.HashSecret(code))
				if err != nil {
					return err
				}
				in.UsedBy, in.UsedAt = "u-admin", now
				return tx.PutInvite(in)
			}); err != nil {
				t.Fatal(err)
			}
			return code
		}},
		{name: "expired", wantRemoved: true, invite: func(t *testing.T, st *store.DB) string {
			code, _, err := Bootstrap(t.Context(), st, "Lambeth", now.Add(-time.Hour), time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			return code
		}},
		{name: "not_an_invite", wantRemoved: true, invite: func(*testing.T, *store.DB) string { return "tci_nosuchinvite" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, dir := openStore(t), t.TempDir()
			path, err := WriteBootstrapInvite(dir, tc.invite(t, st))
			if err != nil {
				t.Fatal(err)
			}
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 || filepath.Dir(path) != dir {
				t.Fatalf("WriteBootstrapInvite wrote %s: %v, %v; want mode 0600 in %s", path, fi.Mode(), err, dir)
			}
			removed, err := RemoveSpentBootstrapInvite(t.Context(), st, dir)
			if err != nil || removed != tc.wantRemoved {
				t.Fatalf("RemoveSpentBootstrapInvite = %v, %v; want %v", removed, err, tc.wantRemoved)
			}
			_, err = os.Stat(path)
			if gone := errors.Is(err, os.ErrNotExist); gone != tc.wantRemoved {
				t.Fatalf("file gone = %v (%v), want %v", gone, err, tc.wantRemoved)
			}
			// Again, with the file gone or kept: nothing changes.
			if removed, err := RemoveSpentBootstrapInvite(t.Context(), st, dir); removed || err != nil {
				t.Fatalf("second RemoveSpentBootstrapInvite = %v, %v", removed, err)
			}
		})
	}
}

// Every admin invite the operator makes (the bootstrap one, and each minted
// later, for a new area or an existing one) is in the area's audit trail,
// by the operator, at the time it was made; a bootstrap that changes
// nothing writes nothing.
func TestOperatorInvitesAreAudited(t *testing.T) {
	st := openStore(t)
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	if _, _, err := Bootstrap(t.Context(), st, "Lambeth", t0, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Bootstrap(t.Context(), st, "Lambeth", t0.Add(time.Minute), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := MintAdminInvite(t.Context(), st, "lambeth", t0.Add(time.Hour), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := MintAdminInvite(t.Context(), st, "Southwark", t0.Add(2*time.Hour), 0); err != nil {
		t.Fatal(err)
	}
	got := map[string][]time.Time{}
	if err := st.DirectoryView(t.Context(), func(tx store.DirTx) error {
		as, err := tx.Areas()
		for _, a := range as {
			entries, err := tx.AuditOfArea(a.ID, 0, 0)
			if err != nil {
				return err
			}
			for _, e := range entries {
				if e.Action != store.AuditMintAdminInvite || e.Role != OperatorRole || e.UserID != "" || e.RecordID == "" {
					t.Errorf("%s: entry %+v", a.Name, e)
				}
				got[a.Name] = append(got[a.Name], e.At)
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := map[string][]time.Time{"Lambeth": {t0, t0.Add(time.Hour)}, "Southwark": {t0.Add(2 * time.Hour)}}
	if len(got) != len(want) || !slices.Equal(got["Lambeth"], want["Lambeth"]) || !slices.Equal(got["Southwark"], want["Southwark"]) {
		t.Errorf("audited invites %v, want %v", got, want)
	}
}
