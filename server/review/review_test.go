package review

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/servertest/fixture"
	"github.com/throughcare/throughcare/server/syncengine"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
	"github.com/throughcare/throughcare/syncproto/protocol"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// Workers may use nothing; a client, contact or team out of reach is
// NotFound whether or not it exists; lists leave it out; a refused export
// leaves no audit entry.
func TestScope(t *testing.T) {
	w := newWorld(t)
	k3 := w.contact(w.dev2, w.c3, at(10, 9), "general") // team A2
	ts := timestamppb.New
	calls := map[string]func(id *identity.Identity) error{
		"ListContacts(client)": func(id *identity.Identity) error {
			_, err := w.svc.ListContacts(w.ctx, id, &v1.ListContactsRequest{Filter: &v1.ContactFilter{ClientId: w.c3}})
			return err
		},
		"ListContacts(team)": func(id *identity.Identity) error {
			_, err := w.svc.ListContacts(w.ctx, id, &v1.ListContactsRequest{Filter: &v1.ContactFilter{TeamId: w.teamA2}})
			return err
		},
		"GetTimeline": func(id *identity.Identity) error { _, err := w.svc.GetTimeline(w.ctx, id, w.c3); return err },
		"ReviewContact": func(id *identity.Identity) error {
			_, err := w.svc.ReviewContact(w.ctx, id, &v1.ReviewContactRequest{ClientId: w.c3, ContactId: k3, Decision: v1.ReviewDecision_REVIEW_DECISION_REVIEWED})
			return err
		},
		"ListConflicts": func(id *identity.Identity) error { _, err := w.svc.ListConflicts(w.ctx, id, w.c3); return err },
		"GetStatistics": func(id *identity.Identity) error {
			_, err := w.svc.GetStatistics(w.ctx, id, &v1.GetStatisticsRequest{TeamId: w.teamA2, From: ts(at(1, 0)), To: ts(at(16, 0))})
			return err
		},
		"ExportContacts": func(id *identity.Identity) error {
			_, err := w.svc.ExportContacts(w.ctx, id, ExportQuery{TeamID: w.teamA2}, RowFunc(func([]string) error { return nil }))
			return err
		},
		"ExportStatistics": func(id *identity.Identity) error {
			_, err := w.svc.ExportStatistics(w.ctx, id, ExportQuery{TeamID: w.teamA2}, RowFunc(func([]string) error { return nil }))
			return err
		},
	}
	for name, call := range calls {
		wantKind(t, name+" by nobody", call(nil), errkind.Unauthenticated)
		wantKind(t, name+" by its worker", call(w.w2), errkind.Forbidden)
		wantKind(t, name+" by another team's supervisor", call(w.supA1), errkind.NotFound)
		wantKind(t, name+" by another area's admin", call(w.adminB), errkind.NotFound)
		if err := call(w.adminA); err != nil {
			t.Errorf("%s by the area's admin: %v", name, err)
		}
	}
	// ResolveConflict answers the same for a missing conflict and a client
	// out of reach.
	_, err := w.svc.ResolveConflict(w.ctx, w.supA1, w.c3, k3, 1, Resolution{Choice: v1.ConflictChoice_CONFLICT_CHOICE_CURRENT})
	wantKind(t, "ResolveConflict out of reach", err, errkind.NotFound)
	_, err = w.svc.ResolveConflict(w.ctx, w.adminA, w.c3, k3, 1, Resolution{Choice: v1.ConflictChoice_CONFLICT_CHOICE_CURRENT})
	wantKind(t, "ResolveConflict of a conflict that never was", err, errkind.NotFound)
	_, err = w.svc.ResolveConflict(w.ctx, w.w2, w.c3, k3, 1, Resolution{Choice: v1.ConflictChoice_CONFLICT_CHOICE_CURRENT})
	wantKind(t, "ResolveConflict by a worker", err, errkind.Forbidden)

	// Lists leave out what is out of reach.
	resp, err := w.svc.ListContacts(w.ctx, w.supA1, &v1.ListContactsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetContacts()) != 0 {
		t.Errorf("supervisor of A1 sees %d contacts of team A2", len(resp.GetContacts()))
	}
	// Refused calls left no audit entry; the admin's exports did, and
	// every view served (lists and timelines) did too.
	kinds := func(area string) map[store.AuditAction]int {
		out := map[store.AuditAction]int{}
		for _, a := range fixture.AreaAudit(t, w.st, area) {
			out[a.Action]++
		}
		return out
	}
	if got := kinds(w.areaA); got[store.AuditExportContacts]+got[store.AuditExportStatistics] != 2 || got[store.AuditViewTimeline] == 0 || got[store.AuditViewContacts] == 0 {
		t.Errorf("area A audit entries by kind: %v, want the admin's 2 exports and the views served", got)
	}
	if got := kinds(w.areaB); len(got) != 0 {
		t.Errorf("area B has audit entries %v for refused calls", got)
	}
}

// Every view of a client's data is audited: who saw which client, when.
func TestViewsAreAudited(t *testing.T) {
	w := newWorld(t)
	if _, err := w.svc.GetTimeline(w.ctx, w.supA1, w.c1); err != nil {
		t.Fatal(err)
	}
	got := fixture.AreaAudit(t, w.st, w.areaA)
	if len(got) != 1 || got[0].Action != store.AuditViewTimeline || got[0].UserID != w.supA1.UserID || got[0].Role != "supervisor" ||
		!slices.Equal(got[0].ClientIDs, []string{w.c1}) || got[0].DeviceID != w.supA1.DeviceID || got[0].Count == 0 {
		t.Fatalf("audit after one timeline view: %+v", got)
	}
}

// queueWorld adds five contacts, one late, one with a conflict, one
// reviewed and one queried.
type queueWorld struct {
	*world
	k1, k2, k3, k4, k5 string
}

func newQueueWorld(t *testing.T) *queueWorld {
	w := &queueWorld{world: newWorld(t)}
	w.k1 = w.contact(w.dev1, w.c1, at(10, 9), "housing")
	w.k2 = w.contact(w.dev1, w.c1, at(11, 9), "treatment_attendance", sample.Field{Name: "attendance", Value: sample.Str("attended")})
	// k3 arrived after w1's access to c2 ended; it was made before.
	w.k3 = w.dev1.NewID()
	w.push(w.dev1, w.dev1.Record("contact", w.k3, w.c2, []sample.Field{
		{Name: "occurred_at", Value: sample.Time(at(12, 9))}, {Name: "category", Value: sample.Str("housing")},
		{Name: "mode", Value: sample.Str("phone")}, {Name: "author", Value: sample.Str(w.w1.UserID)},
	}), func(*v1.Change, *v1.RecordState) syncengine.Decision { return syncengine.Decision{Late: true} })
	w.k4 = w.contact(w.dev2, w.c3, at(13, 9), "employment")
	w.k5 = w.contact(w.dev1, w.c6, at(9, 9), "general")
	// Two tablets of w1 edit k5's notes at once.
	base := merge.Field(w.record(w.c6, w.k5), "notes").GetStamp()
	other := sample.NewDevice(w.w1.UserID, w.clock.Now, 11)
	w.edit(w.dev1, "contact", w.c6, w.k5, "notes", sample.Str("First version"), base)
	w.edit(other, "contact", w.c6, w.k5, "notes", sample.Str("Second version"), base)
	for _, r := range []struct {
		contact  string
		decision v1.ReviewDecision
		comment  string
	}{{w.k1, v1.ReviewDecision_REVIEW_DECISION_REVIEWED, ""}, {w.k2, v1.ReviewDecision_REVIEW_DECISION_QUERY, "Which provider?"}} {
		if _, err := w.svc.ReviewContact(w.ctx, w.supA1, &v1.ReviewContactRequest{ClientId: w.c1, ContactId: r.contact, Decision: r.decision, Comment: r.comment}); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func ids(cs []*v1.ContactSummary) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.GetRecord().GetRecordId())
	}
	return out
}

func TestListContactsFilters(t *testing.T) {
	w := newQueueWorld(t)
	ts := timestamppb.New
	tests := []struct {
		name   string
		caller *identity.Identity
		filter *v1.ContactFilter
		want   []string
	}{
		{"everything, newest first", w.adminA, nil, []string{w.k4, w.k3, w.k2, w.k1, w.k5}},
		{"supervisor sees their team", w.supA1, nil, []string{w.k3, w.k2, w.k1, w.k5}},
		{"worker", w.adminA, &v1.ContactFilter{WorkerId: w.w1.UserID}, []string{w.k3, w.k2, w.k1, w.k5}},
		{"worker out of reach matches nothing", w.supA1, &v1.ContactFilter{WorkerId: w.w2.UserID}, nil},
		{"client", w.adminA, &v1.ContactFilter{ClientId: w.c1}, []string{w.k2, w.k1}},
		{"category", w.adminA, &v1.ContactFilter{Category: "housing"}, []string{w.k3, w.k1}},
		{"from", w.adminA, &v1.ContactFilter{From: ts(at(11, 0))}, []string{w.k4, w.k3, w.k2}},
		{"to", w.adminA, &v1.ContactFilter{To: ts(at(11, 0))}, []string{w.k1, w.k5}},
		{"from inclusive, to exclusive", w.adminA, &v1.ContactFilter{From: ts(at(10, 9)), To: ts(at(12, 9))}, []string{w.k2, w.k1}},
		{"reviewed", w.adminA, &v1.ContactFilter{ReviewState: v1.ReviewState_REVIEW_STATE_REVIEWED}, []string{w.k1}},
		{"query open", w.adminA, &v1.ContactFilter{ReviewState: v1.ReviewState_REVIEW_STATE_QUERY_OPEN}, []string{w.k2}},
		{"unreviewed", w.adminA, &v1.ContactFilter{ReviewState: v1.ReviewState_REVIEW_STATE_UNREVIEWED}, []string{w.k4, w.k3, w.k5}},
		{"late only", w.adminA, &v1.ContactFilter{LateOnly: true}, []string{w.k3}},
		{"conflicts only", w.adminA, &v1.ContactFilter{ConflictsOnly: true}, []string{w.k5}},
		{"team", w.adminA, &v1.ContactFilter{TeamId: w.teamA2}, []string{w.k4}},
		{"everything at once", w.adminA, &v1.ContactFilter{WorkerId: w.w1.UserID, ClientId: w.c1, Category: "treatment_attendance",
			From: ts(at(1, 0)), To: ts(at(16, 0)), ReviewState: v1.ReviewState_REVIEW_STATE_QUERY_OPEN, TeamId: w.teamA1}, []string{w.k2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := w.svc.ListContacts(w.ctx, tc.caller, &v1.ListContactsRequest{Filter: tc.filter})
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(resp.GetContacts()); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			if resp.GetNextPageToken() != "" {
				t.Error("a short list has a next page")
			}
		})
	}

	bad := map[string]*v1.ContactFilter{
		"unknown category":     {Category: "karaoke"},
		"unknown review state": {ReviewState: 99},
		"malformed worker id":  {WorkerId: "w1"},
		"malformed client id":  {ClientId: "c1"},
		"from after to":        {From: ts(at(12, 0)), To: ts(at(11, 0))},
		"invalid time":         {From: &timestamppb.Timestamp{Nanos: -1}},
	}
	for name, f := range bad {
		_, err := w.svc.ListContacts(w.ctx, w.adminA, &v1.ListContactsRequest{Filter: f})
		wantKind(t, name, err, errkind.Invalid)
	}
}

func TestContactSummary(t *testing.T) {
	w := newQueueWorld(t)
	resp, err := w.svc.ListContacts(w.ctx, w.supA1, &v1.ListContactsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]*v1.ContactSummary{}
	for _, c := range resp.GetContacts() {
		by[c.GetRecord().GetRecordId()] = c
	}
	k1 := by[w.k1]
	if k1.GetClientId() != w.c1 || k1.GetClientName() != "Alex Smith" || k1.GetTeamId() != w.teamA1 ||
		k1.GetAuthorId() != w.w1.UserID || k1.GetAuthorName() != "Sam Worker" || k1.GetLate() {
		t.Errorf("k1 summary = %v", k1)
	}
	if k1.GetReviewState() != v1.ReviewState_REVIEW_STATE_REVIEWED || k1.GetReviewNoteId() == "" {
		t.Errorf("k1 review = %v %q, want REVIEWED with its note", k1.GetReviewState(), k1.GetReviewNoteId())
	}
	if !k1.GetSyncedAt().AsTime().Equal(now0) {
		t.Errorf("k1 synced_at = %v, want %v", k1.GetSyncedAt().AsTime(), now0)
	}
	// The record comes as devices get it: compacted, every field there.
	r := k1.GetRecord()
	if r.GetStamp() == nil || r.GetAuthor().GetUserId() != w.w1.UserID || fieldStr(merge.Expand(proto.Clone(r).(*v1.RecordState)), "category") != "housing" {
		t.Errorf("k1 record = %v", r)
	}
	if !by[w.k3].GetLate() || by[w.k3].GetClientName() != "Jo Jones" {
		t.Errorf("k3 = %v, want late, client Jo Jones", by[w.k3])
	}
	if by[w.k2].GetReviewState() != v1.ReviewState_REVIEW_STATE_QUERY_OPEN {
		t.Errorf("k2 state = %v", by[w.k2].GetReviewState())
	}
	if by[w.k5].GetReviewState() != v1.ReviewState_REVIEW_STATE_UNREVIEWED || by[w.k5].GetReviewNoteId() != "" {
		t.Errorf("k5 = %v, want unreviewed without a note", by[w.k5])
	}
	// synced_at moves with the last accepted change.
	w.clock.Advance(time.Hour)
	w.edit(w.dev1, "contact", w.c1, w.k1, "outcome", sample.Str("Seen"), nil)
	resp, _ = w.svc.ListContacts(w.ctx, w.supA1, &v1.ListContactsRequest{Filter: &v1.ContactFilter{ClientId: w.c1, Category: "housing"}})
	if got := resp.GetContacts()[0].GetSyncedAt().AsTime(); !got.Equal(now0.Add(time.Hour)) {
		t.Errorf("synced_at after an edit = %v, want %v", got, now0.Add(time.Hour))
	}
}

func TestListContactsPaging(t *testing.T) {
	w := newWorld(t)
	var want []string
	// 57 contacts; every third pair shares its occurred_at, so ties are
	// broken by id.
	type c struct {
		id string
		at time.Time
	}
	var all []c
	for i := range 57 {
		when := at(1, 0).Add(time.Duration(i/2) * time.Hour)
		all = append(all, c{w.contact(w.dev1, w.c1, when, "general"), when})
	}
	slices.SortFunc(all, func(a, b c) int {
		if cmp := b.at.Compare(a.at); cmp != 0 {
			return cmp
		}
		return strings.Compare(b.id, a.id)
	})
	for _, x := range all {
		want = append(want, x.id)
	}

	// Default page size.
	resp, err := w.svc.ListContacts(w.ctx, w.supA1, &v1.ListContactsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetContacts()) != DefaultPageSize || resp.GetNextPageToken() == "" {
		t.Fatalf("first page has %d contacts (next %q), want %d and more", len(resp.GetContacts()), resp.GetNextPageToken(), DefaultPageSize)
	}
	// Pages of 8 cover everything once, in order.
	var got []string
	token := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging never ended")
		}
		resp, err := w.svc.ListContacts(w.ctx, w.supA1, &v1.ListContactsRequest{PageSize: 8, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetContacts()) > 8 {
			t.Fatalf("page of %d contacts, want at most 8", len(resp.GetContacts()))
		}
		got = append(got, ids(resp.GetContacts())...)
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("paged order:\n got %v\nwant %v", got, want)
	}
	// An exact last page says there is no more.
	resp, _ = w.svc.ListContacts(w.ctx, w.supA1, &v1.ListContactsRequest{PageSize: 57})
	if len(resp.GetContacts()) != 57 || resp.GetNextPageToken() != "" {
		t.Errorf("page of exactly all: %d contacts, next %q", len(resp.GetContacts()), resp.GetNextPageToken())
	}
	// Oversized pages are capped, not refused.
	if _, err := w.svc.ListContacts(w.ctx, w.supA1, &v1.ListContactsRequest{PageSize: 100_000}); err != nil {
		t.Errorf("page_size 100000: %v", err)
	}
	for _, tok := range []string{"garbage!", "AAAA", encodeToken(listKey{})[:10], "Ag" + encodeToken(listKey{})[2:]} {
		_, err := w.svc.ListContacts(w.ctx, w.supA1, &v1.ListContactsRequest{PageToken: tok})
		wantKind(t, "page token "+tok, err, errkind.Invalid)
	}
}

func stateOf(t *testing.T, w *world, caller *identity.Identity, client, contact string) *v1.ContactSummary {
	t.Helper()
	resp, err := w.svc.ListContacts(w.ctx, caller, &v1.ListContactsRequest{Filter: &v1.ContactFilter{ClientId: client}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range resp.GetContacts() {
		if c.GetRecord().GetRecordId() == contact {
			return c
		}
	}
	t.Fatalf("contact %s not listed", contact)
	return nil
}

// A review note goes through its states, syncs to the worker's tablet, and
// takes the worker's answer back.
func TestReviewFlow(t *testing.T) {
	w := newWorld(t)
	k := w.contact(w.dev1, w.c1, at(10, 9), "housing")
	review := func(d v1.ReviewDecision, comment string) (string, error) {
		return w.svc.ReviewContact(w.ctx, w.supA1, &v1.ReviewContactRequest{ClientId: w.c1, ContactId: k, Decision: d, Comment: comment})
	}
	expect := func(step string, want v1.ReviewState, note string) {
		t.Helper()
		s := stateOf(t, w, w.supA1, w.c1, k)
		if s.GetReviewState() != want || s.GetReviewNoteId() != note {
			t.Fatalf("%s: state %v note %s, want %v note %s", step, s.GetReviewState(), s.GetReviewNoteId(), want, note)
		}
	}
	head := func() uint64 {
		h, _ := w.st.Heads(w.ctx, []string{w.c1})
		return h[w.c1]
	}

	_, err := review(v1.ReviewDecision_REVIEW_DECISION_RESOLVED, "")
	wantKind(t, "resolving without a query", err, errkind.Precondition)
	_, err = review(v1.ReviewDecision_REVIEW_DECISION_QUERY, "  ")
	wantKind(t, "a query without a comment", err, errkind.Invalid)
	_, err = review(v1.ReviewDecision_REVIEW_DECISION_UNSPECIFIED, "")
	wantKind(t, "no decision", err, errkind.Invalid)

	note, err := review(v1.ReviewDecision_REVIEW_DECISION_REVIEWED, "")
	if err != nil {
		t.Fatal(err)
	}
	expect("reviewed", v1.ReviewState_REVIEW_STATE_REVIEWED, note)
	n := w.record(w.c1, note)
	if fieldStr(n, "subject_id") != k || fieldStr(n, "text") != defaultReviewedText || fieldStr(n, "state") != "reviewed" {
		t.Fatalf("note = %v", n)
	}
	if a := merge.Field(n, "state").GetAuthor(); a.GetUserId() != w.supA1.UserID || a.GetDeviceId() != ServerDevice {
		t.Fatalf("note written by %v, want the supervisor on the server's device", a)
	}
	// A retry writes nothing.
	before := head()
	if again, err := review(v1.ReviewDecision_REVIEW_DECISION_REVIEWED, ""); err != nil || again != note || head() != before {
		t.Fatalf("retried review: %s %v, head %d → %d", again, err, before, head())
	}

	// A query updates the same note; the worker's tablet gets it.
	if got, err := review(v1.ReviewDecision_REVIEW_DECISION_QUERY, "Where is the client living now?"); err != nil || got != note {
		t.Fatalf("query: %s %v, want note %s", got, err, note)
	}
	expect("queried", v1.ReviewState_REVIEW_STATE_QUERY_OPEN, note)
	pulled := w.pull(w.w1)[note]
	if pulled == nil || fieldStr(pulled, "state") != "query_to_worker" || fieldStr(pulled, "text") != "Where is the client living now?" {
		t.Fatalf("the worker's pull has note %v", pulled)
	}
	before = head()
	if again, err := review(v1.ReviewDecision_REVIEW_DECISION_QUERY, "Where is the client living now?"); err != nil || again != note || head() != before {
		t.Fatalf("retried query: %s %v, head %d → %d", again, err, before, head())
	}

	// The worker answers from the tablet.
	resp, err := w.engine.Push(w.ctx, w.w1, &v1.PushRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1, Changes: []*v1.Change{
		w.dev1.Change("review_note", note, w.c1, "worker_response", sample.Str("With her sister since Friday."), nil)}})
	if err != nil || resp.GetResults()[0].GetVerdict() != v1.Verdict_VERDICT_APPLIED {
		t.Fatalf("worker's answer: %v %v", resp, err)
	}
	expect("answered", v1.ReviewState_REVIEW_STATE_QUERY_ANSWERED, note)

	if got, err := review(v1.ReviewDecision_REVIEW_DECISION_RESOLVED, ""); err != nil || got != note {
		t.Fatalf("resolve: %s %v", got, err)
	}
	expect("resolved", v1.ReviewState_REVIEW_STATE_RESOLVED, note)
	if fieldStr(w.record(w.c1, note), "text") != "Where is the client living now?" {
		t.Fatal("resolving without a comment replaced the query's text")
	}

	// A new question starts a new note; the old one keeps its answer.
	next, err := review(v1.ReviewDecision_REVIEW_DECISION_QUERY, "And the tenancy?")
	if err != nil || next == note {
		t.Fatalf("second query: %s %v, want a new note", next, err)
	}
	expect("queried again", v1.ReviewState_REVIEW_STATE_QUERY_OPEN, next)
	if fieldStr(w.record(w.c1, note), "worker_response") == "" {
		t.Fatal("the first note lost its answer")
	}

	// Contacts that are not there, or not contacts.
	for name, req := range map[string]*v1.ReviewContactRequest{
		"unknown contact":        {ClientId: w.c1, ContactId: newID()},
		"a client, not contact":  {ClientId: w.c1, ContactId: w.c1},
		"contact of another":     {ClientId: w.c2, ContactId: k},
		"malformed contact id":   {ClientId: w.c1, ContactId: "k"},
		"client out of reach":    {ClientId: w.c3, ContactId: k},
		"client of another area": {ClientId: w.cB, ContactId: k},
	} {
		req.Decision = v1.ReviewDecision_REVIEW_DECISION_REVIEWED
		_, err := w.svc.ReviewContact(w.ctx, w.supA1, req)
		wantKind(t, name, err, errkind.NotFound)
	}
	if logs := w.logs.String(); strings.Contains(logs, "living") || strings.Contains(logs, "Alex") {
		t.Errorf("logs carry a comment or a name:\n%s", logs)
	}
}

func TestTimeline(t *testing.T) {
	w := newWorld(t)
	k := w.contact(w.dev1, w.c1, at(10, 9), "housing", sample.Field{Name: "housing_status_after", Value: sample.Str("hostel")})
	base := merge.Field(w.record(w.c1, k), "housing_status_after").GetStamp()
	w.edit(w.dev1, "contact", w.c1, k, "housing_status_after", sample.Str("settled_tenancy"), base)
	note, err := w.svc.ReviewContact(w.ctx, w.supA1, &v1.ReviewContactRequest{ClientId: w.c1, ContactId: k, Decision: v1.ReviewDecision_REVIEW_DECISION_REVIEWED})
	if err != nil {
		t.Fatal(err)
	}
	tl, err := w.svc.GetTimeline(w.ctx, w.supA1, w.c1)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	hist := map[string][]*v1.HistoryEntry{}
	for _, r := range tl.GetRecords() {
		got = append(got, r.GetRecord().GetRecordId())
		hist[r.GetRecord().GetRecordId()] = r.GetHistory()
	}
	rest := []string{k, note}
	slices.Sort(rest)
	if want := append([]string{w.c1}, rest...); !slices.Equal(got, want) {
		t.Fatalf("records %v, want the client first then by id %v", got, want)
	}
	h := hist[k]
	if len(h) != 7 { // six fields logged, one edit
		t.Fatalf("contact history has %d entries, want 7", len(h))
	}
	last := h[len(h)-1]
	if last.GetField() != "housing_status_after" || last.GetValue().GetStringValue() != "settled_tenancy" ||
		last.GetReplacedValue().GetStringValue() != "hostel" || last.GetAuthor().GetDeviceId() != w.dev1.ID || last.GetReceivedAt() == nil {
		t.Fatalf("last change = %v", last)
	}
	for i := 1; i < len(h); i++ {
		if h[i].GetPosition() <= h[i-1].GetPosition() {
			t.Fatal("history not oldest first")
		}
	}
	if a := hist[note][0].GetAuthor(); a.GetUserId() != w.supA1.UserID || a.GetDeviceId() != ServerDevice {
		t.Fatalf("note history author = %v", a)
	}
	names := map[string]string{}
	for _, p := range tl.GetPeople() {
		names[p.GetUserId()] = p.GetDisplayName()
	}
	if len(names) != 2 || names[w.w1.UserID] != "Sam Worker" || names[w.supA1.UserID] != "Sue Supervisor" {
		t.Fatalf("people = %v, want the worker and the supervisor", names)
	}
}

// conflictWorld has two tablets of w1 that edit one field of a contact at
// once; the second edit is the newer.
func conflictOn(t *testing.T, w *world, field string, first, second *v1.Value) (contact string, id uint64) {
	t.Helper()
	k := w.contact(w.dev1, w.c1, at(10, 9), "housing", sample.Field{Name: "outcome", Value: sample.Str("Seen")})
	base := merge.Field(w.record(w.c1, k), field).GetStamp()
	other := sample.NewDevice(w.w1.UserID, w.clock.Now, 42)
	w.edit(w.dev1, "contact", w.c1, k, field, first, base)
	w.clock.Advance(time.Second)
	other.Observe(merge.Field(w.record(w.c1, k), field).GetStamp())
	w.edit(other, "contact", w.c1, k, field, second, base)
	cs := w.record(w.c1, k).GetConflicts()
	if len(cs) != 1 {
		t.Fatalf("setup: %d conflicts, want 1", len(cs))
	}
	return k, cs[0].GetId()
}

func TestConflictResolution(t *testing.T) {
	for _, tc := range []struct {
		name  string
		res   Resolution
		field string
		want  *v1.Value
	}{
		{"current keeps the value shown", Resolution{Choice: v1.ConflictChoice_CONFLICT_CHOICE_CURRENT}, "notes", sample.Str("Second")},
		{"incoming takes the other value", Resolution{Choice: v1.ConflictChoice_CONFLICT_CHOICE_INCOMING}, "notes", sample.Str("First")},
		{"a new value", Resolution{Value: sample.Str("Both right, merged")}, "notes", sample.Str("Both right, merged")},
		{"a new enum value", Resolution{Value: sample.Str("court")}, "mode", sample.Str("court")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			first, second := sample.Str("First"), sample.Str("Second")
			if tc.field == "mode" {
				first, second = sample.Str("phone"), sample.Str("prison")
			}
			k, id := conflictOn(t, w, tc.field, first, second)
			before := w.record(w.c1, k)

			list, err := w.svc.ListConflicts(w.ctx, w.supA1, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(list.GetConflicts()) != 1 {
				t.Fatalf("ListConflicts = %v", list)
			}
			cs := list.GetConflicts()[0]
			if cs.GetClientId() != w.c1 || cs.GetClientName() != "Alex Smith" || cs.GetRecordId() != k || cs.GetRecordType() != "contact" ||
				cs.GetConflict().GetId() != id || cs.GetConflict().GetField() != tc.field {
				t.Fatalf("conflict summary = %v", cs)
			}
			if p := list.GetPeople(); len(p) != 1 || p[0].GetDisplayName() != "Sam Worker" {
				t.Fatalf("people = %v", p)
			}

			pos, err := w.svc.ResolveConflict(w.ctx, w.supA1, w.c1, k, id, tc.res)
			if err != nil {
				t.Fatal(err)
			}
			after := w.record(w.c1, k)
			if len(after.GetConflicts()) != 0 {
				t.Fatalf("conflicts after resolving: %v", after.GetConflicts())
			}
			if got := merge.Field(after, tc.field).GetValue(); !proto.Equal(got, tc.want) {
				t.Fatalf("%s = %v, want %v", tc.field, got, tc.want)
			}
			h, _ := w.st.History(w.ctx, w.c1, k)
			last := h[len(h)-1]
			if last.GetPosition() != pos || !slices.Equal(last.GetResolvedConflicts(), []uint64{id}) || !last.GetWon() ||
				last.GetAuthor().GetUserId() != w.supA1.UserID || last.GetAuthor().GetDeviceId() != ServerDevice ||
				!merge.SameStamp(last.GetBase(), merge.Field(before, tc.field).GetStamp()) {
				t.Fatalf("resolving change in history = %v", last)
			}
			// Both tablets converge on it: whatever each held, merging the
			// server's state gives the resolution.
			server := w.pull(w.w1)[k]
			for _, local := range []*v1.RecordState{before, w.record(w.c1, k)} {
				m := merge.Merge(local, server)
				if !proto.Equal(merge.Field(m, tc.field).GetValue(), tc.want) || len(m.GetConflicts()) != 0 {
					t.Fatalf("a device's merge shows %v with conflicts %v", merge.Field(m, tc.field).GetValue(), m.GetConflicts())
				}
			}
			if list, _ := w.svc.ListConflicts(w.ctx, w.adminA, w.c1); len(list.GetConflicts()) != 0 {
				t.Fatalf("still listed: %v", list)
			}
			_, err = w.svc.ResolveConflict(w.ctx, w.supA1, w.c1, k, id, tc.res)
			wantKind(t, "resolving it again", err, errkind.Precondition)
		})
	}
}

func TestConflictResolutionRefusals(t *testing.T) {
	w := newWorld(t)
	k, id := conflictOn(t, w, "mode", sample.Str("phone"), sample.Str("prison"))
	cur := Resolution{Choice: v1.ConflictChoice_CONFLICT_CHOICE_CURRENT}
	for name, tc := range map[string]struct {
		client, record string
		id             uint64
		res            Resolution
		kind           errkind.Kind
	}{
		"value outside the enumeration": {w.c1, k, id, Resolution{Value: sample.Str("teleport")}, errkind.Invalid},
		"value of the wrong type":       {w.c1, k, id, Resolution{Value: sample.Int(3)}, errkind.Invalid},
		"neither choice nor value":      {w.c1, k, id, Resolution{}, errkind.Invalid},
		"both choice and value":         {w.c1, k, id, Resolution{Choice: v1.ConflictChoice_CONFLICT_CHOICE_CURRENT, Value: sample.Str("court")}, errkind.Invalid},
		"no conflict id":                {w.c1, k, 0, cur, errkind.Invalid},
		"unknown conflict":              {w.c1, k, id + 1000, cur, errkind.NotFound},
		"unknown record":                {w.c1, newID(), id, cur, errkind.NotFound},
		"record in another bucket":      {w.c2, k, id, cur, errkind.NotFound},
	} {
		_, err := w.svc.ResolveConflict(w.ctx, w.supA1, tc.client, tc.record, tc.id, tc.res)
		wantKind(t, name, err, tc.kind)
	}
	if len(w.record(w.c1, k).GetConflicts()) != 1 {
		t.Fatal("a refused resolution changed the record")
	}

	// A supervisor may not write client.area; the admin may.
	a1 := sample.NewDevice(w.adminA.UserID, w.clock.Now, 51)
	a2 := sample.NewDevice(w.adminA.UserID, w.clock.Now, 52)
	base := merge.Field(w.record(w.c1, w.c1), "area").GetStamp()
	w.edit(a1, "client", w.c1, w.c1, "area", sample.Str("Lambeth North"), base)
	w.edit(a2, "client", w.c1, w.c1, "area", sample.Str("Lambeth South"), base)
	cid := w.record(w.c1, w.c1).GetConflicts()[0].GetId()
	_, err := w.svc.ResolveConflict(w.ctx, w.supA1, w.c1, w.c1, cid, cur)
	wantKind(t, "supervisor writing client.area", err, errkind.Forbidden)
	if _, err := w.svc.ResolveConflict(w.ctx, w.adminA, w.c1, w.c1, cid, cur); err != nil {
		t.Fatalf("admin resolving client.area: %v", err)
	}
}

func TestStatistics(t *testing.T) {
	w := newWorld(t)
	housing := func(v string) sample.Field { return sample.Field{Name: "housing_status_after", Value: sample.Str(v)} }
	ete := func(v string) sample.Field { return sample.Field{Name: "ete_status_after", Value: sample.Str(v)} }
	att := func(v string) sample.Field { return sample.Field{Name: "attendance", Value: sample.Str(v)} }
	feb := func(day, hour int) time.Time { return time.Date(2026, 2, day, hour, 0, 0, 0, time.UTC) }
	// c1 (A1, w1)
	w.contact(w.dev1, w.c1, at(2, 10), "housing", housing("hostel"))
	w.contact(w.dev1, w.c1, at(3, 9), "housing")
	w.contact(w.dev1, w.c1, at(4, 10), "treatment_attendance", att("attended"))
	w.contact(w.dev1, w.c1, at(10, 10), "housing", housing("settled_tenancy"))
	w.contact(w.dev1, w.c1, at(11, 10), "treatment_attendance", att("did_not_attend"))
	w.contact(w.dev1, w.c1, feb(20, 10), "housing", housing("rough_sleeping")) // before the period
	// c2 (A1, w1)
	w.contact(w.dev1, w.c2, at(3, 10), "employment", ete("unemployed_seeking"))
	w.contact(w.dev1, w.c2, at(12, 10), "employment", ete("in_training"))
	w.contact(w.dev1, w.c2, at(12, 11), "treatment_attendance", att("rescheduled"))
	gone := w.contact(w.dev1, w.c2, at(5, 10), "housing", housing("rough_sleeping"))
	w.edit(w.dev1, "contact", w.c2, gone, "deleted", sample.Tombstone("entered_in_error"), nil)
	// c3 (A2, w2)
	w.contact(w.dev2, w.c3, at(3, 10), "housing", housing("hostel"))
	w.contact(w.dev2, w.c3, at(13, 10), "housing", housing("hostel"))
	w.contact(w.dev2, w.c3, at(9, 10), "treatment_attendance", att("attended"))
	w.contact(w.dev2, w.c3, at(16, 1), "general") // after the period
	// c4 (A2): none, added 1 March; c5 (A2): closed; c6 (A1): last seen 1 February.
	w.contact(w.dev1, w.c6, feb(1, 10), "general")

	ts := timestamppb.New
	date := func(m, d int32) *v1.Date { return &v1.Date{Year: 2026, Month: m, Day: d} }
	period := &v1.GetStatisticsRequest{From: ts(at(2, 0)), To: ts(at(16, 0))}
	got, err := w.svc.GetStatistics(w.ctx, w.adminA, period)
	if err != nil {
		t.Fatal(err)
	}
	want := &v1.GetStatisticsResponse{
		Weekly: []*v1.WeeklyCount{
			{Week: date(3, 2), Category: "employment", Contacts: 1, Clients: 1},
			{Week: date(3, 2), Category: "housing", Contacts: 3, Clients: 2},
			{Week: date(3, 2), Category: "treatment_attendance", Contacts: 1, Clients: 1},
			{Week: date(3, 9), Category: "employment", Contacts: 1, Clients: 1},
			{Week: date(3, 9), Category: "housing", Contacts: 2, Clients: 2},
			{Week: date(3, 9), Category: "treatment_attendance", Contacts: 3, Clients: 3},
		},
		Attendance: []*v1.Attendance{
			{WorkerId: w.w2.UserID, WorkerName: "Ali Worker", Attended: 1},
			{WorkerId: w.w1.UserID, WorkerName: "Sam Worker", Attended: 1, Missed: 1, Rescheduled: 1},
			{TeamId: w.teamA2, Attended: 1},
			{TeamId: w.teamA1, Attended: 1, Missed: 1, Rescheduled: 1},
		},
		Housing:    []*v1.Movement{{From: "hostel", To: "settled_tenancy", Clients: 1}},
		Employment: []*v1.Movement{{From: "unemployed_seeking", To: "in_training", Clients: 1}},
		Quiet: []*v1.QuietClient{
			{ClientId: w.c6, ClientName: "Lee Brown", LastContact: ts(feb(1, 10)), Days: 42},
			{ClientId: w.c4, ClientName: "Paul Walker", Days: 15},
		},
		Contacts: 11,
		Clients:  6,
	}
	// Appointments have their own test (TestAppointmentStatistics); with
	// none, every open client in reach has none booked.
	if got.GetAttendanceDefinition() != AttendanceDefinition || len(got.GetUnbooked()) != 5 ||
		len(got.GetAppointments()) != 1 || got.GetAppointments()[0].GetGroup() != "all" {
		t.Fatalf("admin's appointment statistics: %s", prototext.Format(got))
	}
	got.AttendanceDefinition, got.Unbooked, got.Appointments = "", nil, nil
	if !proto.Equal(got, want) {
		t.Fatalf("admin's statistics:\n got %s\nwant %s", prototext.Format(got), prototext.Format(want))
	}

	// The supervisor of A1 sees c1, c2 and c6.
	got, err = w.svc.GetStatistics(w.ctx, w.supA1, period)
	if err != nil {
		t.Fatal(err)
	}
	if got.GetContacts() != 8 || got.GetClients() != 3 || len(got.GetAttendance()) != 2 || len(got.GetHousing()) != 1 ||
		len(got.GetQuiet()) != 1 || got.GetQuiet()[0].GetClientId() != w.c6 {
		t.Fatalf("supervisor's statistics: %s", prototext.Format(got))
	}
	// One team; a longer quiet threshold.
	got, err = w.svc.GetStatistics(w.ctx, w.adminA, &v1.GetStatisticsRequest{From: ts(at(2, 0)), To: ts(at(16, 0)), TeamId: w.teamA2, NoContactDays: 30})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetContacts() != 3 || got.GetClients() != 3 || len(got.GetQuiet()) != 0 || len(got.GetHousing()) != 0 {
		t.Fatalf("team A2's statistics: %s", prototext.Format(got))
	}
	// The default period is the 12 weeks up to now.
	got, err = w.svc.GetStatistics(w.ctx, w.adminA, &v1.GetStatisticsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetContacts() != 14 { // all but the deleted one, c3's after-the-period one included
		t.Fatalf("default period counted %d contacts, want 14", got.GetContacts())
	}
	for name, req := range map[string]*v1.GetStatisticsRequest{
		"from after to":     {From: ts(at(16, 0)), To: ts(at(2, 0))},
		"a period too long": {From: ts(at(1, 0).AddDate(-4, 0, 0)), To: ts(at(1, 0))},
		"too many days":     {NoContactDays: MaxQuietDays + 1},
		"malformed team id": {TeamId: "A2"},
		"invalid timestamp": {To: &timestamppb.Timestamp{Seconds: -1e15}},
	} {
		_, err := w.svc.GetStatistics(w.ctx, w.adminA, req)
		wantKind(t, name, err, errkind.Invalid)
	}
}

func TestMondayOf(t *testing.T) {
	for _, tc := range []struct{ at, monday time.Time }{
		{time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC)},
		{time.Date(2026, 3, 22, 23, 59, 59, 0, time.UTC), time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC)},
		{time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC), time.Date(2025, 12, 29, 0, 0, 0, 0, time.UTC)},
		{time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1969, 12, 29, 0, 0, 0, 0, time.UTC)},
		{time.Date(1969, 12, 28, 23, 0, 0, 0, time.UTC), time.Date(1969, 12, 22, 0, 0, 0, 0, time.UTC)},
	} {
		if got := time.Unix(mondayOf(instantOf(tc.at))*86400, 0).UTC(); !got.Equal(tc.monday) {
			t.Errorf("mondayOf(%v) = %v, want %v", tc.at, got, tc.monday)
		}
	}
}

func TestExports(t *testing.T) {
	w := newQueueWorld(t)
	var rows [][]string
	n, err := w.svc.ExportContacts(w.ctx, w.supA1, ExportQuery{From: at(1, 0), To: at(16, 0)}, RowFunc(func(r []string) error {
		rows = append(rows, r)
		return nil
	}))
	if err != nil || n != 4 || len(rows) != 4 {
		t.Fatalf("ExportContacts = %d rows, %v; want 4", n, err)
	}
	col := func(r []string, name string) string { return r[slices.Index(ContactColumns, name)] }
	by := map[string][]string{}
	for _, r := range rows {
		if len(r) != len(ContactColumns) {
			t.Fatalf("row has %d cells for %d columns", len(r), len(ContactColumns))
		}
		by[col(r, "contact_id")] = r
	}
	k2 := by[w.k2]
	for name, want := range map[string]string{
		"client_id": w.c1, "client_name": "Alex Smith", "team_id": w.teamA1, "occurred_at": "2026-03-11T09:00:00Z",
		"category": "treatment_attendance", "mode": "office", "author_id": w.w1.UserID, "author_name": "Sam Worker",
		"attendance": "attended", "review_state": "query_open", "late": "false", "deleted": "false", "open_conflicts": "0",
		"notes": "Talked about the week ahead.", "synced_at": "2026-03-16T12:00:00Z",
	} {
		if got := col(k2, name); got != want {
			t.Errorf("k2 %s = %q, want %q", name, got, want)
		}
	}
	if col(by[w.k3], "late") != "true" || col(by[w.k5], "open_conflicts") != "1" {
		t.Errorf("k3 late %q, k5 conflicts %q", col(by[w.k3], "late"), col(by[w.k5], "open_conflicts"))
	}
	// Client by client (in id order), each by occurred_at.
	var order []string
	for _, r := range rows {
		order = append(order, col(r, "contact_id"))
	}
	clients := []struct {
		id string
		ks []string
	}{{w.c1, []string{w.k1, w.k2}}, {w.c2, []string{w.k3}}, {w.c6, []string{w.k5}}}
	slices.SortFunc(clients, func(a, b struct {
		id string
		ks []string
	}) int {
		return strings.Compare(a.id, b.id)
	})
	var wantOrder []string
	for _, c := range clients {
		wantOrder = append(wantOrder, c.ks...)
	}
	if !slices.Equal(order, wantOrder) {
		t.Errorf("export order %v, want %v", order, wantOrder)
	}

	// A failing sink stops the export, which is audited as incomplete.
	calls := 0
	_, err = w.svc.ExportContacts(w.ctx, w.adminA, ExportQuery{TeamID: w.teamA1}, RowFunc(func([]string) error {
		if calls++; calls == 2 {
			return errStop
		}
		return nil
	}))
	if err != errStop {
		t.Fatalf("export into a failing sink = %v, want its error", err)
	}
	var stats [][]string
	if _, err := w.svc.ExportStatistics(w.ctx, w.supA1, ExportQuery{From: at(1, 0), To: at(16, 0)}, RowFunc(func(r []string) error {
		stats = append(stats, r)
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	if stats[0][0] != "totals" || stats[0][slices.Index(StatisticsColumns, "contacts")] != "4" || stats[0][slices.Index(StatisticsColumns, "clients")] != "3" {
		t.Errorf("statistics export starts %v", stats[0])
	}

	// Each export is two entries: its start (who, which period and team),
	// before any row leaves, and its end (rows, complete or cut off).
	var audits []*store.Audit
	for _, a := range fixture.AreaAudit(t, w.st, w.areaA) {
		if strings.HasPrefix(a.Action.String(), "export_") {
			audits = append(audits, a)
		}
	}
	if len(audits) != 6 {
		t.Fatalf("%d export audit entries, want 6 (start and end of 3 exports)", len(audits))
	}
	if a := audits[0]; a.Action != store.AuditExportContacts || a.UserID != w.supA1.UserID ||
		a.From.Format(time.RFC3339) != "2026-03-01T00:00:00Z" || a.To.Format(time.RFC3339) != "2026-03-16T00:00:00Z" || !a.At.Equal(now0) {
		t.Errorf("first audit = %+v", a)
	}
	if a := audits[1]; a.Action != store.AuditExportComplete || a.Count != 4 || a.UserID != w.supA1.UserID {
		t.Errorf("first export's end = %+v, want complete with 4 rows", a)
	}
	if a := audits[2]; a.Action != store.AuditExportContacts || a.UserID != w.adminA.UserID || a.TeamID != w.teamA1 {
		t.Errorf("failed export's start = %+v", a)
	}
	if a := audits[3]; a.Action != store.AuditExportIncomplete || a.Count != 1 || a.TeamID != w.teamA1 {
		t.Errorf("failed export's end = %+v, want 1 row, incomplete", a)
	}
	if a := audits[4]; a.Action != store.AuditExportStatistics {
		t.Errorf("statistics audit = %+v", a)
	}
	if a := audits[5]; a.Action != store.AuditExportComplete || a.Count != uint64(len(stats)) {
		t.Errorf("statistics export's end = %+v, want complete with %d rows", a, len(stats))
	}
	logs := w.logs.String()
	if strings.Count(logs, `"message":"export"`) != 3 {
		t.Errorf("want one log line per export:\n%s", logs)
	}
	for _, secret := range []string{"Alex", "Smith", "Sam Worker", "Talked about", "Which provider"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs carry %q:\n%s", secret, logs)
		}
	}
}

// Supervisors reviewing one contact at the same time, and a worker
// answering a query while a supervisor reviews it, never raise conflicts on
// the review note: each decision is taken on the note as it is when written.
func TestConcurrentReviewsRaiseNoConflicts(t *testing.T) {
	w := newWorld(t)
	contact := w.contact(w.dev1, w.c1, now0.Add(-time.Hour), "housing")
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Go(func() {
			caller := w.supA1
			if i%2 == 1 {
				caller = w.adminA
			}
			decision := v1.ReviewDecision_REVIEW_DECISION_REVIEWED
			comment := ""
			if i%3 == 0 {
				decision, comment = v1.ReviewDecision_REVIEW_DECISION_QUERY, fmt.Sprintf("Question %d", i)
			}
			_, err := w.svc.ReviewContact(w.ctx, caller, &v1.ReviewContactRequest{ClientId: w.c1, ContactId: contact, Decision: decision, Comment: comment})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("ReviewContact: %v", err)
		}
	}
	resp, err := w.svc.ListConflicts(w.ctx, w.adminA, "")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(resp.GetConflicts()); n != 0 {
		t.Fatalf("%d conflicts on review notes after concurrent reviews", n)
	}
}
