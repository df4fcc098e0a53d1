package store_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/store/storetest"
)

// TestBadgerDirectoryConformance runs the directory suite against an
// in-memory Badger store on the suite's clock.
func TestBadgerDirectoryConformance(t *testing.T) {
	storetest.RunDirectory(t, func(t *testing.T, now func() time.Time) store.DirectoryStore {
		s, err := store.Open(store.Options{InMemory: true, Logger: zerolog.Nop(), Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestDirectoryIndexesFollowChanges(t *testing.T) {
	s, err := store.Open(store.Options{InMemory: true, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	err = s.Directory(ctx, func(tx store.DirTx) error {
		if err := tx.PutClient(&store.Client{ID: "c1", AreaID: "a", TeamID: "t1"}); err != nil {
			return err
		}
		return tx.PutClient(&store.Client{ID: "c1", AreaID: "a", TeamID: "t2"})
	})
	if err != nil {
		t.Fatal(err)
	}
	s.DirectoryView(ctx, func(tx store.DirTx) error {
		if got := tx.ClientsOfTeam("t1"); len(got) != 0 {
			t.Errorf("client still listed under its old team: %v", got)
		}
		if got := tx.ClientsOfTeam("t2"); !slices.Equal(got, []string{"c1"}) {
			t.Errorf("ClientsOfTeam(t2) = %v", got)
		}
		return nil
	})
	// An invite past its expiry is gone even before Badger's TTL reaps it.
	err = s.Directory(ctx, func(tx store.DirTx) error {
		return tx.PutInvite(&store.Invite{Hash: []byte("h"), ExpiresAt: time.Now().Add(-time.Second)})
	})
	if err != nil {
		t.Fatal(err)
	}
	s.DirectoryView(ctx, func(tx store.DirTx) error {
		if _, err := tx.Invite([]byte("h")); err != store.ErrNotFound {
			t.Errorf("expired invite = %v, want ErrNotFound", err)
		}
		return nil
	})
}

func TestDevicesSharingACredential(t *testing.T) {
	s, err := store.Open(store.Options{InMemory: true, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	cred := []byte("credential-1")
	primary := &store.Device{ID: "d-primary", UserID: "u1", Name: "Tablet A", CredentialID: cred,
		Credential: []byte(`{"id":"x"}`)}
	second := &store.Device{ID: "d-second", UserID: "u1", Name: "Tablet B", CredentialID: cred, PrimaryID: primary.ID}
	other := &store.Device{ID: "d-other", UserID: "u1", Name: "Phone", CredentialID: []byte("credential-2")}
	err = s.Directory(ctx, func(tx store.DirTx) error {
		for _, d := range []*store.Device{primary, second, other} {
			if err := tx.PutDevice(d); err != nil {
				return err
			}
		}
		// Storing the installation again (a sign-in moving LastUsedAt) must
		// not move the credential index either.
		return tx.PutDevice(second)
	})
	if err != nil {
		t.Fatal(err)
	}
	s.DirectoryView(ctx, func(tx store.DirTx) error {
		d, err := tx.DeviceByCredential(cred)
		if err != nil || d.ID != primary.ID || !d.IsPrimary() || d.PrimaryOf() != primary.ID {
			t.Errorf("DeviceByCredential = %+v, %v; want the primary", d, err)
		}
		got, err := tx.Installations("u1", primary.ID)
		if err != nil || len(got) != 1 || got[0].ID != second.ID || got[0].Credential != nil || got[0].PrimaryOf() != primary.ID {
			t.Errorf("Installations = %+v, %v; want only %s", got, err, second.ID)
		}
		if got, _ := tx.Installations("u1", other.ID); len(got) != 0 {
			t.Errorf("Installations of another passkey = %+v", got)
		}
		if ids := tx.DevicesOfUser("u1"); len(ids) != 3 {
			t.Errorf("DevicesOfUser = %v, want every installation", ids)
		}
		return nil
	})
}

// A device record stored before installations existed decodes as a
// primary.
func TestOldDeviceRecordDecodesAsPrimary(t *testing.T) {
	var d store.Device
	old := `{"ID":"d1","UserID":"u1","Name":"Tablet","CredentialID":"Y3JlZA==","Credential":"e30=",` +
		`"CreatedAt":"2025-01-02T03:04:05Z","LastUsedAt":"2025-01-02T03:04:05Z","RevokedAt":"0001-01-01T00:00:00Z"}`
	if err := json.Unmarshal([]byte(old), &d); err != nil {
		t.Fatal(err)
	}
	if !d.IsPrimary() || d.PrimaryOf() != "d1" || string(d.CredentialID) != "cred" {
		t.Fatalf("old record = %+v", d)
	}
}

func TestAuditEntries(t *testing.T) {
	s, err := store.Open(store.Options{InMemory: true, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	first := &store.Audit{ID: "0195f0a0-0000-7000-8000-000000000001", AreaID: "area-a", UserID: "u1", Kind: "export_contacts",
		Parameters: map[string]string{"team_id": "t1"}, At: at}
	second := &store.Audit{ID: "0195f0a0-0000-7000-8000-000000000002", AreaID: "area-a", UserID: "u2", Kind: "export_statistics", At: at}
	other := &store.Audit{ID: "0195f0a0-0000-7000-8000-000000000003", AreaID: "area-b", UserID: "u3", Kind: "export_contacts", At: at}
	err = s.Directory(ctx, func(tx store.DirTx) error {
		for _, a := range []*store.Audit{second, first, other} {
			if err := tx.PutAudit(a); err != nil {
				return err
			}
		}
		// Completing an entry stores it again under the same id.
		done := *first
		done.Rows, done.Complete = 42, true
		if err := tx.PutAudit(&done); err != nil {
			return err
		}
		if err := tx.PutAudit(&store.Audit{ID: "x"}); err == nil {
			t.Error("PutAudit accepted an entry without an area")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.DirectoryView(ctx, func(tx store.DirTx) error {
		if got := tx.AuditsOfArea("area-a"); !slices.Equal(got, []string{first.ID, second.ID}) {
			t.Errorf("AuditsOfArea(area-a) = %v, want both of its entries in id order", got)
		}
		a, err := tx.Audit(first.ID)
		if err != nil {
			t.Fatal(err)
		}
		if a.Rows != 42 || !a.Complete || a.Parameters["team_id"] != "t1" || !a.At.Equal(at) || a.UserID != "u1" {
			t.Errorf("Audit = %+v", a)
		}
		if _, err := tx.Audit("missing"); err != store.ErrNotFound {
			t.Errorf("missing audit = %v, want ErrNotFound", err)
		}
		return nil
	})
}

func TestUpdateSessionKeepsItsTokens(t *testing.T) {
	s, err := store.Open(store.Options{InMemory: true, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	sess := &store.Session{ID: "s1", UserID: "u1", DeviceID: "d1", AccessHash: []byte("a1"), RefreshHash: []byte("r1"),
		PreviousRefreshHash: []byte("r0"), AbsoluteExpiresAt: time.Now().Add(time.Hour)}
	if err := s.Directory(ctx, func(tx store.DirTx) error { return tx.PutSession(sess) }); err != nil {
		t.Fatal(err)
	}
	closed := *sess
	closed.GraceClosed = true
	if err := s.Directory(ctx, func(tx store.DirTx) error { return tx.UpdateSession(&closed) }); err != nil {
		t.Fatal(err)
	}
	s.DirectoryView(ctx, func(tx store.DirTx) error {
		for name, find := range map[string]func() (*store.Session, error){
			"access":   func() (*store.Session, error) { return tx.SessionByAccess([]byte("a1")) },
			"refresh":  func() (*store.Session, error) { return tx.SessionByRefresh([]byte("r1")) },
			"previous": func() (*store.Session, error) { return tx.SessionByRefresh([]byte("r0")) },
		} {
			got, err := find()
			if err != nil || !got.GraceClosed {
				t.Errorf("by %s hash after the update: %+v, %v", name, got, err)
			}
		}
		return nil
	})
	for name, bad := range map[string]func(s *store.Session){
		"access hash":  func(s *store.Session) { s.AccessHash = []byte("a2") },
		"refresh hash": func(s *store.Session) { s.RefreshHash = []byte("r2") },
		"previous":     func(s *store.Session) { s.PreviousRefreshHash = nil },
		"holder":       func(s *store.Session) { s.DeviceID = "d2" },
		"unknown":      func(s *store.Session) { s.ID = "s2" },
	} {
		changed := closed
		bad(&changed)
		if err := s.Directory(ctx, func(tx store.DirTx) error { return tx.UpdateSession(&changed) }); err == nil {
			t.Errorf("UpdateSession accepted a changed %s", name)
		}
	}
}
