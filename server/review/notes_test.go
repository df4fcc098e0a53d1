package review

import (
	"testing"

	"github.com/throughcare/throughcare/server/errkind"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// TestReviewDecisionsOnOneNote pins how each decision changes a contact's
// note: which note it writes (the first note, or the same one), its text
// and state, what a repeat writes (nothing), and what it refuses.
func TestReviewDecisionsOnOneNote(t *testing.T) {
	const (
		reviewed = v1.ReviewDecision_REVIEW_DECISION_REVIEWED
		query    = v1.ReviewDecision_REVIEW_DECISION_QUERY
		resolved = v1.ReviewDecision_REVIEW_DECISION_RESOLVED
	)
	w := newWorld(t)
	k := w.contact(w.dev1, w.c1, at(10, 9), "housing")
	head := func() uint64 {
		h, err := w.st.Heads(w.ctx, []string{w.c1})
		if err != nil {
			t.Fatal(err)
		}
		return h[w.c1]
	}
	var note string
	for _, step := range []struct {
		name      string
		decision  v1.ReviewDecision
		comment   string
		wantErr   errkind.Kind
		wantWrite bool
		wantText  string
		wantState string
	}{
		{"reviewed with a comment", reviewed, "  Fine.  ", 0, true, "Fine.", "reviewed"},
		{"resolve a reviewed note", resolved, "", errkind.Precondition, false, "Fine.", "reviewed"},
		{"same comment again", reviewed, "Fine.", 0, false, "Fine.", "reviewed"},
		{"no comment keeps the text", reviewed, "", 0, false, "Fine.", "reviewed"},
		{"a new comment", reviewed, "Good.", 0, true, "Good.", "reviewed"},
		{"query an unanswered note", query, "Which hostel?", 0, true, "Which hostel?", "query_to_worker"},
		{"reviewed without a comment", reviewed, "", 0, true, "Which hostel?", "reviewed"},
		{"query again", query, "Which hostel?", 0, true, "Which hostel?", "query_to_worker"},
		{"resolve it", resolved, "Sorted.", 0, true, "Sorted.", "resolved"},
		{"resolve again", resolved, "", 0, false, "Sorted.", "resolved"},
	} {
		before := head()
		got, err := w.svc.ReviewContact(w.ctx, w.supA1, &v1.ReviewContactRequest{ClientId: w.c1, ContactId: k, Decision: step.decision, Comment: step.comment})
		wantKind(t, step.name, err, step.wantErr)
		if err == nil {
			if note == "" {
				note = got
			}
			if got != note {
				t.Errorf("%s: wrote note %s, want the contact's note %s", step.name, got, note)
			}
		}
		if wrote := head() != before; wrote != step.wantWrite {
			t.Errorf("%s: wrote %v, want %v", step.name, wrote, step.wantWrite)
		}
		n := w.record(w.c1, note)
		if fieldStr(n, "subject_id") != k || fieldStr(n, "text") != step.wantText || fieldStr(n, "state") != step.wantState {
			t.Errorf("%s: note about %s says %q, %q; want %q, %q", step.name, fieldStr(n, "subject_id"), fieldStr(n, "text"), fieldStr(n, "state"), step.wantText, step.wantState)
		}
	}
}
