package review

import (
	"slices"
	"testing"
	"time"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// conflictOnClient makes two of w1's devices edit a client's record
// concurrently.
func conflictOnClient(t *testing.T, w *world, client string) {
	t.Helper()
	base := merge.Field(w.record(client, client), "housing_status").GetStamp()
	other := sample.NewDevice(w.w1.UserID, w.clock.Now, 43)
	w.edit(w.dev1, "client", client, client, "housing_status", sample.Str("settled_tenancy"), base)
	w.clock.Advance(time.Second)
	other.Observe(merge.Field(w.record(client, client), "housing_status").GetStamp())
	w.edit(other, "client", client, client, "housing_status", sample.Str("rough_sleeping"), base)
	if len(w.record(client, client).GetConflicts()) != 1 {
		t.Fatal("setup: no conflict on the client record")
	}
}

// The queue marks and filters contacts that recorded a missed appointment
// and follow-ups that are overdue (the clock stands at 16 March), and
// counts every match and each client's conflicted records.
func TestQueueMissedAndOverdue(t *testing.T) {
	w := newWorld(t)
	followUp := func(d int) sample.Field { return sample.Field{Name: "follow_up_date", Value: sample.Date(2026, 3, d)} }
	dna := sample.Field{Name: "attendance", Value: sample.Str("did_not_attend")}
	// c1: a follow-up on the 9th, but seen again on the 10th.
	done := w.contact(w.dev1, w.c1, at(2, 10), "general", followUp(9))
	seenAgain := w.contact(w.dev1, w.c1, at(10, 10), "general")
	// c2: a DNA recorded on a contact; the last contact's follow-up (12th) passed.
	missedOnContact := w.contact(w.dev1, w.c2, at(4, 10), "treatment_attendance", dna)
	overdue := w.contact(w.dev1, w.c2, at(5, 10), "general", followUp(12))
	// c6: an appointment DNA names the contact that recorded it; the last
	// contact's follow-up is in the future, and the one due today is not
	// overdue yet.
	recorded := w.contact(w.dev1, w.c6, at(6, 10), "general", followUp(16))
	appt := w.appointment(w.dev1, w.c6, at(6, 9), "keywork", "did_not_attend", "forgot")
	w.edit(w.dev1, "appointment", w.c6, appt, "contact_id", sample.Str(recorded), nil)
	later := w.contact(w.dev1, w.c6, at(14, 10), "general", followUp(20))
	conflictOnClient(t, w, w.c2)
	_ = done

	list := func(f *v1.ContactFilter) *v1.ListContactsResponse {
		t.Helper()
		resp, err := w.svc.ListContacts(w.ctx, w.supA1, &v1.ListContactsRequest{Filter: f, PageSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	all := list(nil)
	if all.GetTotal() != 6 || len(all.GetContacts()) != 2 || all.GetNextPageToken() == "" {
		t.Fatalf("the first page of 2: total %d, %d contacts, token %q; want 6, 2 and a token", all.GetTotal(), len(all.GetContacts()), all.GetNextPageToken())
	}
	for _, tc := range []struct {
		name   string
		filter *v1.ContactFilter
		want   []string
	}{
		{"missed", &v1.ContactFilter{MissedOnly: true}, []string{recorded, missedOnContact}},
		{"overdue", &v1.ContactFilter{FollowUpOverdueOnly: true}, []string{overdue}},
		{"missed and overdue", &v1.ContactFilter{MissedOnly: true, FollowUpOverdueOnly: true}, nil},
	} {
		resp := list(tc.filter)
		var got []string
		for _, c := range resp.GetContacts() {
			got = append(got, c.GetRecord().GetRecordId())
		}
		if !slices.Equal(got, tc.want) || resp.GetTotal() != uint32(len(tc.want)) {
			t.Errorf("%s: %v (total %d), want %v", tc.name, got, resp.GetTotal(), tc.want)
		}
	}
	// The marks and the conflict count, on every contact.
	resp, err := w.svc.ListContacts(w.ctx, w.supA1, &v1.ListContactsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	type marks struct {
		missed, overdue bool
		conflicts       uint32
	}
	want := map[string]marks{done: {}, seenAgain: {}, missedOnContact: {missed: true, conflicts: 1}, overdue: {overdue: true, conflicts: 1},
		recorded: {missed: true}, later: {}}
	for _, c := range resp.GetContacts() {
		got := marks{c.GetMissedAppointment(), c.GetFollowUpOverdue(), c.GetClientConflicts()}
		if got != want[c.GetRecord().GetRecordId()] {
			t.Errorf("contact %s of %s: %+v, want %+v", c.GetRecord().GetRecordId(), c.GetClientName(), got, want[c.GetRecord().GetRecordId()])
		}
	}
}
