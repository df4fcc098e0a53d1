package merge

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/hlc"
)

// at is a stamp ms milliseconds after baseMillis on replica.
func at(ms int64, replica string) *v1.Stamp {
	return &v1.Stamp{Time: hlc.Pack(baseMillis+ms, 0), Replica: replica}
}

var (
	ana = &v1.Author{UserId: "user-ana", DeviceId: "dev-a"}
	ben = &v1.Author{UserId: "user-ben", DeviceId: "dev-b"}
	cat = &v1.Author{UserId: "user-cat", DeviceId: "dev-c"}
)

func TestApply(t *testing.T) {
	anaName := edit{newChange("given_name", stringValue("Ana"), at(10, "dev-a"), nil), ana}
	annName := edit{newChange("given_name", stringValue("Ann"), at(20, "dev-b"), nil), ben}
	addOverdose := edit{newChange(flagsField, setAddValue("overdose"), at(10, "dev-a"), nil), ana}
	removeOverdose := edit{newChange(flagsField, setRemoveValue("overdose", at(10, "dev-a")), at(20, "dev-b"), nil), ben}

	tests := []struct {
		name   string
		before []edit
		apply  edit

		wantDuplicate bool
		wantWon       bool
		wantReplaced  *v1.Value
		// wantConflict is checked on field, sides and id; nil means none.
		wantConflict  *v1.Conflict
		wantResolved  []uint64
		wantValue     *v1.Value // visible value of an ordinary field
		wantMembers   []string  // members of a set field
		wantDeleted   bool
		wantConflicts int // open conflicts after the change
	}{
		{
			name:      "first_value_wins_without_conflict",
			apply:     anaName,
			wantWon:   true,
			wantValue: stringValue("Ana"),
		},
		{
			name:      "first_value_with_a_base_does_not_conflict",
			apply:     edit{newChange("given_name", stringValue("Ana"), at(10, "dev-a"), at(5, "dev-b")), ana},
			wantWon:   true,
			wantValue: stringValue("Ana"),
		},
		{
			name:         "newer_change_with_current_base_wins_without_conflict",
			before:       []edit{anaName},
			apply:        edit{newChange("given_name", stringValue("Ann"), at(20, "dev-b"), at(10, "dev-a")), ben},
			wantWon:      true,
			wantReplaced: stringValue("Ana"),
			wantValue:    stringValue("Ann"),
		},
		{
			name:          "duplicate_change_reports_duplicate",
			before:        []edit{anaName},
			apply:         anaName,
			wantDuplicate: true,
			wantReplaced:  stringValue("Ana"),
			wantValue:     stringValue("Ana"),
		},
		{
			name:         "older_change_loses_but_raises_conflict_when_base_differs",
			before:       []edit{annName},
			apply:        anaName,
			wantReplaced: stringValue("Ann"),
			wantConflict: &v1.Conflict{
				Id:       99,
				Field:    "given_name",
				Current:  &v1.ConflictSide{Value: stringValue("Ann"), Stamp: at(20, "dev-b"), Author: ben},
				Incoming: &v1.ConflictSide{Value: stringValue("Ana"), Stamp: at(10, "dev-a"), Author: ana},
			},
			wantValue:     stringValue("Ann"),
			wantConflicts: 1,
		},
		{
			name:         "older_change_with_stale_base_loses_and_raises_conflict",
			before:       []edit{{newChange("given_name", stringValue("Al"), at(5, "dev-c"), nil), cat}, {newChange("given_name", stringValue("Ann"), at(20, "dev-b"), at(5, "dev-c")), ben}},
			apply:        edit{newChange("given_name", stringValue("Ana"), at(10, "dev-a"), at(5, "dev-c")), ana},
			wantReplaced: stringValue("Ann"),
			wantConflict: &v1.Conflict{
				Id:       99,
				Field:    "given_name",
				Current:  &v1.ConflictSide{Value: stringValue("Ann"), Stamp: at(20, "dev-b"), Author: ben},
				Incoming: &v1.ConflictSide{Value: stringValue("Ana"), Stamp: at(10, "dev-a"), Author: ana},
			},
			wantValue:     stringValue("Ann"),
			wantConflicts: 1,
		},
		{
			name:         "newer_change_with_stale_base_wins_and_raises_conflict",
			before:       []edit{anaName, {newChange("given_name", stringValue("Ann"), at(20, "dev-b"), at(10, "dev-a")), ben}},
			apply:        edit{newChange("given_name", stringValue("Anna"), at(30, "dev-c"), at(10, "dev-a")), cat},
			wantWon:      true,
			wantReplaced: stringValue("Ann"),
			wantConflict: &v1.Conflict{
				Id:       99,
				Field:    "given_name",
				Current:  &v1.ConflictSide{Value: stringValue("Ann"), Stamp: at(20, "dev-b"), Author: ben},
				Incoming: &v1.ConflictSide{Value: stringValue("Anna"), Stamp: at(30, "dev-c"), Author: cat},
			},
			wantValue:     stringValue("Anna"),
			wantConflicts: 1,
		},
		{
			name:          "matching_base_resolves_open_conflict",
			before:        []edit{annName, anaName}, // conflict 1: Ann vs Ana
			apply:         edit{newChange("given_name", stringValue("Anna"), at(30, "dev-c"), at(20, "dev-b")), cat},
			wantWon:       true,
			wantReplaced:  stringValue("Ann"),
			wantResolved:  []uint64{1},
			wantValue:     stringValue("Anna"),
			wantConflicts: 0,
		},
		{
			name:        "tombstone_on_deleted_marks_record_deleted",
			before:      []edit{anaName},
			apply:       edit{newChange(DeletedField, tombstoneValue("entered_in_error"), at(20, "dev-b"), nil), ben},
			wantWon:     true,
			wantValue:   tombstoneValue("entered_in_error"),
			wantDeleted: true,
		},
		{
			name:         "newer_tombstone_with_stale_base_never_conflicts",
			before:       []edit{{newChange(DeletedField, tombstoneValue("duplicate"), at(20, "dev-b"), nil), ben}},
			apply:        edit{newChange(DeletedField, tombstoneValue("entered_in_error"), at(30, "dev-a"), at(5, "dev-c")), ana},
			wantWon:      true,
			wantReplaced: tombstoneValue("duplicate"),
			wantValue:    tombstoneValue("entered_in_error"),
			wantDeleted:  true,
		},
		{
			name:         "older_tombstone_loses_without_conflict",
			before:       []edit{{newChange(DeletedField, tombstoneValue("duplicate"), at(20, "dev-b"), nil), ben}},
			apply:        edit{newChange(DeletedField, tombstoneValue("entered_in_error"), at(10, "dev-a"), nil), ana},
			wantReplaced: tombstoneValue("duplicate"),
			wantValue:    tombstoneValue("duplicate"),
			wantDeleted:  true,
		},
		{
			name:          "tombstone_does_not_resolve_conflicts_of_other_fields",
			before:        []edit{annName, anaName},
			apply:         edit{newChange(DeletedField, tombstoneValue("entered_in_error"), at(30, "dev-c"), nil), cat},
			wantWon:       true,
			wantValue:     tombstoneValue("entered_in_error"),
			wantDeleted:   true,
			wantConflicts: 1,
		},
		{
			name:        "set_add_wins",
			apply:       addOverdose,
			wantWon:     true,
			wantMembers: []string{"overdose"},
		},
		{
			name:          "duplicate_set_add_reports_duplicate",
			before:        []edit{addOverdose},
			apply:         addOverdose,
			wantDuplicate: true,
			wantMembers:   []string{"overdose"},
		},
		{
			name:        "set_remove_of_observed_add_never_conflicts",
			before:      []edit{annName, anaName, addOverdose},
			apply:       removeOverdose,
			wantWon:     true,
			wantMembers: nil,
			// the conflict on given_name stays open
			wantConflicts: 1,
		},
		{
			name:          "re_delivered_add_after_its_remove_reports_duplicate",
			before:        []edit{addOverdose, removeOverdose},
			apply:         addOverdose,
			wantDuplicate: true,
			wantMembers:   nil,
		},
		{
			name:          "duplicate_set_remove_reports_duplicate",
			before:        []edit{addOverdose, removeOverdose},
			apply:         removeOverdose,
			wantDuplicate: true,
			wantMembers:   nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ids uint64
			r := NewRecord(testRecordID, testRecordType)
			for _, e := range tt.before {
				applyEdit(r, e, &ids)
			}
			before := proto.Clone(r).(*v1.RecordState)
			got := Apply(r, tt.apply.ch, tt.apply.author, 99, testNow)

			if got.Duplicate != tt.wantDuplicate {
				t.Errorf("Duplicate = %v, want %v", got.Duplicate, tt.wantDuplicate)
			}
			if got.Won != tt.wantWon {
				t.Errorf("Won = %v, want %v", got.Won, tt.wantWon)
			}
			if tt.wantDuplicate {
				requireEqual(t, "state after a duplicate", r, "state before", before)
			}
			isSet := tt.apply.ch.GetField() == flagsField
			if !isSet && !proto.Equal(got.Replaced.GetValue(), tt.wantReplaced) {
				t.Errorf("Replaced = %v, want value %v", got.Replaced, tt.wantReplaced)
			}
			if tt.wantConflict == nil {
				if got.Conflict != nil {
					t.Errorf("Conflict = %v, want none", got.Conflict)
				}
			} else {
				c := proto.Clone(got.Conflict).(*v1.Conflict)
				if c == nil || !c.GetDetectedAt().AsTime().Equal(testNow) {
					t.Errorf("Conflict detected at %v, want %v", c.GetDetectedAt().AsTime(), testNow)
				}
				c.DetectedAt = nil
				if !proto.Equal(c, tt.wantConflict) {
					t.Errorf("Conflict =\n%s\nwant\n%s", format(c), format(tt.wantConflict))
				}
				if !slices.ContainsFunc(r.GetConflicts(), func(o *v1.Conflict) bool { return o.GetId() == 99 }) {
					t.Errorf("raised conflict is not in the state's conflicts")
				}
			}
			if !slices.Equal(got.Resolved, tt.wantResolved) {
				t.Errorf("Resolved = %v, want %v", got.Resolved, tt.wantResolved)
			}
			if n := len(r.GetConflicts()); n != tt.wantConflicts {
				t.Errorf("open conflicts = %d, want %d", n, tt.wantConflicts)
			}
			f := Field(r, tt.apply.ch.GetField())
			if isSet {
				if members := SetMembers(f.GetValue().GetSetState()); !slices.Equal(members, tt.wantMembers) {
					t.Errorf("SetMembers = %v, want %v", members, tt.wantMembers)
				}
			} else if !proto.Equal(f.GetValue(), tt.wantValue) {
				t.Errorf("visible value = %v, want %v", f.GetValue(), tt.wantValue)
			}
			if IsDeleted(r) != tt.wantDeleted {
				t.Errorf("IsDeleted = %v, want %v", IsDeleted(r), tt.wantDeleted)
			}
		})
	}
}

func TestSetMembers(t *testing.T) {
	add := func(el string, s *v1.Stamp) edit { return edit{newChange(flagsField, setAddValue(el), s, nil), ana} }
	remove := func(el string, s *v1.Stamp, observed ...*v1.Stamp) edit {
		return edit{newChange(flagsField, setRemoveValue(el, observed...), s, nil), ben}
	}
	tests := []struct {
		name  string
		edits []edit
		want  []string
	}{
		{name: "no_field", want: nil},
		{name: "one_add", edits: []edit{add("overdose", at(10, "dev-a"))}, want: []string{"overdose"}},
		{
			name:  "members_are_sorted",
			edits: []edit{add("self_harm", at(10, "dev-a")), add("housing", at(11, "dev-a")), add("overdose", at(12, "dev-b"))},
			want:  []string{"housing", "overdose", "self_harm"},
		},
		{
			name:  "remove_of_observed_add",
			edits: []edit{add("overdose", at(10, "dev-a")), remove("overdose", at(20, "dev-b"), at(10, "dev-a"))},
			want:  nil,
		},
		{
			name:  "remove_delivered_before_its_add",
			edits: []edit{remove("overdose", at(20, "dev-b"), at(10, "dev-a")), add("overdose", at(10, "dev-a"))},
			want:  nil,
		},
		{
			name:  "concurrent_add_survives_remove",
			edits: []edit{add("overdose", at(10, "dev-a")), add("overdose", at(15, "dev-c")), remove("overdose", at(20, "dev-b"), at(10, "dev-a"))},
			want:  []string{"overdose"},
		},
		{
			name:  "remove_observing_every_add",
			edits: []edit{add("overdose", at(10, "dev-a")), add("overdose", at(15, "dev-c")), remove("overdose", at(20, "dev-b"), at(10, "dev-a"), at(15, "dev-c"))},
			want:  nil,
		},
		{
			name:  "re_add_after_remove",
			edits: []edit{add("overdose", at(10, "dev-a")), remove("overdose", at(20, "dev-b"), at(10, "dev-a")), add("overdose", at(30, "dev-a"))},
			want:  []string{"overdose"},
		},
		{
			name:  "re_delivered_add_does_not_resurrect",
			edits: []edit{add("overdose", at(10, "dev-a")), remove("overdose", at(20, "dev-b"), at(10, "dev-a")), add("overdose", at(10, "dev-a"))},
			want:  nil,
		},
		{
			name:  "remove_only_touches_its_element",
			edits: []edit{add("overdose", at(10, "dev-a")), add("housing", at(10, "dev-b")), remove("overdose", at(20, "dev-b"), at(10, "dev-a"))},
			want:  []string{"housing"},
		},
		{
			name:  "remove_observing_nothing",
			edits: []edit{add("overdose", at(10, "dev-a")), remove("overdose", at(20, "dev-b"))},
			want:  []string{"overdose"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ids uint64
			r := NewRecord(testRecordID, testRecordType)
			for _, e := range tt.edits {
				applyEdit(r, e, &ids)
			}
			got := SetMembers(Field(r, flagsField).GetValue().GetSetState())
			if !slices.Equal(got, tt.want) {
				t.Errorf("SetMembers = %v, want %v", got, tt.want)
			}
		})
	}
}

// Two devices that both saw a flag remove it concurrently. Whatever the
// order the two removes arrive in, replicas must end with the same field
// state, and that of Merge, which gives a set field the highest stamp (and
// its author) of the changes it holds.
func TestApplyConcurrentRemovesOfOneAdd(t *testing.T) {
	add := edit{newChange(flagsField, setAddValue("overdose"), at(10, "dev-a"), nil), ana}
	r1 := edit{newChange(flagsField, setRemoveValue("overdose", at(10, "dev-a")), at(20, "dev-b"), nil), ben}
	r2 := edit{newChange(flagsField, setRemoveValue("overdose", at(10, "dev-a")), at(30, "dev-c"), nil), cat}
	merged := Merge(Merge(singleton(add), singleton(r1)), singleton(r2))

	tests := []struct {
		name  string
		edits []edit
	}{
		{name: "earlier_remove_first", edits: []edit{add, r1, r2}},
		{name: "later_remove_first", edits: []edit{add, r2, r1}},
		{name: "removes_before_add", edits: []edit{r1, r2, add}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ids uint64
			r := NewRecord(testRecordID, testRecordType)
			for _, e := range tt.edits {
				applyEdit(r, e, &ids)
			}
			got := Field(r, flagsField)
			if members := SetMembers(got.GetValue().GetSetState()); len(members) != 0 {
				t.Errorf("SetMembers = %v, want []", members)
			}
			if !SameStamp(got.GetStamp(), at(30, "dev-c")) || !proto.Equal(got.GetAuthor(), cat) {
				t.Errorf("field stamp %s by %v, want %s by %v (the latest change)", stampString(got.GetStamp()), got.GetAuthor(), stampString(at(30, "dev-c")), cat)
			}
			requireEqual(t, "Apply one by one", fieldsOf(r), "Merge of singletons", fieldsOf(merged))
		})
	}
}
