package admin

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/auth"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/pgstore"
	"github.com/throughcare/throughcare/server/pgstore/pgtest"
	"github.com/throughcare/throughcare/server/servertest/fixture"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/syncengine"
)

// benchStore is a store the admin service and its engine and sessions run
// on (auth.New needs only its directory): *store.DB and *pgstore.DB.
type benchStore interface {
	Store
	syncengine.Store
}

// BenchmarkListClients lists an area of 1,000 clients as its admin, on
// each store: the directory's page, every client's name and status from
// its record (one ClientRecords read), and the list's audit entry.
func BenchmarkListClients(b *testing.B) {
	const clients = 1000
	for _, c := range []struct {
		name string
		open func(b *testing.B) benchStore
	}{
		{"badger", func(b *testing.B) benchStore {
			st, err := store.Open(store.Options{InMemory: true, GCInterval: -1})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return st
		}},
		{"postgres", func(b *testing.B) benchStore {
			db, err := pgstore.Open(context.Background(), pgstore.Options{URL: pgtest.Shared(b).Database(b, b.Name())})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { db.Close() })
			return db
		}},
	} {
		b.Run(fmt.Sprintf("%s/clients=%d", c.name, clients), func(b *testing.B) {
			svc, admin, team := benchService(b, c.open(b))
			ctx := context.Background()
			for range clients {
				if _, err := svc.CreateClient(ctx, admin, NewClient{TeamID: team, GivenName: "Alex", FamilyName: "Smith", Pathway: "drr"}); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				got, err := svc.ListClients(ctx, admin, "")
				if err != nil || len(got) != clients || got[0].DisplayName != "Alex Smith" {
					b.Fatalf("ListClients: %d clients (%v)", len(got), err)
				}
			}
		})
	}
}

// benchService returns a service over st and an admin of an area with one
// team.
func benchService(b *testing.B, st benchStore) (*Service, *identity.Identity, string) {
	b.Helper()
	eng, err := syncengine.New(syncengine.Config{Store: st})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(eng.Shutdown)
	devices, err := auth.New(auth.Config{RPID: "localhost", RPDisplayName: "Throughcare", RPOrigins: []string{"http://localhost"}}, st)
	if err != nil {
		b.Fatal(err)
	}
	svc, err := New(Config{Store: st, Sessions: &fakeSessions{}, Writer: eng, Devices: devices})
	if err != nil {
		b.Fatal(err)
	}
	fx := fixture.NewWorld(b, st)
	_, admin := fx.AddUser("admin", fx.AreaA, identity.Admin, time.Now())
	return svc, admin, fx.TeamA1
}
