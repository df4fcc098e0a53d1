package sdkupgrade

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload"
)

// The current SDK opened with the schema registry as of each version
// before 4 (Registry.AsOf) keeps logging contacts while a tablet on the
// current schema records consent, a risk assessment and a court order with
// its review hearing (schema 4) for the same client: it cannot write any of
// them, stores what it pulls without error, its reads do not break, it
// reads the client's consent_to_share and risk_flags the new tablet derived
// from them, nothing it sends is refused, and the new tablet sees its
// contact. Like the tests above, this runs today's SDK code with older
// registries, not an old app (e2e/oldsdk runs the real schema-1 SDK).
func TestCurrentSDKWithOlderRegistriesBesideSchema4(t *testing.T) {
	for _, version := range []uint32{1, 2, 3} {
		t.Run(fmt.Sprintf("schema%d", version), func(t *testing.T) {
			ctx := context.Background()
			client, old, current, sync := oldAndNew(t, version)
			writes := schema4Writes(ctx, client)
			for _, w := range writes {
				if err := w.write(current); err != nil {
					t.Fatalf("the new tablet's %s: %v", w.name, err)
				}
			}
			sync(current, "the new tablet")
			if _, err := old.LogContact(ctx, client, caseload.Contact{OccurredAt: time.Now().Add(-time.Hour).Truncate(time.Second), Category: "housing", Mode: "home_visit", HousingStatusAfter: "hostel"}); err != nil {
				t.Fatal(err)
			}
			if rep := sync(old, "the old tablet"); rep.Accepted == 0 || rep.Pulled == 0 {
				t.Fatalf("the old tablet's sync %+v: want its contact sent and the new records pulled", rep)
			}
			for _, w := range writes {
				if err := w.write(old); !errors.Is(err, caseload.ErrInvalid) {
					t.Errorf("a schema-%d tablet recording %s: %v, want caseload.ErrInvalid: its schema has none", version, w.name, err)
				}
			}
			if n := old.Status().Pending; n != 0 {
				t.Fatalf("the old tablet queued %d changes from the writes it refused", n)
			}

			// The old tablet reads the derived flags, and its reads work.
			cls, err := old.Clients(ctx)
			if err != nil || len(cls) != 1 {
				t.Fatalf("the old tablet's Clients %+v: %v", cls, err)
			}
			if c := cls[0]; !c.ConsentToShare || !c.ConsentRecorded || !slices.Equal(c.RiskFlags, []string{"self_harm"}) {
				t.Errorf("the old tablet reads consent_to_share %v (recorded %v), risk_flags %v: want true (recorded), [self_harm]", c.ConsentToShare, c.ConsentRecorded, c.RiskFlags)
			}
			tl, err := old.Timeline(ctx, client)
			if err != nil || len(tl.Contacts) != 1 || tl.Contacts[0].Pending {
				t.Fatalf("the old tablet's contacts %+v (%v): want its one contact, synced", tl.Contacts, err)
			}
			if _, err := old.Conflicts(ctx); err != nil {
				t.Fatalf("the old tablet's Conflicts: %v", err)
			}
			if version >= 2 {
				if _, err := old.Agenda(ctx, time.Now(), time.Now().Add(48*time.Hour)); err != nil {
					t.Fatalf("the old tablet's Agenda: %v", err)
				}
			}

			// The new tablet sees the old one's contact.
			sync(current, "the new tablet")
			tl, err = current.Timeline(ctx, client)
			if err != nil || len(tl.Contacts) != 1 || tl.Contacts[0].Author != old.UserID() {
				t.Fatalf("the new tablet's contacts %+v (%v): want the old tablet's", tl.Contacts, err)
			}
		})
	}
}

// schema4Write is one of schema version 4's writes, for a tablet d.
type schema4Write struct {
	name  string
	write func(d *caseload.Device) error
}

// schema4Writes are schema version 4's writes for the client: consent to
// share with probation (consent_to_share true), a risk assessment (raising
// self_harm, clearing lone_working), a DRR, and its review hearing (of the
// order these writes last recorded).
func schema4Writes(ctx context.Context, client string) []schema4Write {
	day := caseload.DateOf(time.Now().AddDate(0, 0, -10))
	var order string
	return []schema4Write{
		{"consent to share with probation", func(d *caseload.Device) error {
			_, err := d.RecordConsent(ctx, client, caseload.Consent{Scope: "probation", Given: day}, time.Now())
			return err
		}},
		{"a risk assessment", func(d *caseload.Device) error {
			_, err := d.RecordRiskAssessment(ctx, client, caseload.RiskAssessment{AssessedOn: day,
				Risks: map[string]caseload.Risk{"self_harm": {Level: "high"}, "lone_working": {Level: "low"}}})
			return err
		}},
		{"a court order", func(d *caseload.Device) error {
			id, err := d.RecordOrder(ctx, client, caseload.Order{Kind: "drr", Start: day, ReviewIntervalDays: 28})
			if err == nil {
				order = id
			}
			return err
		}},
		{"a review hearing", func(d *caseload.Device) error {
			_, err := d.BookReviewHearing(ctx, client, order, caseload.Appointment{StartsAt: time.Now().Add(24 * time.Hour).Truncate(time.Second)})
			return err
		}},
	}
}
