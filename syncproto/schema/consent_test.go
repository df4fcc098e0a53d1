package schema

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// rangeCase is one value tried on one field of a record type.
type rangeCase struct {
	field string
	v     *v1.Value
	ok    bool
}

// checkRanges runs cases against a record type of the built-in schema: a
// valid value passes, an invalid one is refused naming the field and never
// echoing the value.
func checkRanges(t *testing.T, recordType string, cases []rangeCase) {
	t.Helper()
	reg := Builtin()
	for _, c := range cases {
		name := fmt.Sprintf("%s.%s=%v", recordType, c.field, c.v)
		got := reg.CheckChange(CurrentVersion, change(recordType, c.field, c.v))
		if (got == nil) != c.ok {
			t.Errorf("%s: CheckChange = %v, want ok=%v", name, got, c.ok)
			continue
		}
		if got == nil {
			continue
		}
		if got.Field != c.field || !strings.Contains(got.Message, c.field) {
			t.Errorf("%s: the refusal does not name the field: %+v", name, got)
		}
		if s := valueText(c.v); len(s) > 3 && strings.Contains(got.Message, s) {
			t.Errorf("%s: the refusal echoes the value: %q", name, got.Message)
		}
	}
}

// enumCases accepts every value and refuses a near miss and a wrong type.
func enumCases(field string, values []string) []rangeCase {
	var out []rangeCase
	for _, v := range values {
		out = append(out, rangeCase{field, strV(v), true})
	}
	return append(out, rangeCase{field, strV("not_a_" + field), false}, rangeCase{field, intV(1), false})
}

// dateCases accepts real dates (a leap day) and refuses an impossible one.
func dateCases(field string) []rangeCase {
	return []rangeCase{
		{field, dateV(2028, 2, 29), true}, {field, dateV(1900, 1, 1), true},
		{field, dateV(2027, 2, 29), false}, {field, dateV(2026, 13, 1), false}, {field, strV("2026-01-01"), false},
	}
}

// stringCases accepts max characters and refuses one more.
func stringCases(field string, max int) []rangeCase {
	return []rangeCase{
		{field, strV(strings.Repeat("é", max)), true}, {field, strV(strings.Repeat("é", max+1)), false},
		{field, strV("a\x00b"), false}, {field, boolV(true), false},
	}
}

// Every consent field's range is enforced.
func TestConsentRanges(t *testing.T) {
	var cases []rangeCase
	cases = append(cases, enumCases("scope", ConsentScopes)...)
	cases = append(cases, dateCases("given_on")...)
	cases = append(cases, dateCases("withdrawn_on")...)
	cases = append(cases, stringCases("author", 100)...)
	cases = append(cases, stringCases("withdrawn_by", 100)...)
	cases = append(cases, rangeCase{"notes", strV("line one\nline two"), true}, rangeCase{"notes", strV(strings.Repeat("x", 10_001)), false},
		rangeCase{"consent_to_share", boolV(true), false})
	checkRanges(t, "consent", cases)
}

// The consent record: from schema 4, its required fields, its scopes
// (national monitoring and each named partner).
func TestConsentRecordType(t *testing.T) {
	rt := mustType(t, Builtin(), "consent")
	if rt.Since != 4 || rt.Authorship != AuthorFixed {
		t.Fatalf("consent since %d, authorship %d", rt.Since, rt.Authorship)
	}
	if got, want := sorted(rt.Required()), []string{"author", "given_on", "scope"}; !slices.Equal(got, want) {
		t.Errorf("required = %v, want %v", got, want)
	}
	want := []string{"national_monitoring", "probation", "police", "prison_healthcare", "gp", "housing_provider", "job_centre"}
	if !slices.Equal(ConsentScopes, want) {
		t.Errorf("scopes = %v, want %v", ConsentScopes, want)
	}
	for _, f := range rt.Fields {
		if f.Since != 4 {
			t.Errorf("consent.%s since %d", f.Name, f.Since)
		}
	}
	if iss := Builtin().CheckChange(3, change("consent", "scope", strV("gp"))); iss == nil || iss.Problem != v1.Problem_PROBLEM_UNKNOWN_RECORD_TYPE {
		t.Errorf("a schema-3 device's consent: %v", iss)
	}
	if _, ok := mustType(t, Builtin(), "client").Field("consent_to_share"); !ok {
		t.Error("client.consent_to_share is gone; old tablets still write it")
	}
}
