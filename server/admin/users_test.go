package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
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
	"github.com/throughcare/throughcare/syncproto/topschedule"
)

func TestGetArea(t *testing.T) {
	w := newWorld(t)
	for _, id := range []*identity.Identity{w.adminA, w.supA1, w.workerA1} {
		a, err := w.svc.GetArea(w.ctx, id)
		def := TOPSchedule{Schedule: topschedule.Schedule{IntervalMonths: 3, WindowDays: 14}}
		if err != nil || a != (Area{ID: w.areaA, Name: "Lambeth", TOP: def}) {
			t.Errorf("%s: GetArea = %+v, %v", id.Role, a, err)
		}
	}
	if a, err := w.svc.GetArea(w.ctx, w.workerB1); err != nil || a.Name != "Hackney" {
		t.Errorf("area B: %+v, %v", a, err)
	}
}

func TestCreateAndListTeams(t *testing.T) {
	w := newWorld(t)
	tm, err := w.svc.CreateTeam(w.ctx, w.adminA, "  South  ")
	if err != nil || tm.Name != "South" || tm.ID == "" {
		t.Fatalf("CreateTeam = %+v, %v", tm, err)
	}
	_, err = w.svc.CreateTeam(w.ctx, w.adminA, "south")
	wantKind(t, "same name, other case", err, errkind.Exists)
	if _, err := w.svc.CreateTeam(w.ctx, w.adminB, "South"); err != nil {
		t.Errorf("the same name in another area: %v", err)
	}
	for _, bad := range []string{"", "   ", strings.Repeat("x", MaxNameLen+1), "tab\there", "line\nbreak", "bad\xffutf8"} {
		_, err := w.svc.CreateTeam(w.ctx, w.adminA, bad)
		wantKind(t, "bad name "+bad, err, errkind.Invalid)
	}
	if _, err := w.svc.CreateTeam(w.ctx, w.adminA, strings.Repeat("é", MaxNameLen)); err != nil {
		t.Errorf("a 100-character name: %v", err)
	}

	teams, err := w.svc.ListTeams(w.ctx, w.adminA)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tm := range teams {
		names = append(names, tm.Name)
	}
	if want := []string{"east", "North", "South", strings.Repeat("é", MaxNameLen)}; !slices.Equal(names, want) {
		t.Errorf("admin sees teams %q, want %q (by name, ignoring case)", names, want)
	}
	teams, err = w.svc.ListTeams(w.ctx, w.supA1)
	if err != nil || len(teams) != 1 || teams[0] != (Team{ID: w.teamA1, Name: "North"}) {
		t.Errorf("supervisor of A1 sees %+v, %v", teams, err)
	}
	teams, err = w.svc.ListTeams(w.ctx, w.adminB)
	if err != nil || len(teams) != 2 {
		t.Errorf("admin B sees %+v, %v", teams, err)
	}
}

func TestListUsers(t *testing.T) {
	w := newWorld(t)
	users, err := w.svc.ListUsers(w.ctx, w.adminA)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range users {
		names = append(names, u.DisplayName)
	}
	if want := []string{"adminA", "supA1", "supA2", "worker2A1", "workerA1", "workerA12", "workerA2"}; !slices.Equal(names, want) {
		t.Errorf("admin sees %q, want %q", names, want)
	}
	users, err = w.svc.ListUsers(w.ctx, w.supA1)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]User{}
	for _, u := range users {
		got[u.DisplayName] = u
	}
	if len(got) != 4 || got["supA1"].Role != identity.Supervisor || got["workerA1"].Role != identity.Worker || got["worker2A1"].ID == "" {
		t.Errorf("supervisor of A1 sees %+v", users)
	}
	// A user in two teams shows only the team the supervisor reaches.
	if ids := got["workerA12"].TeamIDs; !slices.Equal(ids, []string{w.teamA1}) {
		t.Errorf("workerA12's teams as supA1 sees them: %v", ids)
	}
	if err := w.svc.DisableUser(w.ctx, w.adminA, w.workerA1.UserID); err != nil {
		t.Fatal(err)
	}
	users, _ = w.svc.ListUsers(w.ctx, w.supA1)
	for _, u := range users {
		if u.DisplayName == "workerA1" && !u.Disabled {
			t.Error("a disabled user is listed as enabled")
		}
	}
}

func TestCreateInviteStoresOnlyTheHash(t *testing.T) {
	w := newWorld(t)
	before := w.clock.Now()
	in, err := w.svc.CreateInvite(w.ctx, w.supA1, identity.Worker, w.teamA1, "  Jo Bloggs ")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(in.Code, auth.InvitePrefix) || !in.ExpiresAt.Equal(before.Add(DefaultInviteTTL)) {
		t.Errorf("invite = %+v", in)
	}
	var stored *store.Invite
	err = w.st.DirectoryView(w.ctx, func(tx store.DirTx) error {
		var err error
		stored, err = tx.Invite(auth.HashSecret(in.Code))
		return err
	})
	if err != nil {
		t.Fatalf("the invite is not stored under the hash of its code: %v", err)
	}
	want := store.Invite{Hash: auth.HashSecret(in.Code), AreaID: w.areaA, Role: "worker", TeamID: w.teamA1, DisplayName: "Jo Bloggs",
		CreatedBy: w.supA1.UserID, ExpiresAt: in.ExpiresAt}
	if !bytes.Equal(stored.Hash, want.Hash) || stored.AreaID != want.AreaID || stored.Role != want.Role || stored.TeamID != want.TeamID ||
		stored.DisplayName != want.DisplayName || stored.CreatedBy != want.CreatedBy || !stored.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("stored invite = %+v, want %+v", stored, want)
	}
	if b, _ := json.Marshal(stored); bytes.Contains(b, []byte(in.Code)) {
		t.Error("the stored invite holds its code")
	}
	// Two invites never share a code.
	in2, err := w.svc.CreateInvite(w.ctx, w.adminA, identity.Admin, "", "Second Admin")
	if err != nil || in2.Code == in.Code {
		t.Errorf("second invite %v, %v", in2.Code == in.Code, err)
	}
}

func TestCreateInviteValidates(t *testing.T) {
	w := newWorld(t)
	for name, c := range map[string]struct {
		role        identity.Role
		team, dname string
		want        errkind.Kind
	}{
		"no role":              {0, w.teamA1, "Jo", errkind.Invalid},
		"unknown role":         {9, w.teamA1, "Jo", errkind.Invalid},
		"no name":              {identity.Worker, w.teamA1, " ", errkind.Invalid},
		"long name":            {identity.Worker, w.teamA1, strings.Repeat("a", 101), errkind.Invalid},
		"control character":    {identity.Worker, w.teamA1, "Jo\x00", errkind.Invalid},
		"supervisor no team":   {identity.Supervisor, "", "Jo", errkind.Invalid},
		"admin with own team":  {identity.Admin, w.teamA2, "Jo", 0},
		"admin with far team":  {identity.Admin, w.teamB1, "Jo", errkind.NotFound},
		"worker, 100 chars ok": {identity.Worker, w.teamA1, strings.Repeat("a", 100), 0},
	} {
		_, err := w.svc.CreateInvite(w.ctx, w.adminA, c.role, c.team, c.dname)
		wantKind(t, name, err, c.want)
	}
}

func TestInvitesExpire(t *testing.T) {
	w := newWorld(t)
	// A service whose clock is 73 hours behind makes invites that have
	// already expired by the time anyone reads them.
	past := func() time.Time { return time.Now().Add(-73 * time.Hour) }
	svc, err := New(Config{Store: w.st, Sessions: w.sessions, Writer: w.eng, Devices: w.devices, Now: past})
	if err != nil {
		t.Fatal(err)
	}
	in, err := svc.CreateInvite(w.ctx, w.adminA, identity.Worker, w.teamA1, "Late")
	if err != nil {
		t.Fatal(err)
	}
	err = w.st.DirectoryView(w.ctx, func(tx store.DirTx) error { _, err := tx.Invite(auth.HashSecret(in.Code)); return err })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an expired invite is still found: %v", err)
	}
	// The TTL is configurable.
	svc, _ = New(Config{Store: w.st, Sessions: w.sessions, Writer: w.eng, Devices: w.devices, Now: w.clock.Now, InviteTTL: time.Hour})
	in, err = svc.CreateInvite(w.ctx, w.adminA, identity.Worker, w.teamA1, "Soon")
	if err != nil || !in.ExpiresAt.Equal(w.clock.Now().Add(time.Hour)) {
		t.Errorf("TTL: %v, %v", in.ExpiresAt, err)
	}
}

// TestInviteCodeNeverReachesDisk writes an invite to an on-disk store and
// scans every file of it: the hash is there, the code is not.
func TestInviteCodeNeverReachesDisk(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(store.Options{Dir: dir, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	code, created, err := Bootstrap(t.Context(), st, "Lambeth", time.Now(), 0)
	if err != nil || !created {
		t.Fatal(created, err)
	}
	var areaID string
	st.DirectoryView(t.Context(), func(tx store.DirTx) error {
		as, _ := tx.Areas()
		areaID = as[0].ID
		return nil
	})
	ses := &fakeSessions{}
	svc, _ := New(Config{Store: st, Sessions: ses, Writer: newEngine(t, st, nil), Devices: newDevices(t, st, time.Now)})
	admin := &store.User{ID: newID(), AreaID: areaID, DisplayName: "A", Role: "admin", Handle: []byte("h")}
	st.Directory(t.Context(), func(tx store.DirTx) error { return tx.PutUser(admin) })
	in, err := svc.CreateInvite(t.Context(), &identity.Identity{UserID: admin.ID, Role: identity.Admin, Area: areaID}, identity.Admin, "", "Second")
	if err != nil {
		t.Fatal(err)
	}
	// While the store is open every write sits in its write-ahead log as
	// written; once closed, the log is flushed into tables that compress
	// their blocks, where even a stored hash need not appear whole. So the
	// open scan proves it can see what is stored, and both scans look for
	// the codes.
	found := func(what []byte) func(b []byte) bool { return func(b []byte) bool { return bytes.Contains(b, what) } }
	for _, c := range []string{code, in.Code} {
		if !anyFile(t, dir, found(auth.HashSecret(c))) {
			t.Fatal("the scan cannot see the stored hash; it proves nothing")
		}
	}
	codes := func(b []byte) bool {
		for _, c := range []string{code, in.Code} {
			if bytes.Contains(b, []byte(c)) || bytes.Contains(b, []byte(strings.TrimPrefix(c, auth.InvitePrefix))) {
				return true
			}
		}
		return false
	}
	if anyFile(t, dir, codes) {
		t.Error("an invite code was written to the open store's files")
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if anyFile(t, dir, codes) {
		t.Error("an invite code was written to the closed store's files")
	}
}

// anyFile reports whether match holds for the contents of any file under dir.
func anyFile(t *testing.T, dir string, match func([]byte) bool) bool {
	t.Helper()
	hit := false
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || hit {
			return err
		}
		b, err := os.ReadFile(path)
		hit = match(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return hit
}

func TestDisableUser(t *testing.T) {
	w := newWorld(t)
	if err := w.svc.DisableUser(w.ctx, w.adminA, w.workerA1.UserID); err != nil {
		t.Fatal(err)
	}
	if !w.user(w.workerA1.UserID).Disabled {
		t.Error("the user is not disabled")
	}
	if ended, _ := w.sessions.calls(); !slices.Equal(ended, []string{w.workerA1.UserID}) {
		t.Errorf("EndUserSessions calls = %v", ended)
	}
	// Again: harmless, and ends sessions again.
	if err := w.svc.DisableUser(w.ctx, w.adminA, w.workerA1.UserID); err != nil {
		t.Fatal(err)
	}
	if ended, _ := w.sessions.calls(); len(ended) != 2 {
		t.Errorf("EndUserSessions calls = %v", ended)
	}
	// Admins can disable admins and supervisors, but not themselves.
	other := w.addUser("adminA2", w.areaA, identity.Admin)
	if err := w.svc.DisableUser(w.ctx, w.adminA, other.UserID); err != nil {
		t.Error(err)
	}
	wantKind(t, "self", w.svc.DisableUser(w.ctx, w.adminA, w.adminA.UserID), errkind.Invalid)
	wantKind(t, "no id", w.svc.DisableUser(w.ctx, w.adminA, ""), errkind.Invalid)
	if w.user(w.adminA.UserID).Disabled {
		t.Error("an admin disabled themselves")
	}
	// If sessions cannot be ended the user stays disabled and the caller is
	// told to retry.
	w.sessions.endErr = errors.New("boom")
	wantKind(t, "sessions fail", w.svc.DisableUser(w.ctx, w.adminA, w.supA2.UserID), errkind.Unavailable)
	if !w.user(w.supA2.UserID).Disabled {
		t.Error("the user is not disabled after sessions failed to end")
	}
	// A disabled worker cannot be assigned.
	wantKind(t, "assign disabled", w.svc.AssignClient(w.ctx, w.adminA, w.clientA1, w.workerA1.UserID), errkind.Precondition)
}
