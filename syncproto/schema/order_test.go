package schema

import (
	"strings"
	"testing"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// A court_order's fields are checked against their ranges and values; a
// refusal names the field, never the value.
func TestCourtOrderFields(t *testing.T) {
	reg := Builtin()
	tests := []struct {
		field string
		v     *v1.Value
		ok    bool
	}{
		{"kind", strV("drr"), true},
		{"kind", strV("community_order_alcohol_requirement"), true},
		{"kind", strV("asbo"), false},
		{"start_date", dateV(2028, 2, 29), true},
		{"start_date", dateV(2027, 2, 29), false},
		{"end_date", strV("2027-01-01"), false},
		{"testing_frequency", strV("twice_weekly"), true},
		{"testing_frequency", strV("hourly"), false},
		{"review_interval_days", intV(0), false},
		{"review_interval_days", intV(1), true},
		{"review_interval_days", intV(MaxReviewIntervalDays), true},
		{"review_interval_days", intV(MaxReviewIntervalDays + 1), false},
		{"responsible_officer", strV(strings.Repeat("x", 201)), false},
		{"court", strV("Leeds Magistrates' Court"), true},
	}
	for _, tt := range tests {
		got := reg.CheckChange(CurrentVersion, change("court_order", tt.field, tt.v))
		if (got == nil) != tt.ok {
			t.Errorf("%s: CheckChange = %v, want ok=%v", tt.field, got, tt.ok)
			continue
		}
		if got == nil {
			continue
		}
		if got.Field != tt.field || !strings.Contains(got.Message, tt.field) {
			t.Errorf("%s: the refusal does not name the field: %+v", tt.field, got)
		}
		if s := valueText(tt.v); s != "" && strings.Contains(got.Message, s) {
			t.Errorf("%s: the refusal echoes the value: %q", tt.field, got.Message)
		}
	}
}

// court_order and appointment.order_id are schema version 4: a device on
// version 3 knows neither, and its appointments keep validating.
func TestCourtOrderVersion(t *testing.T) {
	rt, ok := Builtin().Type("court_order")
	if !ok || rt.Since != 4 || CurrentVersion < 4 {
		t.Fatalf("court_order: %v, current version %d", ok, CurrentVersion)
	}
	if got, want := sorted(rt.Required()), []string{"author", "kind", "start_date"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("required = %v, want %v", got, want)
	}
	reg := Builtin()
	ref := strV("6b2f7e1c-9d7a-4c6e-8f3b-2a1d0c9e8b7a")
	if iss := reg.CheckChange(3, change("court_order", "kind", strV("drr"))); iss == nil || iss.Problem != v1.Problem_PROBLEM_UNKNOWN_RECORD_TYPE {
		t.Errorf("a schema-3 device's order: %v", iss)
	}
	if iss := reg.CheckChange(3, change("appointment", "order_id", ref)); iss == nil || iss.Problem != v1.Problem_PROBLEM_UNKNOWN_FIELD {
		t.Errorf("a schema-3 device's order_id: %v", iss)
	}
	if iss := reg.CheckChange(4, change("appointment", "order_id", ref)); iss != nil {
		t.Errorf("order_id at version 4: %v", iss)
	}
	if iss := reg.CheckChange(3, change("appointment", "appointment_type", strV(ReviewHearingType))); iss != nil {
		t.Errorf("a schema-3 device's review hearing: %v", iss)
	}
}
