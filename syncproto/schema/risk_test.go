package schema

import (
	"slices"
	"testing"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// Every risk_assessment field's range is enforced, for every domain.
func TestRiskAssessmentRanges(t *testing.T) {
	var cases []rangeCase
	for _, d := range RiskDomains {
		cases = append(cases, enumCases(d.LevelField(), RiskLevels)...)
		cases = append(cases, stringCases(d.Name+"_at_risk", 500)...)
		cases = append(cases, rangeCase{d.Name + "_protective_factors", strV("family\nwork"), true}, rangeCase{d.Name + "_protective_factors", intV(2), false})
		cases = append(cases, dateCases(d.Name+"_review_date")...)
	}
	cases = append(cases, dateCases("assessed_on")...)
	cases = append(cases, dateCases("release_date")...)
	cases = append(cases, dateCases("naloxone_supplied_on")...)
	cases = append(cases, enumCases("release_overdose_level", RiskLevels)...)
	cases = append(cases, enumCases("naloxone_product", NaloxoneProducts)...)
	cases = append(cases, stringCases("author", 100)...)
	cases = append(cases,
		rangeCase{"naloxone_quantity", intV(0), false}, rangeCase{"naloxone_quantity", intV(1), true},
		rangeCase{"naloxone_quantity", intV(MaxNaloxoneQuantity), true}, rangeCase{"naloxone_quantity", intV(MaxNaloxoneQuantity + 1), false},
		rangeCase{"naloxone_quantity", intV(-1), false}, rangeCase{"naloxone_quantity", strV("2"), false},
		rangeCase{"overdose_level", strV("very_high"), false}, rangeCase{"risk_flags", strV("overdose"), false})
	checkRanges(t, "risk_assessment", cases)
}

// The record type: from schema 4, the seven domains each with a level, who
// is at risk, protective factors and a review date.
func TestRiskAssessmentRecordType(t *testing.T) {
	rt := mustType(t, Builtin(), "risk_assessment")
	if rt.Since != 4 || rt.Authorship != AuthorOwns {
		t.Fatalf("risk_assessment since %d, authorship %d", rt.Since, rt.Authorship)
	}
	if got, want := sorted(rt.Required()), []string{"assessed_on", "author"}; !slices.Equal(got, want) {
		t.Errorf("required = %v, want %v", got, want)
	}
	var names []string
	for _, d := range RiskDomains {
		names = append(names, d.Name)
		for _, suffix := range []string{"_level", "_at_risk", "_protective_factors", "_review_date"} {
			if f, ok := rt.Field(d.Name + suffix); !ok || f.Since != 4 || f.Required {
				t.Errorf("%s%s: %+v, %v", d.Name, suffix, f, ok)
			}
		}
		if d.Flag != "" && !slices.Contains(RiskFlags, d.Flag) {
			t.Errorf("%s maps to %q, not a risk flag", d.Name, d.Flag)
		}
	}
	want := []string{"overdose", "self_harm", "harm_to_others", "harm_from_others", "safeguarding_children", "safeguarding_adults", "lone_working"}
	if !slices.Equal(names, want) {
		t.Errorf("domains = %v, want %v", names, want)
	}
	if iss := Builtin().CheckChange(3, change("risk_assessment", "overdose_level", strV("high"))); iss == nil || iss.Problem != v1.Problem_PROBLEM_UNKNOWN_RECORD_TYPE {
		t.Errorf("a schema-3 device's risk assessment: %v", iss)
	}
}

// The mapping to the old risk_flags set.
func TestRiskFlagChanges(t *testing.T) {
	tests := []struct {
		name          string
		levels        map[string]string
		raise, clears []string
	}{
		{"nothing assessed", nil, nil, nil},
		{"medium and high raise, low clears", map[string]string{"self_harm_level": "medium", "harm_to_others_level": "high", "lone_working_level": "low"},
			[]string{"self_harm", "violence"}, []string{"lone_working"}},
		{"harm from others has no flag", map[string]string{"harm_from_others_level": "high"}, nil, nil},
		{"overdose on release counts", map[string]string{"overdose_level": "low", "release_overdose_level": "high"}, []string{"overdose"}, nil},
		{"overdose low on both clears", map[string]string{"overdose_level": "low", "release_overdose_level": "low"}, nil, []string{"overdose"}},
		{"release only, low", map[string]string{"release_overdose_level": "low"}, nil, []string{"overdose"}},
		{"every domain high", map[string]string{"overdose_level": "high", "self_harm_level": "high", "harm_to_others_level": "high", "harm_from_others_level": "high",
			"safeguarding_children_level": "high", "safeguarding_adults_level": "high", "lone_working_level": "high"},
			[]string{"overdose", "self_harm", "violence", "safeguarding_children", "safeguarding_adult", "lone_working"}, nil},
		{"an unknown level is not assessed", map[string]string{"self_harm_level": "severe"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raise, clears := RiskFlagChanges(tt.levels)
			if !slices.Equal(raise, tt.raise) || !slices.Equal(clears, tt.clears) {
				t.Fatalf("got raise %v clear %v, want raise %v clear %v", raise, clears, tt.raise, tt.clears)
			}
		})
	}
}
