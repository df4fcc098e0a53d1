package syncengine_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// A worker taken off a client may still deliver the work they did while
// they held it (their own new records, edits of records they created),
// flagged late; nothing else, whatever the device stamps it with.
func TestLateWorkIsLimitedToOwnRecords(t *testing.T) {
	w := newLateWorld(t, syncengine.Config{})
	d, c := w.w1.dev, w.client
	before := w.end.Add(-time.Hour)
	var lateContact, lateGoal string
	// one is a row's push of a single change.
	one := func(rt, record, field string, v *v1.Value) func() []*v1.Change {
		return func() []*v1.Change { return []*v1.Change{d.Change(rt, record, c, field, v, nil)} }
	}
	tests := []struct {
		name    string
		changes func() []*v1.Change
		want    string
	}{
		{"contact_logged_before_the_reassignment", func() []*v1.Change {
			var chs []*v1.Change
			lateContact, chs = d.NewContact(c, before)
			return chs
		}, "late"},
		{"own_new_goal", func() []*v1.Change {
			var chs []*v1.Change
			lateGoal, chs = goal(d, c)
			return chs
		}, "late"},
		{"edit_own_contact", one("contact", w.own, "outcome", sample.Str("Seen at home")), "late"},
		{"edit_own_goal", one("goal", w.ownGoal, "status", sample.Str("achieved")), "late"},
		{"rename_the_client", one("client", c, "given_name", sample.Str("Renamed")), "access_ended"},
		{"overwrite_keyworker_notes", one("client", c, "keyworker_notes", sample.Str("Overwritten")), "access_ended"},
		{"remove_violence_flag", one("client", c, "risk_flags", sample.Remove("violence", observed(w.record(c), "risk_flags", "violence")...)), "access_ended"},
		{"remove_substance_from_own_contact", one("contact", w.drugTest, "substances", sample.Remove("opiates", observed(w.record(w.drugTest), "substances", "opiates")...)), "access_ended"},
		{"edit_coworkers_contact", one("contact", w.coworkers, "notes", sample.Str("Overwritten")), "access_ended"},
		{"edit_goal_the_supervisor_changed", one("goal", w.touchedGoal, "description", sample.Str("Overwritten")), "access_ended"},
		{"answer_the_supervisors_query", one("review_note", w.note, "worker_response", sample.Str("Done")), "access_ended"},
		{"contact_stamped_after_access_ended", func() []*v1.Change {
			_, chs := d.NewContact(c, w.end.Add(time.Hour))
			return at(w.end.Add(time.Hour), chs...)
		}, "access_ended"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chs := tt.changes()
			if tt.name != "contact_stamped_after_access_ended" {
				chs = at(before, chs...)
			}
			resp, err := w.push(w.w1, chs)
			for i, got := range verdicts(resp, err) {
				if got != tt.want {
					t.Errorf("change %d (%s.%s): got %s, want %s", i, chs[min(i, len(chs)-1)].GetRecordType(), chs[min(i, len(chs)-1)].GetField(), got, tt.want)
				}
				if r := resp.GetResults(); tt.want != "late" && i < len(r) && r[i].GetMessage() == "" {
					t.Errorf("change %d refused without a message for the tablet", i)
				}
			}
		})
	}

	// What the others wrote is untouched.
	st := w.record(c)
	if got := merge.Field(st, "given_name").GetValue().GetStringValue(); got == "Renamed" {
		t.Error("the client was renamed")
	}
	if got := w.value(c, "keyworker_notes").GetStringValue(); got != "Keyworker's running notes" {
		t.Errorf("keyworker notes = %q", got)
	}
	if flags := merge.SetMembers(merge.Field(st, "risk_flags").GetValue().GetSetState()); !slices.Contains(flags, "violence") || !slices.Contains(flags, "lone_working") {
		t.Errorf("risk flags = %v, want violence and lone_working kept", flags)
	}
	if got := w.value(w.coworkers, "notes").GetStringValue(); got == "Overwritten" {
		t.Error("the co-worker's contact was overwritten")
	}
	// Accepted late work is flagged for the supervisor.
	late, err := w.st.LateRecords(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{lateContact, lateGoal, w.own, w.ownGoal} {
		if !slices.Contains(late, id) {
			t.Errorf("record %s is not in the late index %v", id, late)
		}
	}
	h, err := w.st.History(context.Background(), c, lateContact)
	if err != nil || len(h) == 0 {
		t.Fatalf("history of the late contact: %v, %v", h, err)
	}
	for _, e := range h {
		if !e.GetLate() {
			t.Errorf("history entry %s of the late contact is not flagged late", e.GetField())
		}
	}
}

// Late work is accepted for a window after access ended, measured on the
// server's clock when the push arrives; after it, it is refused and the
// tablet is told why.
func TestLateWorkWindow(t *testing.T) {
	tests := []struct {
		name   string
		window time.Duration
		after  time.Duration // how long after access ended the push arrives
		want   string
		msg    string
	}{
		{"default_within", 0, 14 * day, "late", ""},
		{"default_past", 0, 14*day + time.Second, "access_ended", "14 days"},
		{"configured_within", 3 * day, 3 * day, "late", ""},
		{"configured_past", 3 * day, 3*day + time.Minute, "access_ended", "3 days"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newLateWorld(t, syncengine.Config{LateWorkWindow: tt.window})
			w.now = w.end.Add(tt.after)
			_, chs := w.w1.dev.NewContact(w.client, w.end.Add(-time.Hour))
			resp, err := w.push(w.w1, at(w.end.Add(-time.Hour), chs...))
			for i, got := range verdicts(resp, err) {
				if got != tt.want {
					t.Fatalf("change %d: got %s, want %s", i, got, tt.want)
				}
				if msg := resp.GetResults()[i].GetMessage(); !strings.Contains(msg, tt.msg) {
					t.Fatalf("message %q lacks %q", msg, tt.msg)
				}
			}
		})
	}
}

// Once a device has been sent the eviction of a client, it sends no more
// late work for it, even after a restart of the server; another device of
// the same worker, not yet told, still may. A later assignment and its
// ending start over.
func TestNoLateWorkAfterEvictionDelivered(t *testing.T) {
	w := newLateWorld(t, syncengine.Config{})
	w1held := *w.w1.id
	w1held.Buckets, w1held.Former = []string{w.client}, nil
	other := w.device(w.w1, 9)
	cursor, _ := w.pull(&actor{id: &w1held, dev: w.w1.dev}, nil)
	before := w.end.Add(-time.Hour)
	lateContact := func(a *actor) []*v1.Change {
		_, chs := a.dev.NewContact(w.client, before)
		return at(before, chs...)
	}

	w.pushAll(w.w1, lateContact(w.w1), "late") // synced before the device pulled
	if _, evicted := w.pull(w.w1, cursor); !slices.Equal(evicted, []string{w.client}) {
		t.Fatalf("evicted %v, want the client", evicted)
	}
	w.pushAll(w.w1, lateContact(w.w1), "access_ended")
	w.pushAll(other, lateContact(other), "late")
	w.restart()
	w.pushAll(w.w1, lateContact(w.w1), "access_ended")

	// The worker gets the client back, then loses it again: work of the
	// second period may be delivered until this eviction is delivered.
	again, end2 := w.end.Add(3*day), w.end.Add(5*day)
	w.now = again
	cursor, _ = w.pull(&actor{id: &w1held, dev: w.w1.dev}, nil)
	w.w1.id.Former[w.client] = append(w.w1.id.Former[w.client], identity.Period{From: again, To: end2})
	w.now = end2.Add(time.Hour)
	before = end2.Add(-time.Hour)
	w.pushAll(w.w1, lateContact(w.w1), "late")
	w.pull(w.w1, cursor)
	w.pushAll(w.w1, lateContact(w.w1), "access_ended")
}
