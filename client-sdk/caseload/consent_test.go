package caseload

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/throughcare/throughcare/syncproto/consent"
)

// Consent recorded, withdrawn and given again: the derived state follows,
// and so does the older consent_to_share flag old tablets read.
func TestConsentWithdrawalAndReconsent(t *testing.T) {
	ctx := context.Background()
	d, c := enrolledDevice(t)
	today := time.Date(2026, time.June, 1, 12, 0, 0, 0, time.UTC)
	check := func(step string, scope string, want consent.Status, share bool) {
		t.Helper()
		st, err := d.ConsentState(ctx, c, today)
		must(t, err)
		if got := st.Of(scope).Status; got != want {
			t.Errorf("%s: %s is %v, want %v", step, scope, got, want)
		}
		cl, err := d.Client(ctx, c)
		must(t, err)
		if cl.ConsentToShare != share || !cl.ConsentRecorded {
			t.Errorf("%s: consent_to_share = %v (recorded %v), want %v", step, cl.ConsentToShare, cl.ConsentRecorded, share)
		}
	}
	nm, err := d.RecordConsent(ctx, c, Consent{Scope: "national_monitoring", Given: Date{2026, time.January, 5}}, today)
	must(t, err)
	check("national monitoring only", "national_monitoring", consent.Current, false)
	gp, err := d.RecordConsent(ctx, c, Consent{Scope: "gp", Given: Date{2026, time.January, 5}, Notes: "Signed form."}, today)
	must(t, err)
	check("gp given", "gp", consent.Current, true)
	must(t, d.WithdrawConsent(ctx, c, gp, Date{2026, time.March, 1}, today))
	check("gp withdrawn", "gp", consent.Withdrawn, false)
	_, err = d.RecordConsent(ctx, c, Consent{Scope: "gp", Given: Date{2026, time.April, 1}}, today)
	must(t, err)
	check("gp given again", "gp", consent.Current, true)
	must(t, d.WithdrawConsent(ctx, c, nm, Date{2026, time.May, 1}, today))
	check("national monitoring withdrawn", "national_monitoring", consent.Withdrawn, true)

	cs, err := d.Consents(ctx, c)
	must(t, err)
	if len(cs) != 3 || cs[0].Scope != "national_monitoring" || cs[1].ID != gp || cs[1].Withdrawn != (Date{2026, time.March, 1}) ||
		cs[1].Author != d.UserID() || cs[1].WithdrawnBy != d.UserID() || cs[1].Notes != "Signed form." || !cs[1].Pending {
		t.Fatalf("Consents = %+v", cs)
	}
}

// A consent dated in the future is not current yet, and consent_to_share
// is written as of today.
func TestConsentInTheFuture(t *testing.T) {
	ctx := context.Background()
	d, c := enrolledDevice(t)
	today := time.Date(2026, time.June, 1, 0, 0, 0, 0, time.UTC)
	_, err := d.RecordConsent(ctx, c, Consent{Scope: "probation", Given: Date{2026, time.June, 2}}, today)
	must(t, err)
	st, err := d.ConsentState(ctx, c, today)
	must(t, err)
	if st.Of("probation").Status != consent.NotRecorded {
		t.Errorf("today: %v", st.Of("probation").Status)
	}
	st, err = d.ConsentState(ctx, c, today.AddDate(0, 0, 1))
	must(t, err)
	if !st.Current("probation") {
		t.Errorf("tomorrow: %v", st.Of("probation").Status)
	}
	cl, err := d.Client(ctx, c)
	must(t, err)
	if cl.ConsentToShare {
		t.Error("consent_to_share is true for a consent not yet given")
	}
}

// Bad consents are refused before anything is queued, naming the field.
func TestConsentRefusals(t *testing.T) {
	ctx := context.Background()
	d, c := enrolledDevice(t)
	today := time.Date(2026, time.June, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name  string
		c     Consent
		field string
	}{
		{"no date", Consent{Scope: "gp"}, "given_on"},
		{"unknown scope", Consent{Scope: "dentist_secret", Given: Date{2026, 1, 1}}, "consent.scope"},
		{"withdrawn before given", Consent{Scope: "gp", Given: Date{2026, 2, 1}, Withdrawn: Date{2026, 1, 1}}, "withdrawn_on"},
		{"impossible date", Consent{Scope: "gp", Given: Date{2027, 2, 29}}, "consent.given_on"},
	} {
		_, err := d.RecordConsent(ctx, c, tt.c, today)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.field) || strings.Contains(err.Error(), "dentist_secret") {
			t.Errorf("%s: %v, want ErrInvalid naming %s", tt.name, err, tt.field)
		}
	}
	if err := d.WithdrawConsent(ctx, c, newID(), Date{2026, 1, 1}, today); !errors.Is(err, ErrNotFound) {
		t.Errorf("withdrawing an unknown consent: %v", err)
	}
	if d.Status().Pending != 0 {
		t.Fatalf("refused consents queued %d changes", d.Status().Pending)
	}
}
