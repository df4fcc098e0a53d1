package sdkupgrade

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	"github.com/throughcare/throughcare/client-sdk/passkey/software"
	"github.com/throughcare/throughcare/server/admin"
	"github.com/throughcare/throughcare/server/auth"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/servertest"
	"github.com/throughcare/throughcare/server/servertest/fixture"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// The current SDK opened with the schema registry as of version 1 (before
// appointments; Registry.AsOf) keeps logging and pulling contacts while a
// tablet on the current schema books appointments with the same client:
// it refuses to book one, stores the appointments it pulls without error,
// and its reads do not break. This is not an old app: it runs today's SDK
// code (e2e/oldsdk builds and runs the real schema-1 SDK from history).
func TestCurrentSDKWithSchema1RegistryBesideAppointments(t *testing.T) {
	ctx := context.Background()
	client, old, current, sync := oldAndNew(t, 1)

	if _, err := old.BookAppointment(ctx, client, caseload.Appointment{Type: "keywork", StartsAt: time.Now().Add(time.Hour)}); err == nil {
		t.Fatal("a schema-1 tablet booked an appointment; its schema has none")
	}
	start := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	missed, err := current.BookAppointment(ctx, client, caseload.Appointment{Type: "probation", StartsAt: start, WithWhom: "Probation officer"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := current.RecordAttendance(ctx, client, missed, caseload.Outcome{DNAReason: "unwell"}); err != nil {
		t.Fatal(err)
	}
	upcoming, err := current.BookAppointment(ctx, client, caseload.Appointment{Type: "keywork", StartsAt: start.Add(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.LogContact(ctx, client, caseload.Contact{OccurredAt: start, Category: "housing", Mode: "home_visit", HousingStatusAfter: "hostel"}); err != nil {
		t.Fatal(err)
	}
	sync(current, "the new tablet")
	if rep := sync(old, "the old tablet"); rep.Accepted == 0 || rep.Pulled == 0 {
		t.Fatalf("the old tablet's sync %+v: want its contact sent and the appointments pulled", rep)
	}

	// The old tablet holds the appointments and reads as before.
	tl, err := old.Timeline(ctx, client)
	if err != nil {
		t.Fatalf("the old tablet's timeline: %v", err)
	}
	if len(tl.Contacts) != 1 || tl.Contacts[0].Pending {
		t.Fatalf("the old tablet's contacts %+v: want its one contact, synced", tl.Contacts)
	}
	if len(tl.Appointments) != 2 || tl.Appointments[0].ID != missed || tl.Appointments[0].DNAReason != "unwell" || tl.Appointments[1].ID != upcoming {
		t.Fatalf("the old tablet stores appointments %+v, want the DNA and the upcoming one", tl.Appointments)
	}
	if _, err := old.Clients(ctx); err != nil {
		t.Fatalf("the old tablet's Clients: %v", err)
	}
	if _, err := old.Conflicts(ctx); err != nil {
		t.Fatalf("the old tablet's Conflicts: %v", err)
	}

	// And the new tablet sees the old one's contact.
	sync(current, "the new tablet")
	tl, err = current.Timeline(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	if len(tl.Contacts) != 1 || tl.Contacts[0].Author != old.UserID() {
		t.Fatalf("the new tablet's contacts %+v: want the old tablet's", tl.Contacts)
	}
}

// oldAndNew makes a client assigned to two workers: one on a current SDK
// tablet given the schema registry as of oldVersion, one on the current
// schema. sync syncs a
// tablet and fails the test if it errs or the server refused a change.
func oldAndNew(t *testing.T, oldVersion uint32) (client string, old, current *caseload.Device, sync func(*caseload.Device, string) caseload.SyncReport) {
	t.Helper()
	ctx := context.Background()
	env := servertest.New(t, servertest.Options{Passkeys: true})
	w := fixture.NewWorld(t, env.Store)
	adm, _ := w.AddUser("Alex Admin", w.AreaA, identity.Admin, time.Now())
	adminID := &identity.Identity{UserID: adm.ID, DeviceID: "device-admin", Role: identity.Admin, Area: w.AreaA}
	client, err := env.Server.Admin.CreateClient(ctx, adminID, admin.NewClient{TeamID: w.TeamA1, GivenName: "Sam", FamilyName: "Jones", Pathway: "licence", IdempotencyKey: "sam"})
	if err != nil {
		t.Fatal(err)
	}
	oldSchema, err := schema.Builtin().AsOf(oldVersion)
	if err != nil {
		t.Fatal(err)
	}
	old = enrolWorker(t, env, w, "Olly Old", oldSchema)
	current = enrolWorker(t, env, w, "Nia New", nil)
	for _, d := range []*caseload.Device{old, current} {
		if err := env.Server.Admin.AssignClient(ctx, adminID, client, d.UserID()); err != nil {
			t.Fatal(err)
		}
	}
	sync = func(d *caseload.Device, who string) caseload.SyncReport {
		t.Helper()
		rep, err := d.Sync(ctx)
		if err != nil {
			t.Fatalf("%s's sync: %v", who, err)
		}
		if rep.Rejected != 0 {
			t.Fatalf("%s's sync refused %d changes", who, rep.Rejected)
		}
		return rep
	}
	sync(old, "the old tablet")
	sync(current, "the new tablet")
	return client, old, current, sync
}

// The current SDK opened with the schema registry as of version 2
// (appointments, no TOP; Registry.AsOf) keeps booking appointments while a
// tablet on the current schema records TOPs with the same client: it
// stores the TOPs it pulls, cannot write one, and its reads do not break;
// the current tablet sees its booking. Like the test above, this runs
// today's SDK code with an older registry, not an old app.
func TestCurrentSDKWithSchema2RegistryBesideTOPs(t *testing.T) {
	ctx := context.Background()
	client, old, current, sync := oldAndNew(t, 2)
	day := caseload.DateOf(time.Now())
	top := caseload.OutcomeReview{InterviewDate: day, Stage: "start", Answers: map[string]caseload.TOPAnswer{"opiates": {Weeks: [4]int{7, 7, 6, 7}}}}
	if _, err := old.RecordOutcomeReview(ctx, client, top); err == nil {
		t.Fatal("a schema-2 tablet recorded a TOP; its schema has none")
	}
	if _, err := current.RecordOutcomeReview(ctx, client, top); err != nil {
		t.Fatal(err)
	}
	booked, err := old.BookAppointment(ctx, client, caseload.Appointment{Type: "keywork", StartsAt: time.Now().Add(time.Hour).Truncate(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	sync(current, "the new tablet")
	if rep := sync(old, "the old tablet"); rep.Accepted == 0 || rep.Pulled == 0 {
		t.Fatalf("the old tablet's sync %+v: want its booking sent and the TOP pulled", rep)
	}
	tl, err := old.Timeline(ctx, client)
	if err != nil {
		t.Fatalf("the old tablet's timeline: %v", err)
	}
	if len(tl.Appointments) != 1 || tl.Appointments[0].Pending {
		t.Fatalf("the old tablet's appointments %+v: want its booking, synced", tl.Appointments)
	}
	if _, err := old.Agenda(ctx, time.Now(), time.Now().Add(24*time.Hour)); err != nil {
		t.Fatalf("the old tablet's Agenda: %v", err)
	}
	sync(current, "the new tablet")
	ch, err := current.ChangeFromStart(ctx, client)
	if err != nil || ch.Start.Answers["opiates"].Weeks != [4]int{7, 7, 6, 7} {
		t.Fatalf("the new tablet's change from start: %+v, %v", ch.Start, err)
	}
	if tl, err := current.Timeline(ctx, client); err != nil || len(tl.Appointments) != 1 || tl.Appointments[0].ID != booked {
		t.Fatalf("the new tablet's appointments %+v (%v): want the old tablet's booking", tl.Appointments, err)
	}
}

// enrolWorker enrols a worker of team A1 on a current SDK tablet (in
// memory) given the schema registry reg (nil: the current schema).
func enrolWorker(t *testing.T, env *servertest.Env, w *fixture.World, name string, reg *schema.Registry) *caseload.Device {
	t.Helper()
	code := auth.NewInviteCode()
	w.Directory(func(tx store.DirTx) error {
		return tx.PutInvite(&store.Invite{Hash: auth.HashSecret(code), AreaID: w.AreaA, Role: "worker", TeamID: w.TeamA1,
			DisplayName: name, CreatedBy: store.InviteByServer, ExpiresAt: time.Now().Add(time.Hour)})
	})
	key := make([]byte, 32)
	rand.Read(key)
	d, err := caseload.Open(caseload.Config{InMemory: true, Key: key, Server: env.URL, HTTPClient: env.HTTPClient, Schema: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Enrol(context.Background(), software.New(servertest.RPOrigin), code, "Tablet"); err != nil {
		t.Fatal(err)
	}
	return d
}
