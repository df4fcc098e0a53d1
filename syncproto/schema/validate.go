package schema

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// Issue is one thing wrong with a change. Messages name the record type,
// the field and the problem, never the submitted value (it may be personal
// data).
type Issue struct {
	Problem    v1.Problem
	RecordType string
	Field      string
	Message    string
}

func (i *Issue) Error() string { return i.Message }

func issue(p v1.Problem, rt, field, format string, args ...any) *Issue {
	return &Issue{Problem: p, RecordType: rt, Field: field, Message: fmt.Sprintf(format, args...)}
}

// MaxSetStamps bounds the observed stamps of one set_remove.
const MaxSetStamps = 1000

// MaxReplicaLen bounds a replica (device) id in a stamp.
const MaxReplicaLen = 64

// ValidStamp reports whether s has a time and a replica id of 1 to
// MaxReplicaLen printable ASCII characters.
func ValidStamp(s *v1.Stamp) bool {
	r := s.GetReplica()
	if s.GetTime() == 0 || r == "" || len(r) > MaxReplicaLen {
		return false
	}
	for i := 0; i < len(r); i++ {
		if r[i] < 0x21 || r[i] > 0x7e {
			return false
		}
	}
	return true
}

var decimalRE = regexp.MustCompile(`^-?[0-9]{1,15}(\.[0-9]{1,4})?$`)

// ValidID reports whether s is a UUID in canonical lower-case text form.
func ValidID(s string) bool {
	if len(s) != 36 {
		return false
	}
	u, err := uuid.Parse(s)
	return err == nil && u.String() == s
}

// CheckChange validates a change on its own (without the server's state)
// against the schema as it stood at schemaVersion: ids, stamps, record type,
// field, value type and value. It returns nil if the change is valid.
func (r *Registry) CheckChange(schemaVersion uint32, ch *v1.Change) *Issue {
	rtName, fname := ch.GetRecordType(), ch.GetField()
	switch {
	case ch.GetDeviceSeq() == 0:
		return issue(v1.Problem_PROBLEM_MALFORMED, rtName, fname, "device_seq must be positive")
	case !ValidID(ch.GetRecordId()):
		return issue(v1.Problem_PROBLEM_MALFORMED, rtName, fname, "record_id must be a lower-case UUID")
	case !ValidID(ch.GetClientId()):
		return issue(v1.Problem_PROBLEM_MALFORMED, rtName, fname, "client_id must be a lower-case UUID")
	case !ValidStamp(ch.GetStamp()):
		return issue(v1.Problem_PROBLEM_MALFORMED, rtName, fname, "stamp needs a time and a replica id of 1 to %d printable ASCII characters", MaxReplicaLen)
	case ch.GetBase() != nil && !ValidStamp(ch.GetBase()):
		return issue(v1.Problem_PROBLEM_MALFORMED, rtName, fname, "base, when set, needs a time and a replica id of 1 to %d printable ASCII characters", MaxReplicaLen)
	}
	rt, ok := r.types[rtName]
	if !ok || rt.Since > schemaVersion {
		return issue(v1.Problem_PROBLEM_UNKNOWN_RECORD_TYPE, clip(rtName), fname, "unknown record type %q (schema version %d)", clip(rtName), schemaVersion)
	}
	if rtName == "client" && ch.GetRecordId() != ch.GetClientId() {
		return issue(v1.Problem_PROBLEM_MALFORMED, rtName, fname, "a client record's record_id must equal its client_id")
	}
	f, ok := rt.byName[fname]
	if !ok || f.Since > schemaVersion {
		return issue(v1.Problem_PROBLEM_UNKNOWN_FIELD, rtName, clip(fname), "%s has no field %q (schema version %d)", rtName, clip(fname), schemaVersion)
	}
	if msg, p := checkValue(f, ch.GetValue()); msg != "" {
		return issue(p, rtName, fname, "%s.%s: %s", rtName, fname, msg)
	}
	return nil
}

// clip shortens an unknown name before it is echoed in an error.
func clip(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.ToValidUTF8(s, "?")
}

// decimalWithin reports whether the decimal s (decimalRE) lies in
// [min, max]. Comparing its whole part is exact: s >= min unless its whole
// part is below min (or equal to min with min negative and a fraction),
// and s <= max unless its whole part is above max, or equal to it with a
// non-zero fraction.
func decimalWithin(s string, min, max int64) bool {
	neg := strings.HasPrefix(s, "-")
	whole, frac, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return false // 15 digits always parse
	}
	hasFrac := strings.Trim(frac, "0") != ""
	if neg {
		w = -w
		if w == 0 && hasFrac {
			// -0.x: below zero, above -1
			return min < 0 && max >= 0
		}
		// s lies in [w-1, w]: at or above min needs w > min, or w == min with no fraction.
		return (w > min || w == min && !hasFrac) && w <= max
	}
	return w >= min && (w < max || w == max && !hasFrac)
}

// checkValue returns why v is not a valid value for f, or "". It picks the
// check of f's type; each check owns the rules of one type, and checkAs
// refuses a value of another kind before it.
func checkValue(f *Field, v *v1.Value) (string, v1.Problem) {
	switch f.Type {
	case String, Text:
		return checkAs(f, v, checkString)
	case Enum:
		return checkAs(f, v, checkEnum)
	case Ref:
		return checkAs(f, v, checkRef)
	case Integer:
		return checkAs(f, v, checkInteger)
	case Decimal:
		return checkAs(f, v, checkDecimal)
	case Bool:
		return checkAs(f, v, func(*Field, *v1.Value_BoolValue) (string, v1.Problem) { return validValue() })
	case Timestamp:
		return checkAs(f, v, checkTimestamp)
	case Date:
		return checkAs(f, v, checkDate)
	case Set:
		return checkSet(f, v)
	case Tombstone:
		return checkAs(f, v, checkTombstone)
	}
	return wrongType(f, v)
}

// checkAs runs check on v's kind if it is a K, and answers wrongType if not.
func checkAs[K any](f *Field, v *v1.Value, check func(*Field, K) (string, v1.Problem)) (string, v1.Problem) {
	k, ok := v.GetKind().(K)
	if !ok {
		return wrongType(f, v)
	}
	return check(f, k)
}

// validValue is checkValue's answer for a valid value.
func validValue() (string, v1.Problem) { return "", v1.Problem_PROBLEM_UNSPECIFIED }

// wrongType is checkValue's answer for a value of a kind f does not take.
func wrongType(f *Field, v *v1.Value) (string, v1.Problem) {
	return fmt.Sprintf("expected a %s value, got %s", f.Type, kindName(v)), v1.Problem_PROBLEM_WRONG_TYPE
}

// invalidValue is checkValue's answer for a value of the right kind that
// breaks the field's rules.
func invalidValue(format string, args ...any) (string, v1.Problem) {
	return fmt.Sprintf(format, args...), v1.Problem_PROBLEM_INVALID_VALUE
}

// checkString checks a String or Text value (checkText).
func checkString(f *Field, s *v1.Value_StringValue) (string, v1.Problem) {
	return checkText(f, s.StringValue)
}

// checkEnum checks that an Enum value is one of f.Values.
func checkEnum(f *Field, s *v1.Value_StringValue) (string, v1.Problem) {
	if !slices.Contains(f.Values, s.StringValue) {
		return invalidValue("value is not one of %s", strings.Join(f.Values, ", "))
	}
	return validValue()
}

// checkRef checks that a Ref value is a lower-case UUID.
func checkRef(_ *Field, s *v1.Value_StringValue) (string, v1.Problem) {
	if !ValidID(s.StringValue) {
		return invalidValue("value must be a lower-case UUID")
	}
	return validValue()
}

// checkInteger checks that an Integer value lies in [f.Min, f.Max].
func checkInteger(f *Field, n *v1.Value_IntegerValue) (string, v1.Problem) {
	if n.IntegerValue < f.Min || n.IntegerValue > f.Max {
		return invalidValue("value must be between %d and %d", f.Min, f.Max)
	}
	return validValue()
}

// checkDecimal checks a Decimal value's form (decimalRE) and, when f.Max
// is above f.Min, its range.
func checkDecimal(f *Field, d *v1.Value_DecimalValue) (string, v1.Problem) {
	if !decimalRE.MatchString(d.DecimalValue) {
		return invalidValue("value must be a decimal like 12.50 (up to 15 digits, 4 decimals)")
	}
	if f.Max > f.Min && !decimalWithin(d.DecimalValue, f.Min, f.Max) {
		return invalidValue("value must be between %d and %d", f.Min, f.Max)
	}
	return validValue()
}

// checkTimestamp checks that a Timestamp value is valid and in 1900 or later.
func checkTimestamp(_ *Field, ts *v1.Value_TimestampValue) (string, v1.Problem) {
	if err := ts.TimestampValue.CheckValid(); err != nil || ts.TimestampValue.AsTime().Year() < 1900 {
		return invalidValue("value must be a valid time after 1900")
	}
	return validValue()
}

// checkDate checks that a Date value is a calendar date (ValidDate).
func checkDate(_ *Field, d *v1.Value_DateValue) (string, v1.Problem) {
	if !ValidDate(d.DateValue) {
		return invalidValue("value must be a calendar date between 1900-01-01 and 9999-12-31")
	}
	return validValue()
}

// checkSet checks a Set value: a set_add or set_remove (checkSetRemove) of
// one of f.Values. A set_state is the server's, never a device's.
func checkSet(f *Field, v *v1.Value) (string, v1.Problem) {
	switch op := v.GetKind().(type) {
	case *v1.Value_SetAdd:
		return checkSetElement(f, op.SetAdd.GetElement())
	case *v1.Value_SetRemove:
		return checkSetRemove(f, op.SetRemove)
	}
	return wrongType(f, v)
}

// checkSetElement checks that e is one of the Set field's values.
func checkSetElement(f *Field, e string) (string, v1.Problem) {
	if !slices.Contains(f.Values, e) {
		return invalidValue("element is not one of %s", strings.Join(f.Values, ", "))
	}
	return validValue()
}

// checkSetRemove checks a set_remove: its element, and the 1 to
// MaxSetStamps valid stamps of the additions it observed.
func checkSetRemove(f *Field, r *v1.SetRemove) (string, v1.Problem) {
	if msg, p := checkSetElement(f, r.GetElement()); msg != "" {
		return msg, p
	}
	if len(r.GetObserved()) == 0 {
		return "a remove must list the additions it observed", v1.Problem_PROBLEM_MALFORMED
	}
	if len(r.GetObserved()) > MaxSetStamps {
		return invalidValue("a remove may observe at most %d additions", MaxSetStamps)
	}
	for _, s := range r.GetObserved() {
		if !ValidStamp(s) {
			return "observed stamps need a time and a short replica id", v1.Problem_PROBLEM_MALFORMED
		}
	}
	return validValue()
}

// checkTombstone checks a Tombstone value's reason: at most 100 printable
// characters on one line.
func checkTombstone(_ *Field, t *v1.Value_Tombstone) (string, v1.Problem) {
	if r := t.Tombstone.GetReason(); len(r) > 100 || !utf8.ValidString(r) || !printable(r, false) {
		return invalidValue("reason must be at most 100 printable characters")
	}
	return validValue()
}

// checkText checks the text of a String or Text value: valid UTF-8, at
// most f.MaxLen characters, not blank if required, and no control
// characters (but line breaks and tabs in Text).
func checkText(f *Field, s string) (string, v1.Problem) {
	if !utf8.ValidString(s) {
		return invalidValue("value is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > f.MaxLen {
		return invalidValue("value is %d characters, more than the %d allowed", n, f.MaxLen)
	}
	if f.Required && Blank(s) {
		return invalidValue("value must not be blank")
	}
	if !printable(s, f.Type == Text) {
		return invalidValue("value contains control characters")
	}
	return validValue()
}

// printable reports whether s has no control characters (other than line
// breaks and tabs when multiline is set).
func printable(s string, multiline bool) bool {
	for _, c := range s {
		if multiline && (c == '\n' || c == '\r' || c == '\t') {
			continue
		}
		if unicode.IsControl(c) || c == '\u2028' || c == '\u2029' {
			return false
		}
	}
	return true
}

// ValidDate reports whether d is a real calendar date in years 1900 to 9999.
func ValidDate(d *v1.Date) bool {
	if d == nil || d.Year < 1900 || d.Year > 9999 || d.Month < 1 || d.Month > 12 || d.Day < 1 || d.Day > 31 {
		return false
	}
	t := time.Date(int(d.Year), time.Month(d.Month), int(d.Day), 0, 0, 0, 0, time.UTC)
	return t.Day() == int(d.Day)
}

func kindName(v *v1.Value) string {
	switch v.GetKind().(type) {
	case nil:
		return "no value"
	case *v1.Value_StringValue:
		return "a string"
	case *v1.Value_IntegerValue:
		return "an integer"
	case *v1.Value_DecimalValue:
		return "a decimal"
	case *v1.Value_BoolValue:
		return "a bool"
	case *v1.Value_TimestampValue:
		return "a timestamp"
	case *v1.Value_DateValue:
		return "a date"
	case *v1.Value_SetAdd:
		return "a set_add"
	case *v1.Value_SetRemove:
		return "a set_remove"
	case *v1.Value_Tombstone:
		return "a tombstone"
	case *v1.Value_SetState:
		return "a set_state (only servers send those)"
	}
	return "an unknown kind"
}

// MissingRequired returns the required fields of record type rt that are not
// in set, for validating the push that creates a record.
func (r *Registry) MissingRequired(rt string, set func(field string) bool) []string {
	t, ok := r.types[rt]
	if !ok {
		return nil
	}
	var missing []string
	for _, f := range t.Required() {
		if !set(f) {
			missing = append(missing, f)
		}
	}
	return missing
}
