package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/store"
)

// session is a stored session of user u1 on device d1 with the given
// token hashes.
func session(w *dirWorld, access, refresh, previous string) *store.Session {
	now := w.clk.Now()
	s := &store.Session{ID: "s1", UserID: "u1", DeviceID: "d1",
		AccessHash: []byte(access), RefreshHash: []byte(refresh),
		CreatedAt: now, LastUsedAt: now, AccessExpiresAt: now.Add(15 * time.Minute),
		RefreshExpiresAt: now.Add(24 * time.Hour), AbsoluteExpiresAt: now.Add(30 * 24 * time.Hour)}
	if previous != "" {
		s.PreviousRefreshHash = []byte(previous)
	}
	return s
}

func testSessions(t *testing.T, w *dirWorld) {
	w.update(func(tx store.DirTx) error { return tx.PutSession(session(w, "A1", "R1", "")) })
	rotated := session(w, "A2", "R2", "R1")
	w.update(func(tx store.DirTx) error { return tx.PutSession(rotated) })
	w.view(func(tx store.DirTx) error {
		got, err := tx.Session("s1")
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "Session(s1)", got, rotated)
		_, err = tx.Session("nope")
		wantNotFound(t, "Session(nope)", err)
		if got, err := tx.SessionByAccess([]byte("A2")); err != nil || got.ID != "s1" {
			t.Errorf("SessionByAccess(current) = %v, %v; want s1", got, err)
		}
		_, err = tx.SessionByAccess([]byte("A1"))
		wantNotFound(t, "SessionByAccess(replaced)", err)
		for _, h := range []string{"R2", "R1"} { // current and previous
			if got, err := tx.SessionByRefresh([]byte(h)); err != nil || got.ID != "s1" {
				t.Errorf("SessionByRefresh(%s) = %v, %v; want s1", h, got, err)
			}
		}
		sameIDs(t, "SessionsOfUser(u1)", tx.SessionsOfUser("u1"), "s1")
		sameIDs(t, "SessionsOfDevice(d1)", tx.SessionsOfDevice("d1"), "s1")
		return nil
	})
	// Rotating again drops the oldest refresh hash from the index.
	w.update(func(tx store.DirTx) error { return tx.PutSession(session(w, "A3", "R3", "R2")) })
	w.view(func(tx store.DirTx) error {
		_, err := tx.SessionByRefresh([]byte("R1"))
		wantNotFound(t, "SessionByRefresh(two rotations ago)", err)
		return nil
	})
}

func testSessionUpdate(t *testing.T, w *dirWorld) {
	s := session(w, "A1", "R1", "")
	w.update(func(tx store.DirTx) error { return tx.PutSession(s) })
	w.clk.Advance(time.Minute)
	s.LastUsedAt, s.GraceClosed = w.clk.Now(), true
	w.update(func(tx store.DirTx) error { return tx.UpdateSession(s) })
	w.view(func(tx store.DirTx) error {
		got, err := tx.SessionByAccess([]byte("A1"))
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "session after UpdateSession", got, s)
		return nil
	})
	changed := *s
	changed.AccessHash = []byte("other")
	err := w.d.Directory(context.Background(), func(tx store.DirTx) error { return tx.UpdateSession(&changed) })
	if err == nil {
		t.Error("UpdateSession changing a token hash succeeded, want an error")
	}
	missing := session(w, "X", "Y", "")
	missing.ID = "absent"
	err = w.d.Directory(context.Background(), func(tx store.DirTx) error { return tx.UpdateSession(missing) })
	if err == nil {
		t.Error("UpdateSession of an absent session succeeded, want an error")
	}
}

func testSessionDelete(t *testing.T, w *dirWorld) {
	w.update(func(tx store.DirTx) error { return tx.PutSession(session(w, "A2", "R2", "R1")) })
	w.update(func(tx store.DirTx) error { return tx.DeleteSession("s1") })
	w.update(func(tx store.DirTx) error { return tx.DeleteSession("s1") }) // absent: no error
	w.view(func(tx store.DirTx) error {
		_, err := tx.Session("s1")
		wantNotFound(t, "Session after delete", err)
		_, err = tx.SessionByAccess([]byte("A2"))
		wantNotFound(t, "SessionByAccess after delete", err)
		for _, h := range []string{"R2", "R1"} {
			_, err = tx.SessionByRefresh([]byte(h))
			wantNotFound(t, "SessionByRefresh("+h+") after delete", err)
		}
		sameIDs(t, "SessionsOfUser after delete", tx.SessionsOfUser("u1"))
		sameIDs(t, "SessionsOfDevice after delete", tx.SessionsOfDevice("d1"))
		return nil
	})
}

func testCeremonyExpiry(t *testing.T, w *dirWorld) {
	c := &store.Ceremony{ID: "cer", Kind: "login", Data: []byte("session data"),
		InviteHash: []byte("ih"), DeviceName: "tablet", ExpiresAt: w.clk.Now().Add(5 * time.Minute)}
	w.update(func(tx store.DirTx) error { return tx.PutCeremony(c) })
	w.clk.Advance(5*time.Minute - time.Nanosecond)
	w.view(func(tx store.DirTx) error {
		got, err := tx.Ceremony("cer")
		if err != nil {
			t.Fatalf("Ceremony just before expiry: %v", err)
		}
		sameJSON(t, "Ceremony", got, c)
		return nil
	})
	w.clk.Advance(time.Nanosecond)
	w.view(func(tx store.DirTx) error {
		_, err := tx.Ceremony("cer")
		wantNotFound(t, "Ceremony at its expiry", err)
		return nil
	})
	c2 := &store.Ceremony{ID: "cer2", Kind: "enrol", ExpiresAt: w.clk.Now().Add(time.Minute)}
	w.update(func(tx store.DirTx) error { return tx.PutCeremony(c2) })
	w.update(func(tx store.DirTx) error { return tx.DeleteCeremony("cer2") })
	w.view(func(tx store.DirTx) error {
		_, err := tx.Ceremony("cer2")
		wantNotFound(t, "Ceremony after DeleteCeremony", err)
		return nil
	})
}

func testInviteStates(t *testing.T, w *dirWorld) {
	now := w.clk.Now()
	invite := func(hash string) *store.Invite {
		return &store.Invite{Hash: []byte(hash), AreaID: "a1", Role: "worker", TeamID: "t1",
			CreatedBy: "u0", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	}
	pending, used, revoked := invite("p"), invite("u"), invite("r")
	used.UsedBy, used.UsedAt = "u9", now
	revoked.RevokedBy, revoked.RevokedAt = "u0", now
	w.update(func(tx store.DirTx) error {
		for _, in := range []*store.Invite{pending, used, revoked} {
			if err := tx.PutInvite(in); err != nil {
				return err
			}
		}
		return nil
	})
	if pending.ID == "" {
		t.Fatal("PutInvite left the invite without an id")
	}
	w.view(func(tx store.DirTx) error {
		got, err := tx.Invite([]byte("p"))
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "Invite(pending)", got, pending)
		for _, h := range []string{"u", "r", "unknown"} {
			_, err := tx.Invite([]byte(h))
			wantNotFound(t, "Invite("+h+")", err)
		}
		got, err = tx.InviteOfArea("a1", used.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "InviteOfArea(used)", got, used)
		_, err = tx.InviteOfArea("a2", used.ID)
		wantNotFound(t, "InviteOfArea(other area)", err)
		_, err = tx.InviteOfArea("a1", "")
		wantNotFound(t, "InviteOfArea(no id)", err)
		return nil
	})
	w.clk.Advance(time.Hour)
	w.view(func(tx store.DirTx) error {
		_, err := tx.Invite([]byte("p"))
		wantNotFound(t, "Invite at its expiry", err)
		got, err := tx.InviteOfArea("a1", pending.ID)
		if err != nil {
			t.Fatalf("InviteOfArea(expired, still kept): %v", err)
		}
		if got.Pending(w.clk.Now()) {
			t.Error("expired invite reports Pending")
		}
		return nil
	})
}

func testInvitesOfArea(t *testing.T, w *dirWorld) {
	exp := w.clk.Now().Add(time.Hour)
	w.update(func(tx store.DirTx) error {
		for _, id := range []string{"01", "02", "03", "04"} {
			in := &store.Invite{ID: id, Hash: []byte("h" + id), AreaID: "a1", ExpiresAt: exp}
			if err := tx.PutInvite(in); err != nil {
				return err
			}
		}
		return tx.PutInvite(&store.Invite{ID: "05", Hash: []byte("other"), AreaID: "a2", ExpiresAt: exp})
	})
	page := func(after string, n int) []string {
		var ids []string
		w.view(func(tx store.DirTx) error {
			return tx.InvitesOfArea("a1", after, func(in *store.Invite) bool {
				ids = append(ids, in.ID)
				return len(ids) < n
			})
		})
		return ids
	}
	for _, tc := range []struct {
		after string
		n     int
		want  []string
	}{
		{"", 10, []string{"04", "03", "02", "01"}},
		{"", 2, []string{"04", "03"}},
		{"03", 2, []string{"02", "01"}},
		{"01", 10, nil},
	} {
		got := page(tc.after, tc.n)
		sameJSON(t, "InvitesOfArea(after "+tc.after+")", got, tc.want)
	}
}

func testAssignments(t *testing.T, w *dirWorld) {
	t0 := w.clk.Now()
	ended := &store.Assignment{ClientID: "c1", UserID: "u1", From: t0, To: t0.Add(time.Hour)}
	current := &store.Assignment{ClientID: "c1", UserID: "u1", From: t0.Add(2 * time.Hour)}
	elsewhere := &store.Assignment{ClientID: "c0", UserID: "u1", From: t0.Add(3 * time.Hour)}
	colleague := &store.Assignment{ClientID: "c1", UserID: "u2", From: t0}
	w.update(func(tx store.DirTx) error {
		for _, a := range []*store.Assignment{current, ended, elsewhere, colleague} {
			if err := tx.PutAssignment(a); err != nil {
				return err
			}
		}
		return nil
	})
	w.view(func(tx store.DirTx) error {
		got, err := tx.AssignmentsOfUser("u1")
		if err != nil {
			t.Fatal(err)
		}
		// By client, then start.
		sameJSON(t, "AssignmentsOfUser(u1)", got, []*store.Assignment{elsewhere, ended, current})
		got, err = tx.AssignmentsOfClient("c1")
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "AssignmentsOfClient(c1)", got, []*store.Assignment{ended, current, colleague})
		return nil
	})
	// Ending an assignment is storing it again with To set.
	current.To = t0.Add(4 * time.Hour)
	w.update(func(tx store.DirTx) error { return tx.PutAssignment(current) })
	w.view(func(tx store.DirTx) error {
		got, err := tx.AssignmentsOfClient("c1")
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "AssignmentsOfClient(c1) after ending", got, []*store.Assignment{ended, current, colleague})
		return nil
	})
	for _, tc := range []struct {
		a      *store.Assignment
		at     time.Time
		open   bool
		covers bool
	}{
		{ended, t0, false, true},
		{ended, t0.Add(time.Hour), false, false}, // To is exclusive
		{ended, t0.Add(-time.Nanosecond), false, false},
		{colleague, t0.Add(1000 * time.Hour), true, true},
	} {
		if got := tc.a.Open(); got != tc.open {
			t.Errorf("Open(%v) = %v, want %v", tc.a, got, tc.open)
		}
		if got := tc.a.Covers(tc.at); got != tc.covers {
			t.Errorf("Covers(%v, %v) = %v, want %v", tc.a, tc.at, got, tc.covers)
		}
	}
}

func testAtomicity(t *testing.T, w *dirWorld) {
	boom := errors.New("boom")
	err := w.d.Directory(context.Background(), func(tx store.DirTx) error {
		for _, err := range []error{
			tx.PutArea(&store.Area{ID: "a1"}),
			tx.PutUser(&store.User{ID: "u1", AreaID: "a1", Handle: []byte("h")}),
			tx.PutClient(&store.Client{ID: "c1", AreaID: "a1", TeamID: "t1"}),
			tx.PutSession(session(w, "A", "R", "")),
			tx.PutInvite(&store.Invite{ID: "i1", Hash: []byte("ih"), AreaID: "a1", ExpiresAt: w.clk.Now().Add(time.Hour)}),
			tx.PutAssignment(&store.Assignment{ClientID: "c1", UserID: "u1", From: w.clk.Now()}),
			tx.AppendAudit(&store.Audit{AreaID: "a1", UserID: "u1", Action: store.AuditSignIn}),
		} {
			if err != nil {
				return err
			}
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Directory = %v, want fn's error", err)
	}
	w.view(func(tx store.DirTx) error {
		_, err := tx.Area("a1")
		wantNotFound(t, "Area", err)
		_, err = tx.UserByHandle([]byte("h"))
		wantNotFound(t, "UserByHandle", err)
		_, err = tx.SessionByAccess([]byte("A"))
		wantNotFound(t, "SessionByAccess", err)
		_, err = tx.Invite([]byte("ih"))
		wantNotFound(t, "Invite", err)
		if au, err := tx.AuditOfUser("a1", "u1", 0, 0); err != nil || len(au) != 0 {
			t.Errorf("AuditOfUser = %v, %v; want none", au, err)
		}
		sameIDs(t, "UsersOfArea", tx.UsersOfArea("a1"))
		sameIDs(t, "ClientsOfArea", tx.ClientsOfArea("a1"))
		as, err := tx.AssignmentsOfUser("u1")
		if err != nil || len(as) != 0 {
			t.Errorf("AssignmentsOfUser = %v, %v; want none", as, err)
		}
		return nil
	})
}
