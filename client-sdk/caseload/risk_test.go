package caseload

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// An assessment reads back whole, and the latest live one is LatestRisk.
func TestRecordRiskAssessment(t *testing.T) {
	ctx := context.Background()
	d, c := enrolledDevice(t)
	if _, ok, err := d.LatestRisk(ctx, c); err != nil || ok {
		t.Fatalf("LatestRisk before any: %v %v", ok, err)
	}
	in := RiskAssessment{
		AssessedOn: Date{2026, time.March, 2},
		Risks: map[string]Risk{
			"overdose":         {Level: "high", AtRisk: "The client", ProtectiveFactors: "Partner carries naloxone", ReviewDate: Date{2026, time.April, 2}},
			"harm_from_others": {Level: "medium", AtRisk: "The client (dealers)"},
		},
		ReleaseDate: Date{2026, time.March, 1}, ReleaseOverdoseLevel: "high",
		NaloxoneSuppliedOn: Date{2026, time.March, 1}, NaloxoneProduct: "nyxoid_nasal_spray", NaloxoneQuantity: 2,
		Notes: "Released Friday.",
	}
	id, err := d.RecordRiskAssessment(ctx, c, in)
	must(t, err)
	older, err := d.RecordRiskAssessment(ctx, c, RiskAssessment{AssessedOn: Date{2026, time.January, 1}, Risks: map[string]Risk{"self_harm": {Level: "low"}}})
	must(t, err)
	got, ok, err := d.LatestRisk(ctx, c)
	must(t, err)
	if !ok || got.ID != id || got.Author != d.UserID() || !got.Pending {
		t.Fatalf("LatestRisk = %+v, %v; want %s", got, ok, id)
	}
	got.ID, got.ClientID, got.Author, got.Pending = "", "", "", false
	if got.Notes != in.Notes || got.NaloxoneQuantity != 2 || got.NaloxoneProduct != in.NaloxoneProduct || got.ReleaseDate != in.ReleaseDate ||
		got.ReleaseOverdoseLevel != "high" || got.NaloxoneSuppliedOn != in.NaloxoneSuppliedOn || len(got.Risks) != 2 ||
		got.Risks["overdose"] != in.Risks["overdose"] || got.Risks["harm_from_others"] != in.Risks["harm_from_others"] {
		t.Fatalf("read back %+v\nwant %+v", got, in)
	}
	all, err := d.RiskAssessments(ctx, c)
	must(t, err)
	if len(all) != 2 || all[0].ID != older {
		t.Fatalf("RiskAssessments = %+v", all)
	}
}

// risk_flags follow the assessment for old tablets: medium or high raises
// a flag, low clears it, not assessed leaves it; flags no risk owns stay.
func TestRiskAssessmentWritesRiskFlags(t *testing.T) {
	ctx := context.Background()
	d, c := enrolledDevice(t)
	must(t, d.AddRiskFlag(ctx, c, "blood_borne_virus"))
	must(t, d.AddRiskFlag(ctx, c, "lone_working"))
	must(t, d.AddRiskFlag(ctx, c, "self_harm"))
	flags := func() []string {
		cl, err := d.Client(ctx, c)
		must(t, err)
		return slices.Sorted(slices.Values(cl.RiskFlags))
	}
	_, err := d.RecordRiskAssessment(ctx, c, RiskAssessment{AssessedOn: Date{2026, 3, 1}, Risks: map[string]Risk{
		"harm_to_others": {Level: "high"}, "lone_working": {Level: "low"}, "harm_from_others": {Level: "high"},
	}, ReleaseOverdoseLevel: "medium"})
	must(t, err)
	if got, want := flags(), []string{"blood_borne_virus", "overdose", "self_harm", "violence"}; !slices.Equal(got, want) {
		t.Fatalf("risk_flags = %v, want %v", got, want)
	}
	_, err = d.RecordRiskAssessment(ctx, c, RiskAssessment{AssessedOn: Date{2026, 4, 1}, Risks: map[string]Risk{
		"overdose": {Level: "low"}, "harm_to_others": {Level: "medium"},
	}})
	must(t, err)
	if got, want := flags(), []string{"blood_borne_virus", "self_harm", "violence"}; !slices.Equal(got, want) {
		t.Fatalf("risk_flags = %v, want %v", got, want)
	}
}

// Bad assessments are refused whole before anything is queued, naming
// the field and never the value.
func TestRiskAssessmentRefusals(t *testing.T) {
	ctx := context.Background()
	d, c := enrolledDevice(t)
	day := Date{2026, 3, 1}
	for _, tt := range []struct {
		name  string
		a     RiskAssessment
		field string
	}{
		{"no day", RiskAssessment{}, "assessed_on"},
		{"bad level", RiskAssessment{AssessedOn: day, Risks: map[string]Risk{"self_harm": {Level: "severe_secret"}}}, "self_harm_level"},
		{"unknown domain", RiskAssessment{AssessedOn: day, Risks: map[string]Risk{"dogs": {Level: "high"}}}, "risk domain"},
		{"too much naloxone", RiskAssessment{AssessedOn: day, NaloxoneSuppliedOn: day, NaloxoneProduct: "other", NaloxoneQuantity: 21}, "naloxone_quantity"},
		{"naloxone without a product", RiskAssessment{AssessedOn: day, NaloxoneSuppliedOn: day, NaloxoneQuantity: 1}, "naloxone_product"},
		{"unknown product", RiskAssessment{AssessedOn: day, NaloxoneSuppliedOn: day, NaloxoneProduct: "secret_spray", NaloxoneQuantity: 1}, "naloxone_product"},
		{"who is at risk too long", RiskAssessment{AssessedOn: day, Risks: map[string]Risk{"lone_working": {AtRisk: strings.Repeat("x", 501)}}}, "lone_working_at_risk"},
		{"bad review date", RiskAssessment{AssessedOn: day, Risks: map[string]Risk{"overdose": {Level: "high", ReviewDate: Date{2026, 2, 30}}}}, "overdose_review_date"},
	} {
		_, err := d.RecordRiskAssessment(ctx, c, tt.a)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.field) || strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: %v, want ErrInvalid naming %s", tt.name, err, tt.field)
		}
	}
	if d.Status().Pending != 0 {
		t.Fatalf("refused assessments queued %d changes", d.Status().Pending)
	}
}
