package syncengine_test

import (
	"slices"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// A new record is created whole or not at all: when the caller may not
// write one of its required fields, every change to it is refused; when a
// required field is missing, the push is refused whole, for late work as
// for any other. A client the caller never held stays not found, whether
// or not it exists.
func TestRequiredFieldsAfterAuthorization(t *testing.T) {
	w := newLateWorld(t, syncengine.Config{})
	before := w.end.Add(-time.Hour)
	w3 := w.actor("w3", w.w2.id.Role, 7) // never held the client
	missing := w3.dev.NewID()            // nor does this client exist
	var refusedNote, partNote, othersContact string
	note := func(a *actor, id string, fields ...string) []*v1.Change {
		all := map[string]*v1.Value{
			"subject_id":      sample.Str(w.coworkers),
			"text":            sample.Str("Looks fine"),
			"state":           sample.Str("reviewed"),
			"worker_response": sample.Str("Thanks"),
		}
		var fs []sample.Field
		for _, f := range fields {
			fs = append(fs, sample.Field{Name: f, Value: all[f]})
		}
		return a.dev.Record("review_note", id, w.client, fs)
	}
	notesOnly := func(a *actor, client string) []*v1.Change {
		return []*v1.Change{a.dev.Change("contact", a.dev.NewID(), client, "notes", sample.Str("Just notes"), nil)}
	}
	tests := []struct {
		name    string
		by      *actor
		changes func() []*v1.Change
		want    []string // or, with every set, every change's verdict
		every   string
		absent  *string // a record that must not exist afterwards
	}{
		{"worker_writes_whole_review_note", w.w2, func() []*v1.Change {
			refusedNote = w.w2.dev.NewID()
			return note(w.w2, refusedNote, "subject_id", "text", "state", "worker_response")
		}, []string{"forbidden_field", "forbidden_field", "forbidden_field", "forbidden_field"}, "", &refusedNote},
		{"worker_writes_only_the_response", w.w2, func() []*v1.Change {
			partNote = w.w2.dev.NewID()
			return note(w.w2, partNote, "worker_response")
		}, []string{"refused whole: missing_required subject_id", "refused whole: missing_required text", "refused whole: missing_required state"}, "", &partNote},
		{"contact_in_someone_elses_name", w.w2, func() []*v1.Change {
			var chs []*v1.Change
			othersContact, chs = w.w2.dev.NewContact(w.client, w.now)
			for _, ch := range chs {
				if ch.GetField() == "author" {
					ch.Value = sample.Str(w.sup.id.UserID)
				}
			}
			return chs
		}, nil, "forbidden_field", &othersContact},
		{"late_notes_only_contact", w.w1, func() []*v1.Change {
			return at(before, notesOnly(w.w1, w.client)...)
		}, []string{"refused whole: missing_required occurred_at", "refused whole: missing_required category",
			"refused whole: missing_required mode", "refused whole: missing_required author"}, "", nil},
		{"never_held_client_that_exists", w3, func() []*v1.Change { return notesOnly(w3, w.client) }, []string{"not_found"}, "", nil},
		{"never_held_client_that_does_not_exist", w3, func() []*v1.Change { return notesOnly(w3, missing) }, []string{"not_found"}, "", nil},
	}
	var notFound []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chs := tt.changes()
			resp, err := w.push(tt.by, chs)
			got, want := verdicts(resp, err), tt.want
			if tt.every != "" {
				want = slices.Repeat([]string{tt.every}, len(chs))
			}
			if !slices.Equal(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
			if tt.absent != nil && w.record(*tt.absent) != nil {
				t.Fatalf("the record was created: %v", w.record(*tt.absent))
			}
			if slices.Equal(want, []string{"not_found"}) {
				notFound = append(notFound, resp.GetResults()[0].GetMessage())
			}
		})
	}
	if len(notFound) == 2 && notFound[0] != notFound[1] {
		t.Errorf("a client out of reach reads differently when it exists (%q) and when it does not (%q)", notFound[0], notFound[1])
	}
}

// A contact's author is the person who logged it, for good: nobody may
// change it afterwards. Its other fields are changed by its author, or
// corrected by a supervisor or admin under their own name; a co-assigned
// worker may not.
func TestContactAuthorshipIsFixed(t *testing.T) {
	w := newWorld(t, syncengine.Config{})
	contact, chs := w.w1.dev.NewContact(w.client, w.now)
	w.pushAll(w.w1, chs, "applied")
	edit := func(a *actor, field string, v *v1.Value) []*v1.Change {
		return []*v1.Change{a.dev.Change("contact", contact, w.client, field, v, merge.Field(w.record(contact), field).GetStamp())}
	}
	tests := []struct {
		name  string
		by    *actor
		field string
		value *v1.Value
		want  string
	}{
		{"coworker_edits_notes", w.w2, "notes", sample.Str("Rewritten by a colleague"), "forbidden_field"},
		{"coworker_takes_authorship", w.w2, "author", sample.Str("w2"), "forbidden_field"},
		{"supervisor_takes_authorship", w.sup, "author", sample.Str("sup"), "forbidden_field"},
		{"author_rewrites_authorship", w.w1, "author", sample.Str("w1"), "forbidden_field"},
		{"author_edits_notes", w.w1, "notes", sample.Str("Added detail"), "applied"},
		{"supervisor_corrects_notes", w.sup, "notes", sample.Str("Corrected"), "applied"},
		{"admin_corrects_outcome", w.admin, "outcome", sample.Str("Corrected"), "applied"},
		{"coworker_deletes_it", w.w2, "deleted", sample.Tombstone("entered_in_error"), "forbidden_field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.now = w.now.Add(time.Minute) // each edit after the one before
			resp, err := w.push(tt.by, edit(tt.by, tt.field, tt.value))
			if got := verdicts(resp, err); !slices.Equal(got, []string{tt.want}) {
				t.Fatalf("got %v, want %s", got, tt.want)
			}
		})
	}
	st := w.record(contact)
	if got := merge.Field(st, "author").GetValue().GetStringValue(); got != "w1" {
		t.Errorf("author = %q, want w1", got)
	}
	if f := merge.Field(st, "notes"); f.GetValue().GetStringValue() != "Corrected" || f.GetAuthor().GetUserId() != "sup" {
		t.Errorf("notes = %v: want the supervisor's correction, recorded under their name", f)
	}
	if merge.IsDeleted(st) {
		t.Error("a colleague deleted the contact")
	}
}

// Only supervisors and admins may delete (tombstone) a client.
func TestClientTombstoneIsForSupervisors(t *testing.T) {
	w := newWorld(t, syncengine.Config{})
	for _, tt := range []struct {
		name string
		by   *actor
		want string
	}{
		{"worker", w.w1, "forbidden_field"},
		{"supervisor", w.sup, "applied"},
		{"admin", w.admin, "applied"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := w.push(tt.by, []*v1.Change{tt.by.dev.Change("client", w.client, w.client, "deleted", sample.Tombstone("entered_in_error"), nil)})
			if got := verdicts(resp, err); !slices.Equal(got, []string{tt.want}) {
				t.Fatalf("got %v, want %s", got, tt.want)
			}
		})
	}
}
