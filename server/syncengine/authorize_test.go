package syncengine

import (
	"strings"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/identity"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/hlc"
	"github.com/throughcare/throughcare/syncproto/sample"
)

func TestAuthorize(t *testing.T) {
	const (
		held   = "0193b5a0-0000-7000-8000-000000000001"
		former = "0193b5a0-0000-7000-8000-000000000002"
		never  = "0193b5a0-0000-7000-8000-000000000003"
	)
	assigned := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	ended := time.Date(2026, 11, 20, 17, 0, 0, 0, time.UTC)
	worker := &identity.Identity{UserID: "w1", DeviceID: "d1", Role: identity.Worker, Buckets: []string{held},
		Former: map[string][]identity.Period{former: {{From: assigned, To: ended}}}}
	supervisor := &identity.Identity{UserID: "s1", DeviceID: "d2", Role: identity.Supervisor, Buckets: []string{held}}
	at := func(t time.Time) *v1.Stamp { return &v1.Stamp{Time: hlc.Pack(t.UnixMilli(), 0), Replica: "d1"} }
	ch := func(client, rt, field string, v *v1.Value, when time.Time) *v1.Change {
		return &v1.Change{ClientId: client, RecordType: rt, Field: field, Value: v, Stamp: at(when)}
	}
	before, after := ended.Add(-time.Hour), ended.Add(time.Hour)
	tests := []struct {
		name   string
		id     *identity.Identity
		ch     *v1.Change
		reason v1.RejectReason
		late   bool
		msg    string
	}{
		{"own_caseload", worker, ch(held, "contact", "notes", sample.Str("x"), after), 0, false, ""},
		{"never_assigned", worker, ch(never, "contact", "notes", sample.Str("x"), before), v1.RejectReason_REJECT_REASON_NOT_FOUND, false, "not found"},
		{"stamped_while_assigned_arrives_late", worker, ch(former, "contact", "notes", sample.Str("x"), before), 0, true, ""},
		{"stamped_after_access_ended", worker, ch(former, "contact", "notes", sample.Str("x"), after), v1.RejectReason_REJECT_REASON_ACCESS_ENDED, false, "20 Nov 2026"},
		{"stamped_before_assignment", worker, ch(former, "contact", "notes", sample.Str("x"), assigned.Add(-time.Hour)), v1.RejectReason_REJECT_REASON_ACCESS_ENDED, false, "ended"},
		{"worker_writes_review_text", worker, ch(held, "review_note", "text", sample.Str("x"), after), v1.RejectReason_REJECT_REASON_FORBIDDEN_FIELD, false, "review_note.text"},
		{"supervisor_writes_review_text", supervisor, ch(held, "review_note", "text", sample.Str("x"), after), 0, false, ""},
		{"worker_answers_query", worker, ch(held, "review_note", "worker_response", sample.Str("x"), after), 0, false, ""},
		{"supervisor_writes_worker_answer", supervisor, ch(held, "review_note", "worker_response", sample.Str("x"), after), v1.RejectReason_REJECT_REASON_FORBIDDEN_FIELD, false, "worker_response"},
		{"worker_closes_case", worker, ch(held, "client", "status", sample.Str("closed"), after), v1.RejectReason_REJECT_REASON_FORBIDDEN_FIELD, false, "client.status"},
		{"contact_author_is_caller", worker, ch(held, "contact", "author", sample.Str("w1"), after), 0, false, ""},
		{"contact_author_is_someone_else", worker, ch(held, "contact", "author", sample.Str("w2"), after), v1.RejectReason_REJECT_REASON_FORBIDDEN_FIELD, false, "author"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := authorize(tt.id, tt.ch)
			if got.Reason != tt.reason || got.Late != tt.late {
				t.Fatalf("authorize() = %+v, want reason %v late %v", got, tt.reason, tt.late)
			}
			if !strings.Contains(got.Message, tt.msg) {
				t.Fatalf("message %q lacks %q", got.Message, tt.msg)
			}
		})
	}
}
