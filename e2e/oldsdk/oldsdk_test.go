package oldsdk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"testing"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	"github.com/throughcare/throughcare/client-sdk/passkey/software"
	"github.com/throughcare/throughcare/server/admin"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/servertest"
	"github.com/throughcare/throughcare/server/servertest/fixture"
)

// A tablet app built with the SDK from before schema version 2 keeps
// logging and pulling contacts while a colleague's current tablet books
// appointments, records a TOP (schema 3), and records consent, a risk
// assessment and a court order with its review hearing (schema 4) with the
// same client (issues 14 and 15): its syncs send its contact with nothing
// refused, it pulls the record types it does not know without error, its
// Clients and Timeline reads do not break, it reads the client's
// consent_to_share and risk_flags the current tablet derived from the new
// records (and their later changes), and the current tablet sees its
// contact.
func TestSchema1BinaryKeepsSyncingBesideCurrentTablet(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the old SDK from history (about a minute)")
	}
	bin := buildOldTablet(t)
	ctx := context.Background()
	client, base, enrolled, current := oldBesideCurrent(t, bin)

	// The current tablet pulls the client and writes record types schema 1
	// does not have.
	syncCurrent(t, current)
	start := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	missed := book(t, current, client, caseload.Appointment{Type: "probation", StartsAt: start, WithWhom: "Probation officer"})
	if _, err := current.RecordAttendance(ctx, client, missed, caseload.Outcome{DNAReason: "unwell"}); err != nil {
		t.Fatal(err)
	}
	book(t, current, client, caseload.Appointment{Type: "keywork", StartsAt: start.Add(48 * time.Hour)})
	top := caseload.OutcomeReview{InterviewDate: caseload.DateOf(time.Now()), Stage: "start",
		Answers: map[string]caseload.TOPAnswer{"opiates": {Weeks: [4]int{7, 7, 6, 7}}}}
	if _, err := current.RecordOutcomeReview(ctx, client, top); err != nil {
		t.Fatal(err)
	}
	sharing := recordSchema4(t, current, client, start)
	syncCurrent(t, current)

	// The old tablet pulls the client beside the appointments and the TOP,
	// logs a contact and syncs: sent, nothing refused.
	logged := runOld(t, bin, append(base, "-client", client)...)
	if logged.First.Rejected != 0 || logged.First.Pulled != 10 {
		t.Fatalf("the old tablet's first sync %+v: want 10 records pulled: the client, two appointments (one marked missed), a TOP, three consents, a risk assessment, an order and its review hearing", logged.First)
	}
	if logged.Sync.Accepted == 0 || logged.Sync.Rejected != 0 {
		t.Fatalf("the old tablet's sync %+v: want its contact's changes accepted, nothing refused", logged.Sync)
	}
	if logged.Clients != 1 || len(logged.Contacts) != 1 || logged.Contacts[0].ID != logged.Logged || logged.Contacts[0].Pending {
		t.Fatalf("the old tablet holds %d clients, contacts %+v: want the client and its contact %s, synced", logged.Clients, logged.Contacts, logged.Logged)
	}
	wantFlags(t, "after its first pull", logged, clientFlags{ID: client, ConsentToShare: true, ConsentRecorded: true, RiskFlags: []string{"lone_working", "overdose"}})

	// The current tablet sees it, and writes again.
	syncCurrent(t, current)
	tl, err := current.Timeline(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	if len(tl.Contacts) != 1 || tl.Contacts[0].ID != logged.Logged || tl.Contacts[0].Author != enrolled.UserID {
		t.Fatalf("the current tablet's contacts %+v: want the old tablet's %s", tl.Contacts, logged.Logged)
	}
	if len(tl.Appointments) != 3 || len(tl.OutcomeReviews) != 1 || len(tl.Orders) != 1 {
		t.Fatalf("the current tablet's appointments %+v, TOPs %+v, orders %+v: want its own three (one a review hearing), its TOP and its order", tl.Appointments, tl.OutcomeReviews, tl.Orders)
	}
	book(t, current, client, caseload.Appointment{Type: "keywork", StartsAt: start.Add(96 * time.Hour)})
	// The client withdraws the last consent to share, and overdose risk
	// falls to low: the derived flags change.
	if err := current.WithdrawConsent(ctx, client, sharing, caseload.DateOf(start.AddDate(0, 0, -1)), time.Now()); err != nil {
		t.Fatal(err)
	}
	assessRisk(t, current, client, start, map[string]caseload.Risk{"overdose": {Level: "low"}})
	syncCurrent(t, current)

	// The old tablet syncs again: it pulls the new appointment, consent
	// withdrawal and assessment, sends nothing, reads as before and sees
	// the flags changed.
	again := runOld(t, bin, base...)
	if again.Sync.Accepted != 0 || again.Sync.Rejected != 0 || again.Sync.Pulled == 0 {
		t.Fatalf("the old tablet's second sync %+v: want the new records pulled, nothing sent or refused", again.Sync)
	}
	if again.Clients != 1 || len(again.Contacts) != 1 || again.Contacts[0].ID != logged.Logged {
		t.Fatalf("the old tablet holds %d clients, contacts %+v after pulling an appointment: want as before", again.Clients, again.Contacts)
	}
	wantFlags(t, "after the withdrawal and the new assessment", again, clientFlags{ID: client, ConsentToShare: false, ConsentRecorded: true, RiskFlags: []string{"lone_working"}})
}

// recordSchema4 records on d, for the client, schema version 4's records:
// consent to national monitoring, consent to share with probation (which
// makes consent_to_share true) and a withdrawn consent to share with the
// GP, a risk assessment raising the overdose and lone_working flags and
// clearing self_harm, and a DRR with a review hearing. It returns the
// probation consent's id.
func recordSchema4(t *testing.T, d *caseload.Device, client string, start time.Time) string {
	t.Helper()
	ctx := context.Background()
	given := caseload.DateOf(start.AddDate(0, 0, -30))
	if _, err := d.RecordConsent(ctx, client, caseload.Consent{Scope: "national_monitoring", Given: given}, time.Now()); err != nil {
		t.Fatal(err)
	}
	sharing, err := d.RecordConsent(ctx, client, caseload.Consent{Scope: "probation", Given: given}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.RecordConsent(ctx, client, caseload.Consent{Scope: "gp", Given: given, Withdrawn: caseload.DateOf(start.AddDate(0, 0, -7))}, time.Now()); err != nil {
		t.Fatal(err)
	}
	assessRisk(t, d, client, start.AddDate(0, 0, -2), map[string]caseload.Risk{"overdose": {Level: "high"}, "lone_working": {Level: "medium"}, "self_harm": {Level: "low"}})
	order, err := d.RecordOrder(ctx, client, caseload.Order{Kind: "drr", Court: "Camberwell Green", Start: given, TestingFrequency: "weekly", ReviewIntervalDays: 28})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.BookReviewHearing(ctx, client, order, caseload.Appointment{StartsAt: start.Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return sharing
}

// assessRisk records on d a risk assessment of the client made on the day.
func assessRisk(t *testing.T, d *caseload.Device, client string, day time.Time, risks map[string]caseload.Risk) {
	t.Helper()
	if _, err := d.RecordRiskAssessment(context.Background(), client, caseload.RiskAssessment{AssessedOn: caseload.DateOf(day), Risks: risks}); err != nil {
		t.Fatal(err)
	}
}

// wantFlags checks the old tablet reads one client with the consent and
// risk flags want.
func wantFlags(t *testing.T, when string, r oldReport, want clientFlags) {
	t.Helper()
	if len(r.Client) != 1 {
		t.Fatalf("the old tablet reads clients %+v %s: want one", r.Client, when)
	}
	got := r.Client[0]
	slices.Sort(got.RiskFlags)
	if got.ID != want.ID || got.ConsentToShare != want.ConsentToShare || got.ConsentRecorded != want.ConsentRecorded || !slices.Equal(got.RiskFlags, want.RiskFlags) {
		t.Fatalf("the old tablet reads the client as %+v %s, want %+v", got, when, want)
	}
}

// oldBesideCurrent starts a server with a client assigned to two workers:
// one enrolled on the old tablet bin (its store on disk, kept between
// runs; base are the flags that open it), one on a current SDK tablet.
func oldBesideCurrent(t *testing.T, bin string) (client string, base []string, enrolled oldReport, current *caseload.Device) {
	t.Helper()
	ctx := context.Background()
	env := servertest.New(t, servertest.Options{Passkeys: true, Serve: servertest.ServeOptions{Plaintext: true}})
	w := fixture.NewWorld(t, env.Store)
	adm, _ := w.AddUser("Alex Admin", w.AreaA, identity.Admin, time.Now())
	adminID := &identity.Identity{UserID: adm.ID, DeviceID: "device-admin", Role: identity.Admin, Area: w.AreaA}
	client, err := env.Server.Admin.CreateClient(ctx, adminID, admin.NewClient{TeamID: w.TeamA1, GivenName: "Sam", FamilyName: "Jones", Pathway: "licence", IdempotencyKey: "sam"})
	if err != nil {
		t.Fatal(err)
	}
	invite := func(name string) string {
		t.Helper()
		inv, err := env.Server.Admin.CreateInvite(ctx, adminID, identity.Worker, w.TeamA1, name)
		if err != nil {
			t.Fatal(err)
		}
		return inv.Code
	}

	key := make([]byte, 32)
	rand.Read(key)
	base = []string{"-dir", t.TempDir(), "-key", hex.EncodeToString(key), "-server", env.URL, "-origin", servertest.RPOrigin}
	enrolled = runOld(t, bin, append(base, "-invite", invite("Olly Old"))...)
	if enrolled.UserID == "" || enrolled.Sync.Rejected != 0 {
		t.Fatalf("the old tablet's enrolment: %+v", enrolled)
	}
	current = openCurrent(t, env, invite("Nia New"))
	for _, u := range []string{enrolled.UserID, current.UserID()} {
		if err := env.Server.Admin.AssignClient(ctx, adminID, client, u); err != nil {
			t.Fatal(err)
		}
	}
	return client, base, enrolled, current
}

// openCurrent enrols a worker with the invite code on a current SDK tablet
// (in memory).
func openCurrent(t *testing.T, env *servertest.Env, code string) *caseload.Device {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	d, err := caseload.Open(caseload.Config{InMemory: true, Key: key, Server: env.URL, HTTPClient: env.HTTPClient})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Enrol(context.Background(), software.New(servertest.RPOrigin), code, "Tablet"); err != nil {
		t.Fatal(err)
	}
	return d
}

func book(t *testing.T, d *caseload.Device, client string, a caseload.Appointment) string {
	t.Helper()
	id, err := d.BookAppointment(context.Background(), client, a)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func syncCurrent(t *testing.T, d *caseload.Device) {
	t.Helper()
	rep, err := d.Sync(context.Background())
	if err != nil || rep.Rejected != 0 {
		t.Fatalf("the current tablet's sync %+v: %v", rep, err)
	}
}
