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
