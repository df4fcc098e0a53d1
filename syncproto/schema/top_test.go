package schema

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

func decV(s string) *v1.Value { return &v1.Value{Kind: &v1.Value_DecimalValue{DecimalValue: s}} }

// topCase is one value tried on one outcome_review field.
type topCase struct {
	field string
	v     *v1.Value
	ok    bool
}

// topRangeCases gives, for every field generated from every TOP item, the
// values at and just past each end of its range.
func topRangeCases(t *testing.T) []topCase {
	var cases []topCase
	ints := func(field string, lo, hi int64) {
		cases = append(cases,
			topCase{field, intV(lo - 1), false}, topCase{field, intV(lo), true},
			topCase{field, intV(hi), true}, topCase{field, intV(hi + 1), false},
			topCase{field, boolV(true), false})
	}
	for _, it := range TOPItems {
		switch it.Kind {
		case TOPWeeklyDays:
			for w := 1; w <= 4; w++ {
				ints(it.WeekField(w), 0, 7)
			}
			if len(it.Units) > 0 {
				a := it.Name + "_amount"
				cases = append(cases,
					topCase{a, decV("0"), true}, topCase{a, decV("2.5"), true}, topCase{a, decV("10000"), true},
					topCase{a, decV("-0.5"), false}, topCase{a, decV("-1"), false},
					topCase{a, decV("10000.01"), false}, topCase{a, decV("10001"), false}, topCase{a, intV(3), false})
				for _, u := range it.Units {
					cases = append(cases, topCase{it.Name + "_unit", strV(u), true})
				}
				cases = append(cases, topCase{it.Name + "_unit", strV("bags"), false})
			} else if _, ok := builtinType(t).Field(it.Name + "_amount"); ok {
				t.Errorf("%s records days only but has an amount", it.Name)
			}
		case TOPDays:
			ints(it.Name+"_days", 0, 28)
		case TOPRating:
			ints(it.Name, 0, 20)
		case TOPYesNo:
			cases = append(cases, topCase{it.Name, boolV(true), true}, topCase{it.Name, boolV(false), true},
				topCase{it.Name, strV("yes"), false}, topCase{it.Name, intV(1), false})
		default:
			t.Fatalf("%s has kind %d", it.Name, it.Kind)
		}
		cases = append(cases, topCase{"not_answered", &v1.Value{Kind: &v1.Value_SetAdd{SetAdd: &v1.SetAdd{Element: it.Name}}}, true})
	}
	return append(cases,
		topCase{"not_answered", &v1.Value{Kind: &v1.Value_SetAdd{SetAdd: &v1.SetAdd{Element: "alcohol_week1"}}}, false},
		topCase{"stage", strV("review"), true}, topCase{"stage", strV("middle"), false},
		topCase{"interview_date", dateV(2028, 2, 29), true}, topCase{"interview_date", dateV(2027, 2, 29), false},
	)
}

func builtinType(t *testing.T) *RecordType {
	rt, ok := Builtin().Type("outcome_review")
	if !ok {
		t.Fatal("no outcome_review record type")
	}
	return rt
}

// Every TOP item's range is enforced, at both ends, and a refusal names
// the field but never echoes the value.
func TestOutcomeReviewRanges(t *testing.T) {
	reg := Builtin()
	for _, c := range topRangeCases(t) {
		name := fmt.Sprintf("%s=%v", c.field, c.v)
		ch := change("outcome_review", c.field, c.v)
		got := reg.CheckChange(CurrentVersion, ch)
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
		if s := valueText(c.v); s != "" && strings.Contains(got.Message, s) {
			t.Errorf("%s: the refusal echoes the value: %q", name, got.Message)
		}
	}
}

// valueText is how a value would appear if a message echoed it ("" for
// values too short to tell).
func valueText(v *v1.Value) string {
	switch k := v.GetKind().(type) {
	case *v1.Value_DecimalValue:
		return k.DecimalValue
	case *v1.Value_StringValue:
		return k.StringValue
	}
	return ""
}

// The record type is generated from TOPItems: each item's fields in order,
// none required but the header, all from schema version 3, and unknown to
// a device on an earlier schema.
func TestOutcomeReviewFromItems(t *testing.T) {
	rt := builtinType(t)
	if rt.Since != 3 || CurrentVersion < 3 {
		t.Fatalf("outcome_review since %d, current %d", rt.Since, CurrentVersion)
	}
	if got, want := rt.Required(), []string{"author", "interview_date", "stage"}; !slices.Equal(sorted(got), want) {
		t.Errorf("required = %v, want %v", got, want)
	}
	var want []string
	for _, it := range TOPItems {
		if it.Better != TOPLowerBetter && it.Better != TOPHigherBetter {
			t.Errorf("%s does not say which way is better", it.Name)
		}
		if !slices.Contains(TOPSections, it.Section) {
			t.Errorf("%s is in section %q", it.Name, it.Section)
		}
		for _, f := range it.Fields() {
			want = append(want, f.Name)
		}
	}
	var got []string
	for _, f := range rt.Fields {
		if f.Since != 3 {
			t.Errorf("%s since %d", f.Name, f.Since)
		}
		if strings.Contains(f.Name, "_week") || strings.HasSuffix(f.Name, "_days") || strings.HasSuffix(f.Name, "_amount") || strings.HasSuffix(f.Name, "_unit") ||
			slices.Contains(TOPItemNames(), f.Name) {
			got = append(got, f.Name)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("item fields = %v\nwant %v", got, want)
	}
	nf, _ := rt.Field("not_answered")
	if !slices.Equal(nf.Values, TOPItemNames()) {
		t.Errorf("not_answered values = %v", nf.Values)
	}
	if iss := Builtin().CheckChange(2, change("outcome_review", "stage", strV("start"))); iss == nil || iss.Problem != v1.Problem_PROBLEM_UNKNOWN_RECORD_TYPE {
		t.Errorf("a schema-2 device's TOP: %v", iss)
	}
}

func TestDecimalWithin(t *testing.T) {
	for _, c := range []struct {
		s        string
		min, max int64
		want     bool
	}{
		{"0", 0, 10, true}, {"10", 0, 10, true}, {"10.0000", 0, 10, true}, {"10.0001", 0, 10, false},
		{"9.9999", 0, 10, true}, {"-0.0001", 0, 10, false}, {"-0", 0, 10, true}, {"-0.5", -1, 0, true},
		{"-1", -1, 0, true}, {"-1.5", -1, 0, false}, {"-1.5", -2, 0, true}, {"-0.5", -2, -1, false},
		{"-3", -5, -3, true}, {"-2.5", -5, -3, false}, {"999999999999999", 0, 10, false},
	} {
		if got := decimalWithin(c.s, c.min, c.max); got != c.want {
			t.Errorf("decimalWithin(%s, %d, %d) = %v, want %v", c.s, c.min, c.max, got, c.want)
		}
	}
}
