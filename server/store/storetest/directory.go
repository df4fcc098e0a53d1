package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/servertest/fixture"
	"github.com/throughcare/throughcare/server/store"
)

// DirectoryOpener opens an empty directory whose clock is now: expiry
// (ceremonies, invites) is decided against it, never the wall clock.
type DirectoryOpener func(t *testing.T, now func() time.Time) store.DirectoryStore

// RunDirectory runs the directory conformance suite (every store.DirTx
// method's contract) against the directories open makes.
func RunDirectory(t *testing.T, open DirectoryOpener) {
	tests := []struct {
		name string
		fn   func(*testing.T, *dirWorld)
	}{
		{"areas_and_teams_round_trip", testAreasTeams},
		{"area_settings_round_trip", testAreaSettings},
		{"users_by_id_handle_and_area", testUsers},
		{"devices_by_credential_user_and_installations", testDevices},
		{"clients_by_area_and_team_follow_moves", testClients},
		{"clients_with_open_assignments_of_an_area", testClientsWithAssignments},
		{"sessions_by_access_and_refresh_hash", testSessions},
		{"session_update_keeps_tokens", testSessionUpdate},
		{"session_delete_removes_index_entries", testSessionDelete},
		{"ceremony_expires_by_store_clock", testCeremonyExpiry},
		{"invite_pending_until_expiry_used_or_revoked", testInviteStates},
		{"invites_of_area_newest_first_paged", testInvitesOfArea},
		{"assignments_ordered_open_and_covers", testAssignments},
		{"audit_append_chains_and_reads_by_client_and_user", testAuditAppend},
		{"audit_entries_are_never_overwritten", testAuditNoOverwrite},
		{"audit_refuses_incomplete_entries", testAuditInvalid},
		{"audit_concurrent_appends_make_one_chain", testAuditConcurrent},
		{"error_in_update_leaves_nothing", testAtomicity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &dirWorld{t: t, clk: fixture.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))}
			w.d = open(t, w.clk.Now)
			tt.fn(t, w)
		})
	}
}

// dirWorld is one directory under test with its settable clock.
type dirWorld struct {
	t   *testing.T
	d   store.DirectoryStore
	clk *fixture.Clock // the store's clock
}

// update runs fn in a read-write transaction and fails the test on error.
func (w *dirWorld) update(fn func(tx store.DirTx) error) {
	w.t.Helper()
	if err := w.d.Directory(context.Background(), fn); err != nil {
		w.t.Fatalf("Directory: %v", err)
	}
}

// view runs fn in a read-only transaction and fails the test on error.
func (w *dirWorld) view(fn func(tx store.DirTx) error) {
	w.t.Helper()
	if err := w.d.DirectoryView(context.Background(), fn); err != nil {
		w.t.Fatalf("DirectoryView: %v", err)
	}
}

// sameJSON reports whether got and want encode alike: the directory's
// round-trip equality, blind to how a backend represents times.
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	h, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(g) != string(h) {
		t.Errorf("%s = %s, want %s", what, g, h)
	}
}

// wantNotFound checks that a lookup answered store.ErrNotFound.
func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("%s: err = %v, want ErrNotFound", what, err)
	}
}

// sameIDs compares id lists as sets (index order is the backend's).
func sameIDs(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func testAreasTeams(t *testing.T, w *dirWorld) {
	a1 := &store.Area{ID: "a1", Name: "North", CreatedAt: w.clk.Now()}
	a2 := &store.Area{ID: "a2", Name: "South", CreatedAt: w.clk.Now()}
	w.update(func(tx store.DirTx) error {
		for _, err := range []error{tx.PutArea(a1), tx.PutArea(a2),
			tx.PutTeam(&store.Team{ID: "t1", AreaID: "a1", Name: "One"}),
			tx.PutTeam(&store.Team{ID: "t2", AreaID: "a1", Name: "Two"}),
			tx.PutTeam(&store.Team{ID: "t3", AreaID: "a2", Name: "Three"})} {
			if err != nil {
				return err
			}
		}
		return nil
	})
	w.view(func(tx store.DirTx) error {
		got, err := tx.Area("a1")
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "Area(a1)", got, a1)
		_, err = tx.Area("nope")
		wantNotFound(t, "Area(nope)", err)
		areas, err := tx.Areas()
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, a := range areas {
			ids = append(ids, a.ID)
		}
		sameIDs(t, "Areas", ids, "a1", "a2")
		team, err := tx.Team("t2")
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "Team(t2)", team, &store.Team{ID: "t2", AreaID: "a1", Name: "Two"})
		_, err = tx.Team("nope")
		wantNotFound(t, "Team(nope)", err)
		sameIDs(t, "TeamsOfArea(a1)", tx.TeamsOfArea("a1"), "t1", "t2")
		sameIDs(t, "TeamsOfArea(a2)", tx.TeamsOfArea("a2"), "t3")
		sameIDs(t, "TeamsOfArea(none)", tx.TeamsOfArea("none"))
		return nil
	})
}

func testUsers(t *testing.T, w *dirWorld) {
	u1 := &store.User{ID: "u1", AreaID: "a1", DisplayName: "W", Role: "worker",
		TeamIDs: []string{"t1"}, Handle: []byte{1, 2, 3}, CreatedAt: w.clk.Now()}
	u2 := &store.User{ID: "u2", AreaID: "a2", Role: "admin", Handle: []byte{4, 5}}
	w.update(func(tx store.DirTx) error {
		if err := tx.PutUser(u1); err != nil {
			return err
		}
		return tx.PutUser(u2)
	})
	u1.Disabled = true
	w.update(func(tx store.DirTx) error { return tx.PutUser(u1) })
	w.view(func(tx store.DirTx) error {
		got, err := tx.User("u1")
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "User(u1)", got, u1)
		got, err = tx.UserByHandle([]byte{4, 5})
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "UserByHandle", got, u2)
		_, err = tx.UserByHandle([]byte{9})
		wantNotFound(t, "UserByHandle(unknown)", err)
		_, err = tx.User("nope")
		wantNotFound(t, "User(nope)", err)
		sameIDs(t, "UsersOfArea(a1)", tx.UsersOfArea("a1"), "u1")
		sameIDs(t, "UsersOfArea(a2)", tx.UsersOfArea("a2"), "u2")
		return nil
	})
}

func testDevices(t *testing.T, w *dirWorld) {
	primary := &store.Device{ID: "d1", UserID: "u1", Name: "tablet", CredentialID: []byte("cred"),
		Credential: []byte("opaque"), CreatedAt: w.clk.Now()}
	other := &store.Device{ID: "d2", UserID: "u1", Name: "phone", CredentialID: []byte("cred"), PrimaryID: "d1"}
	own := &store.Device{ID: "d3", UserID: "u1", CredentialID: []byte("cred3")}
	w.update(func(tx store.DirTx) error {
		for _, d := range []*store.Device{primary, other, own} {
			if err := tx.PutDevice(d); err != nil {
				return err
			}
		}
		return nil
	})
	w.view(func(tx store.DirTx) error {
		got, err := tx.Device("d2")
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "Device(d2)", got, other)
		if got.IsPrimary() || got.PrimaryOf() != "d1" {
			t.Errorf("d2: IsPrimary %v PrimaryOf %q, want false, d1", got.IsPrimary(), got.PrimaryOf())
		}
		got, err = tx.DeviceByCredential([]byte("cred"))
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != "d1" {
			t.Errorf("DeviceByCredential(cred) = %s, want the primary d1", got.ID)
		}
		_, err = tx.DeviceByCredential([]byte("unknown"))
		wantNotFound(t, "DeviceByCredential(unknown)", err)
		_, err = tx.Device("nope")
		wantNotFound(t, "Device(nope)", err)
		sameIDs(t, "DevicesOfUser(u1)", tx.DevicesOfUser("u1"), "d1", "d2", "d3")
		inst, err := tx.Installations("u1", "d1")
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "Installations(u1, d1)", inst, []*store.Device{other})
		return nil
	})
}

func testClients(t *testing.T, w *dirWorld) {
	c := &store.Client{ID: "c1", AreaID: "a1", TeamID: "t1", CreatedAt: w.clk.Now()}
	w.update(func(tx store.DirTx) error {
		if err := tx.PutClient(c); err != nil {
			return err
		}
		return tx.PutClient(&store.Client{ID: "c2", AreaID: "a1", TeamID: "t1"})
	})
	c.TeamID = "t2"
	w.update(func(tx store.DirTx) error { return tx.PutClient(c) })
	w.view(func(tx store.DirTx) error {
		got, err := tx.Client("c1")
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "Client(c1)", got, c)
		_, err = tx.Client("nope")
		wantNotFound(t, "Client(nope)", err)
		sameIDs(t, "ClientsOfArea(a1)", tx.ClientsOfArea("a1"), "c1", "c2")
		sameIDs(t, "ClientsOfTeam(t1)", tx.ClientsOfTeam("t1"), "c2")
		sameIDs(t, "ClientsOfTeam(t2)", tx.ClientsOfTeam("t2"), "c1")
		return nil
	})
}

func testClientsWithAssignments(t *testing.T, w *dirWorld) {
	t0 := w.clk.Now()
	c1 := &store.Client{ID: "c1", AreaID: "a1", TeamID: "t1", CreatedAt: t0}
	c10 := &store.Client{ID: "c10", AreaID: "a1", TeamID: "t2", CreatedAt: t0}
	c2 := &store.Client{ID: "c2", AreaID: "a1", TeamID: "t1", CreatedAt: t0}
	other := &store.Client{ID: "c3", AreaID: "a2", TeamID: "t3", CreatedAt: t0}
	ended := &store.Assignment{ClientID: "c1", UserID: "u1", From: t0, To: t0.Add(time.Hour)}
	current := &store.Assignment{ClientID: "c1", UserID: "u1", From: t0.Add(2 * time.Hour)}
	colleague := &store.Assignment{ClientID: "c1", UserID: "u2", From: t0}
	onC10 := &store.Assignment{ClientID: "c10", UserID: "u3", From: t0}
	onOther := &store.Assignment{ClientID: "c3", UserID: "u4", From: t0}
	outsider := &store.Assignment{ClientID: "c2", UserID: "u4", From: t0} // a user of another area
	w.update(func(tx store.DirTx) error {
		for _, u := range []*store.User{{ID: "u1", AreaID: "a1"}, {ID: "u2", AreaID: "a1"}, {ID: "u3", AreaID: "a1"}, {ID: "u4", AreaID: "a2"}} {
			u.Handle = []byte(u.ID)
			if err := tx.PutUser(u); err != nil {
				return err
			}
		}
		for _, c := range []*store.Client{c2, other, c10, c1} {
			if err := tx.PutClient(c); err != nil {
				return err
			}
		}
		for _, a := range []*store.Assignment{colleague, onOther, current, outsider, onC10, ended} {
			if err := tx.PutAssignment(a); err != nil {
				return err
			}
		}
		return nil
	})
	w.view(func(tx store.DirTx) error {
		for _, tc := range []struct {
			area string
			want []*store.ClientAssignments
		}{
			{"a1", []*store.ClientAssignments{
				{Client: c1, Open: []*store.Assignment{current, colleague}},
				{Client: c10, Open: []*store.Assignment{onC10}},
				{Client: c2},
			}},
			{"a2", []*store.ClientAssignments{{Client: other, Open: []*store.Assignment{onOther}}}},
			{"none", nil},
		} {
			got, err := tx.ClientsWithAssignments(tc.area)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 {
				got = nil
			}
			sameJSON(t, "ClientsWithAssignments("+tc.area+")", got, tc.want)
		}
		return nil
	})
}
