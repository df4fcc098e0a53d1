package caseload

import (
	"cmp"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// Date is a calendar date with no time zone (a date of birth, a follow-up
// day). The zero Date means "not set".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// IsZero reports whether the date is unset.
func (d Date) IsZero() bool { return d == Date{} }

// DateOf returns the date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, day := t.Date()
	return Date{y, m, day}
}

func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
}

// day is the date at midnight UTC (the zero time for the zero Date).
func (d Date) day() time.Time {
	if d.IsZero() {
		return time.Time{}
	}
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
}

// Compare orders dates: -1 if d is before e, 0 if the same day, +1 after.
func (d Date) Compare(e Date) int {
	return cmp.Or(cmp.Compare(d.Year, e.Year), cmp.Compare(d.Month, e.Month), cmp.Compare(d.Day, e.Day))
}

// Value builders for Edit.

// String is a text or choice value.
func String(s string) *v1.Value { return &v1.Value{Kind: &v1.Value_StringValue{StringValue: s}} }

// Int is a whole number.
func Int(n int64) *v1.Value { return &v1.Value{Kind: &v1.Value_IntegerValue{IntegerValue: n}} }

// Decimal is a decimal number written as text ("12.50").
func Decimal(s string) *v1.Value { return &v1.Value{Kind: &v1.Value_DecimalValue{DecimalValue: s}} }

// Bool is true or false.
func Bool(b bool) *v1.Value { return &v1.Value{Kind: &v1.Value_BoolValue{BoolValue: b}} }

// Time is an instant.
func Time(t time.Time) *v1.Value {
	return &v1.Value{Kind: &v1.Value_TimestampValue{TimestampValue: timestamppb.New(t)}}
}

// DateValue is a calendar date.
func DateValue(d Date) *v1.Value {
	return &v1.Value{Kind: &v1.Value_DateValue{DateValue: &v1.Date{Year: int32(d.Year), Month: int32(d.Month), Day: int32(d.Day)}}}
}

// AddTo adds an element to a set field (risk flags, substances).
func AddTo(element string) *v1.Value {
	return &v1.Value{Kind: &v1.Value_SetAdd{SetAdd: &v1.SetAdd{Element: element}}}
}

// removeFrom removes an element from a set field, as observed: additions
// this device has not seen survive (add wins).
func removeFrom(element string, observed []*v1.Stamp) *v1.Value {
	return &v1.Value{Kind: &v1.Value_SetRemove{SetRemove: &v1.SetRemove{Element: element, Observed: observed}}}
}

// Deleted marks a record deleted with a reason such as "entered_in_error".
// Deleted records stay in history.
func Deleted(reason string) *v1.Value {
	return &v1.Value{Kind: &v1.Value_Tombstone{Tombstone: &v1.Tombstone{Reason: reason}}}
}

// Reading values.

func str(r *v1.RecordState, field string) string {
	return fieldValue(r, field).GetStringValue()
}

func integer(r *v1.RecordState, field string) int64 {
	return fieldValue(r, field).GetIntegerValue()
}

func boolean(r *v1.RecordState, field string) (value, set bool) {
	v := fieldValue(r, field)
	_, set = v.GetKind().(*v1.Value_BoolValue)
	return v.GetBoolValue(), set
}

func instant(r *v1.RecordState, field string) time.Time {
	ts := fieldValue(r, field).GetTimestampValue()
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}

func date(r *v1.RecordState, field string) Date {
	d := fieldValue(r, field).GetDateValue()
	if d == nil {
		return Date{}
	}
	return Date{int(d.GetYear()), time.Month(d.GetMonth()), int(d.GetDay())}
}

func members(r *v1.RecordState, field string) []string {
	var out []string
	for _, e := range fieldValue(r, field).GetSetState().GetElements() {
		if len(e.GetAdds()) > 0 {
			out = append(out, e.GetElement())
		}
	}
	return out
}

func fieldValue(r *v1.RecordState, field string) *v1.Value {
	for _, f := range r.GetFields() {
		if f.GetField() == field {
			return f.GetValue()
		}
	}
	return nil
}
