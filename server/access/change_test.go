package access

import (
	"strings"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/identity"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/hlc"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// state builds a record's expanded state: each field written by the user
// named after it ("notes=w2" is notes written by w2); a contact's author
// field takes the user as its value.
func state(recordType string, fields ...string) *v1.RecordState {
	st := &v1.RecordState{RecordType: recordType}
	for _, f := range fields {
		name, by, _ := strings.Cut(f, "=")
		v := sample.Str("x")
		if name == "author" {
			v = sample.Str(by)
		}
		st.Fields = append(st.Fields, &v1.FieldState{Field: name, Value: v, Author: &v1.Author{UserId: by}})
	}
	return st
}

func TestPushDecide(t *testing.T) {
	const (
		held   = "0193b5a0-0000-7000-8000-000000000001"
		former = "0193b5a0-0000-7000-8000-000000000002"
		never  = "0193b5a0-0000-7000-8000-000000000003"
		told   = "0193b5a0-0000-7000-8000-000000000004" // former; this device was sent its eviction
		again  = "0193b5a0-0000-7000-8000-000000000005" // former twice; told after the first period only
	)
	assigned := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	ended := time.Date(2026, 11, 20, 17, 0, 0, 0, time.UTC)
	period := identity.Period{From: assigned, To: ended}
	worker := &identity.Identity{UserID: "w1", DeviceID: "d1", Role: identity.Worker, Buckets: []string{held},
		Former: map[string][]identity.Period{former: {period}, told: {period},
			again: {{From: assigned, To: assigned.Add(48 * time.Hour)}, {From: assigned.Add(96 * time.Hour), To: ended}}}}
	supervisor := &identity.Identity{UserID: "s1", DeviceID: "d2", Role: identity.Supervisor, Buckets: []string{held}}
	admin := &identity.Identity{UserID: "a1", DeviceID: "d3", Role: identity.Admin, Buckets: []string{held}}
	at := func(t time.Time) *v1.Stamp { return &v1.Stamp{Time: hlc.Pack(t.UnixMilli(), 0), Replica: "d1"} }
	ch := func(client, rt, field string, v *v1.Value, when time.Time) *v1.Change {
		return &v1.Change{ClientId: client, RecordType: rt, Field: field, Value: v, Stamp: at(when)}
	}
	before, after := ended.Add(-time.Hour), ended.Add(time.Hour)
	x := sample.Str("x")
	ownContact := state("contact", "author=w1", "notes=w1")
	othersContact := state("contact", "author=w2", "notes=w2")
	othersAppointment := state("appointment", "author=w2", "status=w2")
	othersTOP := state("outcome_review", "author=w2", "notes=w2")
	ownGoal := state("goal", "domain=w1", "description=w1", "status=w1")
	touchedGoal := state("goal", "domain=w1", "description=w1", "status=s1")
	tests := []struct {
		name    string
		id      *identity.Identity
		ch      *v1.Change
		current *v1.RecordState
		now     time.Time // when the push arrives (default: two days after access ended)
		reason  v1.RejectReason
		late    bool
		msg     string
	}{
		// Caseload and roles.
		{"own_caseload", worker, ch(held, "contact", "notes", x, after), nil, time.Time{}, 0, false, ""},
		{"never_assigned", worker, ch(never, "contact", "notes", x, before), nil, time.Time{}, v1.RejectReason_REJECT_REASON_NOT_FOUND, false, "not found"},
		{"worker_writes_review_text", worker, ch(held, "review_note", "text", x, after), nil, time.Time{}, v1.RejectReason_REJECT_REASON_FORBIDDEN_FIELD, false, "review_note.text"},
		{"supervisor_writes_review_text", supervisor, ch(held, "review_note", "text", x, after), nil, time.Time{}, 0, false, ""},
		{"worker_answers_query", worker, ch(held, "review_note", "worker_response", x, after), state("review_note", "text=s1"), time.Time{}, 0, false, ""},
		{"supervisor_writes_worker_answer", supervisor, ch(held, "review_note", "worker_response", x, after), nil, time.Time{}, v1.RejectReason_REJECT_REASON_FORBIDDEN_FIELD, false, "worker_response"},
		{"worker_closes_case", worker, ch(held, "client", "status", sample.Str("closed"), after), nil, time.Time{}, v1.RejectReason_REJECT_REASON_FORBIDDEN_FIELD, false, "client.status"},
		{"worker_deletes_client", worker, ch(held, "client", "deleted", sample.Tombstone("entered_in_error"), after), state("client", "given_name=a1"), time.Time{}, v1.RejectReason_REJECT_REASON_FORBIDDEN_FIELD, false, "client.deleted"},
		{"supervisor_deletes_client", supervisor, ch(held, "client", "deleted", sample.Tombstone("entered_in_error"), after), state("client", "given_name=a1"), time.Time{}, 0, false, ""},
		{"admin_deletes_client", admin, ch(held, "client", "deleted", sample.Tombstone("entered_in_error"), after), state("client", "given_name=a1"), time.Time{}, 0, false, ""},

		// Contact authorship.
		{"new_contact_author_is_caller", worker, ch(held, "contact", "author", sample.Str("w1"), after), nil, time.Time{}, 0, false, ""},
		{"new_contact_author_is_someone_else", worker, ch(held, "contact", "author", sample.Str("w2"), after), nil, time.Time{}, v1.RejectReason_REJECT_REASON_FORBIDDEN_FIELD, false, "must be the person making it"},
		{"author_rewritten_by_author", worker, ch(held, "contact", "author", sample.Str("w1"), after), ownContact, time.Time{}, v1.RejectReason_REJECT_REASON_FORBIDDEN_FIELD, false, "fixed"},
		{"author_taken_by_coworker", worker, ch(held, "contact", "author", sample.Str("w1"), after), othersContact, time.Time{}, v1.RejectReason_REJECT_REASON_FORBIDDEN_FIELD, false, "fixed"},
		{"author_taken_by_supervisor", supervisor, ch(held, "contact", "author", sample.Str("s1"), after), othersContact, time.Time{}, v1.RejectReason_REJECT_REASON_FORBIDDEN_FIELD, false, "fixed"},
		{"author_edits_notes", worker, ch(held, "contact", "notes", x, after), ownContact, time.Time{}, 0, false, ""},
		{"coworker_edits_notes", worker, ch(held, "contact", "notes", x, after), othersContact, time.Time{}, v1.RejectReason_REJECT_REASON_FORBIDDEN_FIELD, false, "made this contact"},
		{"coworker_deletes_contact", worker, ch(held, "contact", "deleted", sample.Tombstone("entered_in_error"), after), othersContact, time.Time{}, v1.RejectReason_REJECT_REASON_FORBIDDEN_FIELD, false, "made this contact"},
		{"supervisor_corrects_notes", supervisor, ch(held, "contact", "notes", x, after), othersContact, time.Time{}, 0, false, ""},
		{"admin_corrects_notes", admin, ch(held, "contact", "notes", x, after), othersContact, time.Time{}, 0, false, ""},
		// The same authorship for appointments (colleagues may record their
		// outcomes) and TOPs (like contacts).
		{"new_appointment_author_is_caller", worker, ch(held, "appointment", "author", sample.Str("w1"), after), nil, time.Time{}, 0, false, ""},
		{"new_appointment_in_a_colleagues_name", worker, ch(held, "appointment", "author", sample.Str("w2"), after), nil, time.Time{}, v1.RejectReason_REJECT_REASON_FORBIDDEN_FIELD, false, "appointment's author must be"},
		{"appointment_author_rewritten", worker, ch(held, "appointment", "author", sample.Str("w1"), after), othersAppointment, time.Time{}, v1.RejectReason_REJECT_REASON_FORBIDDEN_FIELD, false, "fixed"},
		{"appointment_author_rewritten_by_supervisor", supervisor, ch(held, "appointment", "author", sample.Str("s1"), after), othersAppointment, time.Time{}, v1.RejectReason_REJECT_REASON_FORBIDDEN_FIELD, false, "fixed"},
		{"coworker_records_attendance", worker, ch(held, "appointment", "status", sample.Str("attended"), after), othersAppointment, time.Time{}, 0, false, ""},
		{"new_top_in_a_colleagues_name", worker, ch(held, "outcome_review", "author", sample.Str("w2"), after), nil, time.Time{}, v1.RejectReason_REJECT_REASON_FORBIDDEN_FIELD, false, "outcome_review's author must be"},
		{"coworker_edits_top", worker, ch(held, "outcome_review", "notes", x, after), othersTOP, time.Time{}, v1.RejectReason_REJECT_REASON_FORBIDDEN_FIELD, false, "made this outcome_review"},
		{"supervisor_corrects_top", supervisor, ch(held, "outcome_review", "notes", x, after), othersTOP, time.Time{}, 0, false, ""},
		{"contact_change_to_a_goal_is_left_to_the_type_check", worker, ch(held, "contact", "notes", x, after), ownGoal, time.Time{}, 0, false, ""},

		// Late work: when it was made and when it arrives.
		{"stamped_while_assigned_arrives_late", worker, ch(former, "contact", "notes", x, before), nil, time.Time{}, 0, true, ""},
		{"stamped_after_access_ended", worker, ch(former, "contact", "notes", x, after), nil, time.Time{}, v1.RejectReason_REJECT_REASON_ACCESS_ENDED, false, "20 Nov 2026"},
		{"stamped_before_assignment", worker, ch(former, "contact", "notes", x, assigned.Add(-time.Hour)), nil, time.Time{}, v1.RejectReason_REJECT_REASON_ACCESS_ENDED, false, "ended"},
		{"arrives_on_the_windows_last_instant", worker, ch(former, "contact", "notes", x, before), nil, ended.Add(DefaultLateWorkWindow), 0, true, ""},
		{"arrives_after_the_window", worker, ch(former, "contact", "notes", x, before), nil, ended.Add(DefaultLateWorkWindow + time.Millisecond), v1.RejectReason_REJECT_REASON_ACCESS_ENDED, false, "14 days"},
		{"device_told_to_evict", worker, ch(told, "contact", "notes", x, before), nil, time.Time{}, v1.RejectReason_REJECT_REASON_ACCESS_ENDED, false, "removed from this tablet"},
		{"device_told_after_an_earlier_period", worker, ch(again, "contact", "notes", x, before), nil, time.Time{}, 0, true, ""},
		{"work_of_the_earlier_period_after_told", worker, ch(again, "contact", "notes", x, assigned.Add(time.Hour)), nil, time.Time{}, v1.RejectReason_REJECT_REASON_ACCESS_ENDED, false, "removed from this tablet"},

		// Late work: what it may touch.
		{"late_own_new_contact_author", worker, ch(former, "contact", "author", sample.Str("w1"), before), nil, time.Time{}, 0, true, ""},
		{"late_new_contact_in_someone_elses_name", worker, ch(former, "contact", "author", sample.Str("w2"), before), nil, time.Time{}, v1.RejectReason_REJECT_REASON_FORBIDDEN_FIELD, false, "author"},
		{"late_edit_own_contact", worker, ch(former, "contact", "notes", x, before), ownContact, time.Time{}, 0, true, ""},
		{"late_edit_coworkers_contact", worker, ch(former, "contact", "notes", x, before), othersContact, time.Time{}, v1.RejectReason_REJECT_REASON_ACCESS_ENDED, false, "someone else's"},
		{"late_new_goal", worker, ch(former, "goal", "status", sample.Str("open"), before), nil, time.Time{}, 0, true, ""},
		{"late_new_referral", worker, ch(former, "referral", "status", sample.Str("made"), before), nil, time.Time{}, 0, true, ""},
		{"late_edit_own_goal", worker, ch(former, "goal", "status", sample.Str("achieved"), before), ownGoal, time.Time{}, 0, true, ""},
		{"late_edit_goal_someone_changed", worker, ch(former, "goal", "status", sample.Str("achieved"), before), touchedGoal, time.Time{}, v1.RejectReason_REJECT_REASON_ACCESS_ENDED, false, "someone else's"},
		{"late_rename_client", worker, ch(former, "client", "given_name", x, before), state("client", "given_name=a1"), time.Time{}, v1.RejectReason_REJECT_REASON_ACCESS_ENDED, false, "client's record"},
		{"late_keyworker_notes", worker, ch(former, "client", "keyworker_notes", x, before), state("client", "keyworker_notes=w1"), time.Time{}, v1.RejectReason_REJECT_REASON_ACCESS_ENDED, false, "client's record"},
		{"late_remove_risk_flag", worker, ch(former, "client", "risk_flags", sample.Remove("violence", at(assigned)), before), state("client", "given_name=a1"), time.Time{}, v1.RejectReason_REJECT_REASON_ACCESS_ENDED, false, "ended"},
		{"late_remove_substance_from_own_contact", worker, ch(former, "contact", "substances", sample.Remove("opiates", at(assigned)), before), ownContact, time.Time{}, v1.RejectReason_REJECT_REASON_ACCESS_ENDED, false, "removed"},
		{"late_answer_to_query", worker, ch(former, "review_note", "worker_response", x, before), state("review_note", "text=s1"), time.Time{}, v1.RejectReason_REJECT_REASON_ACCESS_ENDED, false, "review notes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := tt.now
			if now.IsZero() {
				now = ended.Add(48 * time.Hour)
			}
			p := &Push{ID: tt.id, Now: now, Window: DefaultLateWorkWindow,
				Evicted: map[string]time.Time{told: ended, again: assigned.Add(48 * time.Hour)}}
			got := p.Decide(tt.ch, tt.current)
			if got.Reason != tt.reason || got.Late != tt.late {
				t.Fatalf("Decide() = %+v, want reason %v late %v", got, tt.reason, tt.late)
			}
			if !strings.Contains(got.Message, tt.msg) {
				t.Fatalf("message %q lacks %q", got.Message, tt.msg)
			}
		})
	}
}
