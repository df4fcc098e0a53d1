package schema

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// TestCheckValueMessages pins checkValue's message and problem for every
// field type and every way a value can be wrong.
func TestCheckValueMessages(t *testing.T) {
	const (
		ok      = v1.Problem_PROBLEM_UNSPECIFIED
		wrong   = v1.Problem_PROBLEM_WRONG_TYPE
		invalid = v1.Problem_PROBLEM_INVALID_VALUE
		bad     = v1.Problem_PROBLEM_MALFORMED
	)
	var (
		str       = &Field{Name: "s", Type: String, MaxLen: 5, Required: true}
		text      = &Field{Name: "t", Type: Text, MaxLen: 20}
		enum      = &Field{Name: "e", Type: Enum, Values: []string{"a", "b"}}
		ref       = &Field{Name: "r", Type: Ref}
		integer   = &Field{Name: "i", Type: Integer, Min: 1, Max: 10}
		decimal   = &Field{Name: "d", Type: Decimal, Min: 0, Max: 100}
		unbounded = &Field{Name: "u", Type: Decimal}
		boolean   = &Field{Name: "b", Type: Bool}
		timestamp = &Field{Name: "ts", Type: Timestamp}
		date      = &Field{Name: "dt", Type: Date}
		set       = &Field{Name: "set", Type: Set, Values: []string{"a", "b"}}
		tombstone = &Field{Name: "deleted", Type: Tombstone}
		unknown   = &Field{Name: "x", Type: Type(99)}
	)
	stamp := &v1.Stamp{Time: 1, Replica: "dev-1"}
	decV := func(s string) *v1.Value { return &v1.Value{Kind: &v1.Value_DecimalValue{DecimalValue: s}} }
	tsV := func(ts *timestamppb.Timestamp) *v1.Value {
		return &v1.Value{Kind: &v1.Value_TimestampValue{TimestampValue: ts}}
	}
	addV := func(e string) *v1.Value { return &v1.Value{Kind: &v1.Value_SetAdd{SetAdd: &v1.SetAdd{Element: e}}} }
	removeV := func(e string, observed ...*v1.Stamp) *v1.Value {
		return &v1.Value{Kind: &v1.Value_SetRemove{SetRemove: &v1.SetRemove{Element: e, Observed: observed}}}
	}
	tombV := func(reason string) *v1.Value {
		return &v1.Value{Kind: &v1.Value_Tombstone{Tombstone: &v1.Tombstone{Reason: reason}}}
	}
	tooMany := make([]*v1.Stamp, MaxSetStamps+1)
	for i := range tooMany {
		tooMany[i] = stamp
	}
	tests := []struct {
		name    string
		f       *Field
		v       *v1.Value
		wantMsg string
		want    v1.Problem
	}{
		{"string_ok", str, strV("Ann"), "", ok},
		{"string_wrong_type", str, intV(1), "expected a string value, got an integer", wrong},
		{"string_no_value", str, nil, "expected a string value, got no value", wrong},
		{"string_invalid_utf8", str, strV("\xff"), "value is not valid UTF-8", invalid},
		{"string_too_long", str, strV("abcdef"), "value is 6 characters, more than the 5 allowed", invalid},
		{"string_blank_required", str, strV("  "), "value must not be blank", invalid},
		{"string_newline", str, strV("a\nb"), "value contains control characters", invalid},
		{"text_newline_ok", text, strV("a\nb\tc"), "", ok},
		{"text_blank_not_required", text, strV(""), "", ok},
		{"text_control", text, strV("a\x00"), "value contains control characters", invalid},
		{"text_line_separator", text, strV("a\u2028b"), "value contains control characters", invalid},
		{"enum_ok", enum, strV("b"), "", ok},
		{"enum_wrong_type", enum, boolV(true), "expected a enum value, got a bool", wrong},
		{"enum_not_allowed", enum, strV("c"), "value is not one of a, b", invalid},
		{"ref_ok", ref, strV(clientID), "", ok},
		{"ref_wrong_type", ref, intV(1), "expected a record id value, got an integer", wrong},
		{"ref_upper_case", ref, strV(strings.ToUpper(clientID)), "value must be a lower-case UUID", invalid},
		{"integer_ok_min", integer, intV(1), "", ok},
		{"integer_ok_max", integer, intV(10), "", ok},
		{"integer_wrong_type", integer, decV("1"), "expected a integer value, got a decimal", wrong},
		{"integer_below", integer, intV(0), "value must be between 1 and 10", invalid},
		{"integer_above", integer, intV(11), "value must be between 1 and 10", invalid},
		{"decimal_ok", decimal, decV("12.50"), "", ok},
		{"decimal_wrong_type", decimal, strV("1"), "expected a decimal value, got a string", wrong},
		{"decimal_malformed", decimal, decV("1e3"), "value must be a decimal like 12.50 (up to 15 digits, 4 decimals)", invalid},
		{"decimal_five_decimals", decimal, decV("1.00001"), "value must be a decimal like 12.50 (up to 15 digits, 4 decimals)", invalid},
		{"decimal_above", decimal, decV("100.01"), "value must be between 0 and 100", invalid},
		{"decimal_below", decimal, decV("-0.5"), "value must be between 0 and 100", invalid},
		{"decimal_unbounded", unbounded, decV("-999999999999999.9999"), "", ok},
		{"bool_ok", boolean, boolV(false), "", ok},
		{"bool_wrong_type", boolean, strV("yes"), "expected a bool value, got a string", wrong},
		{"timestamp_ok", timestamp, tsV(timestamppb.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))), "", ok},
		{"timestamp_wrong_type", timestamp, dateV(2026, 1, 1), "expected a timestamp value, got a date", wrong},
		{"timestamp_before_1900", timestamp, tsV(timestamppb.New(time.Date(1899, 12, 31, 0, 0, 0, 0, time.UTC))), "value must be a valid time after 1900", invalid},
		{"timestamp_invalid", timestamp, tsV(&timestamppb.Timestamp{Nanos: -1}), "value must be a valid time after 1900", invalid},
		{"date_ok", date, dateV(2024, 2, 29), "", ok},
		{"date_wrong_type", date, tsV(timestamppb.Now()), "expected a date value, got a timestamp", wrong},
		{"date_impossible", date, dateV(2023, 2, 29), "value must be a calendar date between 1900-01-01 and 9999-12-31", invalid},
		{"set_add_ok", set, addV("a"), "", ok},
		{"set_add_not_allowed", set, addV("c"), "element is not one of a, b", invalid},
		{"set_remove_ok", set, removeV("b", stamp), "", ok},
		{"set_remove_not_allowed", set, removeV("c", stamp), "element is not one of a, b", invalid},
		{"set_remove_observed_none", set, removeV("a"), "a remove must list the additions it observed", bad},
		{"set_remove_observed_too_many", set, removeV("a", tooMany...), "a remove may observe at most 1000 additions", invalid},
		{"set_remove_observed_bad_stamp", set, removeV("a", stamp, &v1.Stamp{Time: 1}), "observed stamps need a time and a short replica id", bad},
		{"set_wrong_type", set, strV("a"), "expected a set value, got a string", wrong},
		{"set_state_from_device", set, &v1.Value{Kind: &v1.Value_SetState{SetState: &v1.SetState{}}}, "expected a set value, got a set_state (only servers send those)", wrong},
		{"tombstone_ok", tombstone, tombV("entered_in_error"), "", ok},
		{"tombstone_no_reason", tombstone, tombV(""), "", ok},
		{"tombstone_wrong_type", tombstone, boolV(true), "expected a tombstone value, got a bool", wrong},
		{"tombstone_reason_too_long", tombstone, tombV(strings.Repeat("x", 101)), "reason must be at most 100 printable characters", invalid},
		{"tombstone_reason_newline", tombstone, tombV("a\nb"), "reason must be at most 100 printable characters", invalid},
		{"tombstone_reason_invalid_utf8", tombstone, tombV("\xff"), "reason must be at most 100 printable characters", invalid},
		{"unknown_type", unknown, strV("a"), "expected a Type(99) value, got a string", wrong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotMsg, got := checkValue(tt.f, tt.v)
			if gotMsg != tt.wantMsg || got != tt.want {
				t.Errorf("checkValue() = %q, %v; want %q, %v", gotMsg, got, tt.wantMsg, tt.want)
			}
		})
	}
}
