package schema

import (
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/hlc"
)

const (
	clientID = "0193b5a0-0000-7000-8000-000000000001"
	recordID = "0193b5a0-0000-7000-8000-000000000002"
)

func strV(s string) *v1.Value { return &v1.Value{Kind: &v1.Value_StringValue{StringValue: s}} }
func intV(n int64) *v1.Value  { return &v1.Value{Kind: &v1.Value_IntegerValue{IntegerValue: n}} }
func boolV(b bool) *v1.Value  { return &v1.Value{Kind: &v1.Value_BoolValue{BoolValue: b}} }
func dateV(y, m, d int32) *v1.Value {
	return &v1.Value{Kind: &v1.Value_DateValue{DateValue: &v1.Date{Year: y, Month: m, Day: d}}}
}

func change(rt, field string, v *v1.Value) *v1.Change {
	rid := recordID
	if rt == "client" {
		rid = clientID
	}
	return &v1.Change{
		DeviceSeq: 1, RecordId: rid, RecordType: rt, ClientId: clientID, Field: field, Value: v,
		Stamp: &v1.Stamp{Time: hlc.Pack(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC).UnixMilli(), 0), Replica: "dev-1"},
	}
}

func TestCheckChange(t *testing.T) {
	reg := Builtin()
	tests := []struct {
		name string
		ch   *v1.Change
		want v1.Problem
	}{
		{"valid_enum", change("contact", "category", strV("treatment_attendance")), 0},
		{"valid_timestamp", change("contact", "occurred_at", &v1.Value{Kind: &v1.Value_TimestampValue{TimestampValue: timestamppb.New(time.Now())}}), 0},
		{"valid_integer", change("contact", "duration_minutes", intV(45)), 0},
		{"valid_date", change("client", "date_of_birth", dateV(1980, 2, 29)), 0},
		{"valid_bool", change("client", "consent_to_share", boolV(true)), 0},
		{"valid_set_add", change("client", "risk_flags", &v1.Value{Kind: &v1.Value_SetAdd{SetAdd: &v1.SetAdd{Element: "overdose"}}}), 0},
		{"valid_tombstone", change("goal", "deleted", &v1.Value{Kind: &v1.Value_Tombstone{Tombstone: &v1.Tombstone{Reason: "entered_in_error"}}}), 0},
		{"valid_multiline_notes", change("contact", "notes", strV("Met at the hostel.\nAgreed to attend.")), 0},
		{"unknown_record_type", change("visit", "notes", strV("x")), v1.Problem_PROBLEM_UNKNOWN_RECORD_TYPE},
		{"unknown_field", change("contact", "shoe_size", intV(9)), v1.Problem_PROBLEM_UNKNOWN_FIELD},
		{"wrong_type_string_for_int", change("contact", "duration_minutes", strV("45")), v1.Problem_PROBLEM_WRONG_TYPE},
		{"wrong_type_missing_value", change("contact", "notes", nil), v1.Problem_PROBLEM_WRONG_TYPE},
		{"wrong_type_set_state_from_device", change("client", "risk_flags", &v1.Value{Kind: &v1.Value_SetState{SetState: &v1.SetState{}}}), v1.Problem_PROBLEM_WRONG_TYPE},
		{"wrong_type_tombstone_elsewhere", change("contact", "notes", &v1.Value{Kind: &v1.Value_Tombstone{Tombstone: &v1.Tombstone{}}}), v1.Problem_PROBLEM_WRONG_TYPE},
		{"enum_not_allowed", change("contact", "category", strV("lunch")), v1.Problem_PROBLEM_INVALID_VALUE},
		{"integer_out_of_range", change("contact", "duration_minutes", intV(-1)), v1.Problem_PROBLEM_INVALID_VALUE},
		{"impossible_date", change("client", "date_of_birth", dateV(1981, 2, 29)), v1.Problem_PROBLEM_INVALID_VALUE},
		{"string_too_long", change("client", "given_name", strV(strings.Repeat("a", 201))), v1.Problem_PROBLEM_INVALID_VALUE},
		{"blank_required_string", change("client", "given_name", strV("   ")), v1.Problem_PROBLEM_INVALID_VALUE},
		{"control_characters_in_name", change("client", "family_name", strV("Smith\x00")), v1.Problem_PROBLEM_INVALID_VALUE},
		{"newline_in_single_line_field", change("client", "family_name", strV("Smith\nJones")), v1.Problem_PROBLEM_INVALID_VALUE},
		{"set_element_not_allowed", change("client", "risk_flags", &v1.Value{Kind: &v1.Value_SetAdd{SetAdd: &v1.SetAdd{Element: "grumpy"}}}), v1.Problem_PROBLEM_INVALID_VALUE},
		{"bad_ref", change("review_note", "subject_id", strV("not-a-uuid")), v1.Problem_PROBLEM_INVALID_VALUE},
		{"decimal_field_absent_but_bool_wrong", change("client", "consent_to_share", strV("yes")), v1.Problem_PROBLEM_WRONG_TYPE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := reg.CheckChange(CurrentVersion, tt.ch)
			if tt.want == 0 {
				if got != nil {
					t.Fatalf("CheckChange() = %v, want valid", got.Message)
				}
				return
			}
			if got == nil {
				t.Fatalf("CheckChange() = valid, want %v", tt.want)
			}
			if got.Problem != tt.want {
				t.Fatalf("CheckChange() problem = %v (%s), want %v", got.Problem, got.Message, tt.want)
			}
			if got.Message == "" || got.RecordType == "" {
				t.Fatalf("issue must name the record type and explain: %+v", got)
			}
		})
	}
}

func TestCheckChangeMalformed(t *testing.T) {
	reg := Builtin()
	mutate := map[string]func(*v1.Change){
		"zero_device_seq":    func(c *v1.Change) { c.DeviceSeq = 0 },
		"record_id_not_uuid": func(c *v1.Change) { c.RecordId = "abc" },
		"upper_case_uuid":    func(c *v1.Change) { c.RecordId = strings.ToUpper(recordID) },
		"client_id_missing":  func(c *v1.Change) { c.ClientId = "" },
		"stamp_missing":      func(c *v1.Change) { c.Stamp = nil },
		"stamp_no_replica":   func(c *v1.Change) { c.Stamp.Replica = "" },
		"base_zero_time":     func(c *v1.Change) { c.Base = &v1.Stamp{Replica: "x"} },
		"client_id_mismatch": func(c *v1.Change) { c.RecordType = "client"; c.Field = "given_name" },
	}
	for name, m := range mutate {
		t.Run(name, func(t *testing.T) {
			ch := change("contact", "notes", strV("ok"))
			m(ch)
			got := reg.CheckChange(CurrentVersion, ch)
			if got == nil || got.Problem != v1.Problem_PROBLEM_MALFORMED {
				t.Fatalf("CheckChange() = %+v, want PROBLEM_MALFORMED", got)
			}
		})
	}
}

func TestErrorsNeverEchoValues(t *testing.T) {
	reg := Builtin()
	secret := "Heroin-Jane-Doe-1975"
	for _, ch := range []*v1.Change{
		change("contact", "category", strV(secret)),
		change("client", "family_name", strV(secret+"\x01")),
		change("client", "risk_flags", &v1.Value{Kind: &v1.Value_SetAdd{SetAdd: &v1.SetAdd{Element: secret}}}),
		change("review_note", "subject_id", strV(secret)),
	} {
		got := reg.CheckChange(CurrentVersion, ch)
		if got == nil {
			t.Fatalf("CheckChange(%s.%s) = valid, want an issue", ch.RecordType, ch.Field)
		}
		if strings.Contains(got.Message, secret) {
			t.Fatalf("issue message repeats the submitted value: %q", got.Message)
		}
	}
}

func TestMissingRequired(t *testing.T) {
	reg := Builtin()
	set := map[string]bool{"occurred_at": true, "category": true}
	got := reg.MissingRequired("contact", func(f string) bool { return set[f] })
	want := []string{"mode", "author"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("MissingRequired(contact) = %v, want %v", got, want)
	}
}

// An additive schema change (a version adds an optional field and a record
// type) must keep validating older devices' changes, and must not accept the
// new field from a device that claims an older version.
func TestAdditiveSchemaChangeKeepsOldDevicesWorking(t *testing.T) {
	next := uint32(CurrentVersion + 1)
	v3, err := Builtin().Extend(next,
		map[string][]Field{"contact": {{Name: "location", Type: String, MaxLen: 200, Since: next}}},
		RecordType{Name: "probe", Since: next, Fields: []Field{{Name: "deleted", Type: Tombstone, Since: next}, {Name: "starts_at", Type: Timestamp, Required: true, Since: next}}},
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range Builtin().Types() {
		for _, f := range rt.Fields {
			if _, ok := mustType(t, v3, rt.Name).Field(f.Name); !ok {
				t.Fatalf("version %d lost %s.%s", next, rt.Name, f.Name)
			}
		}
	}
	for v := uint32(1); v < next; v++ {
		if iss := v3.CheckChange(v, change("contact", "category", strV("housing"))); iss != nil {
			t.Fatalf("version %d device's change rejected after an additive change: %s", v, iss.Message)
		}
		if iss := v3.CheckChange(v, change("contact", "location", strV("Hostel"))); iss == nil || iss.Problem != v1.Problem_PROBLEM_UNKNOWN_FIELD {
			t.Fatalf("version %d device using a version %d field = %+v, want PROBLEM_UNKNOWN_FIELD", v, next, iss)
		}
		if iss := v3.CheckChange(v, change("probe", "starts_at", &v1.Value{Kind: &v1.Value_TimestampValue{TimestampValue: timestamppb.Now()}})); iss == nil || iss.Problem != v1.Problem_PROBLEM_UNKNOWN_RECORD_TYPE {
			t.Fatalf("version %d device using a version %d record type = %+v, want PROBLEM_UNKNOWN_RECORD_TYPE", v, next, iss)
		}
	}
	if iss := v3.CheckChange(next, change("contact", "location", strV("Hostel"))); iss != nil {
		t.Fatalf("version %d device using its own field: %s", next, iss.Message)
	}
	if got := v3.MissingRequired("contact", func(string) bool { return true }); len(got) != 0 {
		t.Fatalf("required fields changed: %v", got)
	}
}

// Schema version 2 added appointments: a version-1 device cannot write one
// (it does not know the type), a version-2 device can, and both keep
// writing contacts.
func TestAppointmentsCameWithVersion2(t *testing.T) {
	if CurrentVersion < 2 {
		t.Fatalf("CurrentVersion = %d, want at least 2", CurrentVersion)
	}
	reg := Builtin()
	at := change("appointment", "starts_at", &v1.Value{Kind: &v1.Value_TimestampValue{TimestampValue: timestamppb.Now()}})
	if iss := reg.CheckChange(1, at); iss == nil || iss.Problem != v1.Problem_PROBLEM_UNKNOWN_RECORD_TYPE {
		t.Fatalf("a version-1 device writing an appointment = %+v, want PROBLEM_UNKNOWN_RECORD_TYPE", iss)
	}
	if iss := reg.CheckChange(2, at); iss != nil {
		t.Fatalf("a version-2 device writing an appointment: %s", iss.Message)
	}
	if iss := reg.CheckChange(2, change("appointment", "status", strV("did_not_attend"))); iss != nil {
		t.Fatalf("recording a DNA: %s", iss.Message)
	}
	if iss := reg.CheckChange(2, change("appointment", "status", strV("missed"))); iss == nil || iss.Problem != v1.Problem_PROBLEM_INVALID_VALUE {
		t.Fatalf("an uncoded status = %+v, want PROBLEM_INVALID_VALUE", iss)
	}
	for v := uint32(1); v <= 2; v++ {
		if iss := reg.CheckChange(v, change("contact", "category", strV("housing"))); iss != nil {
			t.Fatalf("a version-%d device's contact: %s", v, iss.Message)
		}
	}
	want := []string{"appointment_type", "author", "starts_at", "status"}
	if got := reg.MissingRequired("appointment", func(string) bool { return false }); !slices.Equal(sorted(got), want) {
		t.Fatalf("MissingRequired(appointment) = %v, want %v", got, want)
	}
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

func mustType(t *testing.T, r *Registry, name string) *RecordType {
	t.Helper()
	rt, ok := r.Type(name)
	if !ok {
		t.Fatalf("no record type %s", name)
	}
	return rt
}

func TestNewRejectsBadDefinitions(t *testing.T) {
	del := Field{Name: "deleted", Type: Tombstone, Since: 1}
	cases := map[string][]RecordType{
		"enum_without_values":   {{Name: "x", Since: 1, Fields: []Field{del, {Name: "a", Type: Enum, Since: 1}}}},
		"string_without_maxlen": {{Name: "x", Since: 1, Fields: []Field{del, {Name: "a", Type: String, Since: 1}}}},
		"no_tombstone_field":    {{Name: "x", Since: 1, Fields: []Field{{Name: "a", Type: Bool, Since: 1}}}},
		"duplicate_field":       {{Name: "x", Since: 1, Fields: []Field{del, {Name: "a", Type: Bool, Since: 1}, {Name: "a", Type: Bool, Since: 1}}}},
		"field_from_future":     {{Name: "x", Since: 1, Fields: []Field{del, {Name: "a", Type: Bool, Since: 2}}}},
		"duplicate_type":        {{Name: "x", Since: 1, Fields: []Field{del}}, {Name: "x", Since: 1, Fields: []Field{del}}},
		"writer_not_a_role":     {{Name: "x", Since: 1, Fields: []Field{del, {Name: "a", Type: Bool, Since: 1, Writers: []v1.Role{v1.Role_ROLE_UNSPECIFIED}}}}},
		"writer_repeated":       {{Name: "x", Since: 1, Fields: []Field{del, {Name: "a", Type: Bool, Since: 1, Writers: []v1.Role{v1.Role_ROLE_ADMIN, v1.Role_ROLE_ADMIN}}}}},
	}
	for name, types := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := New(1, 1, types...); err == nil {
				t.Fatal("New() accepted a bad definition")
			}
		})
	}
	// A field older than its record type.
	if _, err := New(2, 1, RecordType{Name: "y", Since: 2, Fields: []Field{{Name: "deleted", Type: Tombstone, Since: 2}, {Name: "a", Type: Bool, Since: 1}}}); err == nil {
		t.Fatal("New() accepted a field older than its record type")
	}
	// A new record type may require fields it brought in.
	if _, err := New(2, 1, RecordType{Name: "y", Since: 2, Fields: []Field{{Name: "deleted", Type: Tombstone, Since: 2}, {Name: "a", Type: Bool, Required: true, Since: 2}}}); err != nil {
		t.Fatalf("New() refused a version-2 record type's required field: %v", err)
	}
	next := uint32(CurrentVersion + 1)
	for _, typ := range []string{"contact", "appointment"} {
		if _, err := Builtin().Extend(next, map[string][]Field{typ: {{Name: "must", Type: Bool, Required: true, Since: next}}}); err == nil {
			t.Fatalf("Extend() accepted a new required field on %s, which would break old devices", typ)
		}
	}
}
