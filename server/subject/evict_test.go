package subject_test

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	"github.com/throughcare/throughcare/client-sdk/passkey/software"
	"github.com/throughcare/throughcare/server/auth"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/servertest"
	"github.com/throughcare/throughcare/server/store"
)

// enrolWorker enrols a worker of team A1 on an SDK tablet (in memory) with
// a software passkey, and makes them the env's worker.
func (e *env) enrolWorker() *caseload.Device {
	e.t.Helper()
	code := auth.NewInviteCode()
	e.w.Directory(func(tx store.DirTx) error {
		return tx.PutInvite(&store.Invite{Hash: auth.HashSecret(code), AreaID: e.w.AreaA, Role: "worker", TeamID: e.w.TeamA1,
			DisplayName: "Tess Tablet", CreatedBy: store.InviteByServer, ExpiresAt: e.clock.Now().Add(time.Hour)})
	})
	key := make([]byte, 32)
	rand.Read(key)
	d, err := caseload.Open(caseload.Config{InMemory: true, Key: key, Server: e.URL, HTTPClient: e.HTTPClient})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { d.Close() })
	if err := d.Enrol(e.ctx, software.New(servertest.RPOrigin), code, "Tablet"); err != nil {
		e.t.Fatal(err)
	}
	e.worker = &identity.Identity{UserID: d.UserID(), DeviceID: d.DeviceID(), Role: identity.Worker, Area: e.w.AreaA}
	return d
}

// A tablet holding a client who is then purged evicts them at its next
// sync: their records go from the tablet; the client kept stays.
func TestTabletEvictsAPurgedClient(t *testing.T) {
	e := newEnvWith(t, options{retention: 7 * day, passkeys: true})
	tablet := e.enrolWorker()
	gone := e.client("Gina", "Goneaway")
	kept := e.client("Kit", "Keptonbook")
	rep, err := tablet.Sync(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tablet.Client(e.ctx, gone); err != nil {
		t.Fatalf("test setup: the tablet does not hold the client (%+v): %v", rep, err)
	}
	if _, err := tablet.LogContact(e.ctx, gone, caseload.Contact{OccurredAt: e.clock.Now(), Category: "housing", Mode: "home_visit", Outcome: "Tenancy signed"}); err != nil {
		t.Fatal(err)
	}
	if _, err := tablet.Sync(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.setStatus(gone, "closed")
	e.clock.Advance(8 * day)
	if purged, err := e.Server.Subject.Sweep(e.ctx); err != nil || len(purged) != 1 {
		t.Fatalf("sweep purged %v, %v; want the closed client", purged, err)
	}

	rep, err = tablet.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Evicted != 1 {
		t.Fatalf("sync report %+v, want the purged client evicted", rep)
	}
	if _, err := tablet.Client(e.ctx, gone); !errors.Is(err, caseload.ErrNotFound) {
		t.Fatalf("the purged client on the tablet: %v, want ErrNotFound", err)
	}
	if _, err := tablet.Timeline(e.ctx, gone); !errors.Is(err, caseload.ErrNotFound) {
		t.Fatalf("the purged client's timeline on the tablet: %v, want ErrNotFound", err)
	}
	if _, err := tablet.Client(e.ctx, kept); err != nil {
		t.Fatalf("the kept client left the tablet: %v", err)
	}
}
