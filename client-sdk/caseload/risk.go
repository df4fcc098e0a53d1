package caseload

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// RiskAssessment is a risk assessment: each assessed risk (by the names of
// schema.RiskDomains), and overdose risk on release from prison with the
// naloxone supplied.
type RiskAssessment struct {
	ID, ClientID string
	AssessedOn   Date
	// Risks holds the risks assessed, by domain name.
	Risks map[string]Risk
	// ReleaseDate and ReleaseOverdoseLevel: overdose risk on release
	// from prison.
	ReleaseDate          Date
	ReleaseOverdoseLevel string
	// Naloxone supplied (all three, or none).
	NaloxoneSuppliedOn Date
	NaloxoneProduct    string
	NaloxoneQuantity   int
	Notes              string

	// Set when read.
	Author           string
	Deleted, Pending bool
}

// Risk is one assessed risk.
type Risk struct {
	// Level is one of schema.RiskLevels.
	Level             string
	AtRisk            string
	ProtectiveFactors string
	ReviewDate        Date
}

// RecordRiskAssessment records a risk assessment and returns its id; the
// author is the signed-in user. In the same user action it updates the
// client's older risk_flags set as schema.RiskFlagChanges maps the
// assessment's levels (a risk at medium or high raises its flag, at low
// clears it, not assessed leaves it), for tablets that know only the
// flags. Every value is checked before anything is queued; errors name
// the field, never the value.
func (d *Device) RecordRiskAssessment(ctx context.Context, clientID string, a RiskAssessment) (string, error) {
	if err := d.onCaseload(ctx, clientID); err != nil {
		return "", err
	}
	if a.AssessedOn.IsZero() {
		return "", fmt.Errorf("caseload: %w: risk_assessment.assessed_on: an assessment needs its day", ErrInvalid)
	}
	if n := a.NaloxoneSuppliedOn.IsZero(); n != (a.NaloxoneProduct == "") || n != (a.NaloxoneQuantity == 0) {
		return "", fmt.Errorf("caseload: %w: risk_assessment.naloxone_supplied_on, naloxone_product and naloxone_quantity go together", ErrInvalid)
	}
	edits, levels, err := riskEdits(d.UserID(), a)
	if err != nil {
		return "", err
	}
	id := newID()
	recs := []recordEdits{{"risk_assessment", clientID, id, edits}}
	if flags, err := d.riskFlagEdits(ctx, clientID, levels); err != nil {
		return "", err
	} else if len(flags) > 0 {
		recs = append(recs, recordEdits{"client", clientID, clientID, flags})
	}
	return id, d.writeAction(ctx, recs...)
}

// riskEdits are an assessment's writes, and its levels by level field.
func riskEdits(author string, a RiskAssessment) ([]Edit, map[string]string, error) {
	edits := []Edit{{"assessed_on", DateValue(a.AssessedOn)}, {"author", String(author)}}
	levels := map[string]string{}
	optional := func(field, v string) {
		if v != "" {
			edits = append(edits, Edit{field, String(v)})
		}
	}
	optionalDate := func(field string, v Date) {
		if !v.IsZero() {
			edits = append(edits, Edit{field, DateValue(v)})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(a.Risks)) {
		if !slices.ContainsFunc(schema.RiskDomains, func(d schema.RiskDomain) bool { return d.Name == name }) {
			return nil, nil, fmt.Errorf("caseload: %w: %q is not a risk domain", ErrInvalid, clipName(name))
		}
		r := a.Risks[name]
		optional(name+"_level", r.Level)
		optional(name+"_at_risk", r.AtRisk)
		optional(name+"_protective_factors", r.ProtectiveFactors)
		optionalDate(name+"_review_date", r.ReviewDate)
		levels[name+"_level"] = r.Level
	}
	optionalDate("release_date", a.ReleaseDate)
	optional("release_overdose_level", a.ReleaseOverdoseLevel)
	levels["release_overdose_level"] = a.ReleaseOverdoseLevel
	optionalDate("naloxone_supplied_on", a.NaloxoneSuppliedOn)
	optional("naloxone_product", a.NaloxoneProduct)
	if a.NaloxoneQuantity != 0 {
		edits = append(edits, Edit{"naloxone_quantity", Int(int64(a.NaloxoneQuantity))})
	}
	optional("notes", a.Notes)
	return edits, levels, nil
}

// riskFlagEdits are the client's risk_flags edits an assessment's levels
// make: the flags to raise that are not set, and the flags to clear that
// are (removing the additions this device sees, as RemoveRiskFlag does).
func (d *Device) riskFlagEdits(ctx context.Context, clientID string, levels map[string]string) ([]Edit, error) {
	st, _, err := d.record(ctx, clientID, clientID)
	if err != nil {
		return nil, err
	}
	adds := map[string][]*v1.Stamp{}
	for _, e := range fieldValue(st, "risk_flags").GetSetState().GetElements() {
		if len(e.GetAdds()) > 0 {
			adds[e.GetElement()] = e.GetAdds()
		}
	}
	raise, clear := schema.RiskFlagChanges(levels)
	var edits []Edit
	for _, f := range raise {
		if adds[f] == nil {
			edits = append(edits, Edit{"risk_flags", AddTo(f)})
		}
	}
	for _, f := range clear {
		if adds[f] != nil {
			edits = append(edits, Edit{"risk_flags", removeFrom(f, adds[f])})
		}
	}
	return edits, nil
}

// RiskAssessments returns a client's risk assessments, deleted ones too,
// oldest first.
func (d *Device) RiskAssessments(ctx context.Context, clientID string) ([]RiskAssessment, error) {
	tl, err := d.Timeline(ctx, clientID)
	if err != nil {
		return nil, err
	}
	return tl.RiskAssessments, nil
}

// LatestRisk returns the client's latest live risk assessment (by the day
// assessed); ok is false if there is none.
func (d *Device) LatestRisk(ctx context.Context, clientID string) (RiskAssessment, bool, error) {
	as, err := d.RiskAssessments(ctx, clientID)
	if err != nil {
		return RiskAssessment{}, false, err
	}
	for i := len(as) - 1; i >= 0; i-- {
		if !as[i].Deleted {
			return as[i], true, nil
		}
	}
	return RiskAssessment{}, false, nil
}

func toRiskAssessment(clientID string, r *localRecord) RiskAssessment {
	st := r.state
	a := RiskAssessment{ID: st.GetRecordId(), ClientID: clientID, AssessedOn: date(st, "assessed_on"), Risks: map[string]Risk{},
		ReleaseDate: date(st, "release_date"), ReleaseOverdoseLevel: str(st, "release_overdose_level"),
		NaloxoneSuppliedOn: date(st, "naloxone_supplied_on"), NaloxoneProduct: str(st, "naloxone_product"),
		NaloxoneQuantity: int(fieldValue(st, "naloxone_quantity").GetIntegerValue()), Notes: str(st, "notes"),
		Author: str(st, "author"), Deleted: merge.IsDeleted(st), Pending: r.pending}
	for _, dm := range schema.RiskDomains {
		rk := Risk{Level: str(st, dm.LevelField()), AtRisk: str(st, dm.Name+"_at_risk"),
			ProtectiveFactors: str(st, dm.Name+"_protective_factors"), ReviewDate: date(st, dm.Name+"_review_date")}
		if rk != (Risk{}) {
			a.Risks[dm.Name] = rk
		}
	}
	return a
}

func sortRiskAssessments(as []RiskAssessment) {
	slices.SortFunc(as, func(a, b RiskAssessment) int {
		return cmp.Or(a.AssessedOn.Compare(b.AssessedOn), strings.Compare(a.ID, b.ID))
	})
}
