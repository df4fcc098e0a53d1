package admin

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/protocol"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// pullRecord pulls a bucket as an identity holding it and returns its
// records.
func pullRecords(t *testing.T, w *world, clientID string) (*v1.BucketUpdate, []*v1.RecordState) {
	t.Helper()
	eng, err := syncengine.New(syncengine.Config{Store: w.st})
	if err != nil {
		t.Fatal(err)
	}
	id := &identity.Identity{UserID: w.workerA1.UserID, DeviceID: "tablet", Role: identity.Worker, Area: w.areaA, Buckets: []string{clientID}}
	resp, err := eng.Pull(w.ctx, id, &v1.PullRequest{ProtocolVersion: protocol.Version, SchemaVersion: schema.CurrentVersion})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err = syncengine.Materialize(resp); err != nil {
		t.Fatal(err)
	}
	for _, b := range resp.GetBuckets() {
		if b.GetClientId() == clientID {
			return b, b.GetRecords()
		}
	}
	t.Fatalf("the pull has no bucket %s", clientID)
	return nil, nil
}

func fieldsOf(rec *v1.RecordState) map[string]*v1.Value {
	out := map[string]*v1.Value{}
	for _, f := range rec.GetFields() {
		out[f.GetField()] = f.GetValue()
	}
	return out
}

func TestCreateClientWritesASyncableRecord(t *testing.T) {
	w := newWorld(t)
	dob := &v1.Date{Year: 1984, Month: 2, Day: 29}
	cid, err := w.svc.CreateClient(w.ctx, w.supA1, NewClient{TeamID: w.teamA1, GivenName: " Jamie ", FamilyName: "O'Brien", DateOfBirth: dob, Pathway: "arrest_referral"})
	if err != nil {
		t.Fatal(err)
	}
	if u, err := uuid.Parse(cid); err != nil || u.Version() != 7 || u.String() != cid {
		t.Errorf("client id %q is not a canonical UUIDv7", cid)
	}
	err = w.st.DirectoryView(w.ctx, func(tx store.DirTx) error {
		c, err := tx.Client(cid)
		if err != nil {
			return err
		}
		if c.AreaID != w.areaA || c.TeamID != w.teamA1 {
			t.Errorf("directory entry = %+v", c)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	b, recs := pullRecords(t, w, cid)
	if b.GetAction() != v1.BucketAction_BUCKET_ACTION_SNAPSHOT || len(recs) != 1 {
		t.Fatalf("bucket = %v with %d records", b.GetAction(), len(recs))
	}
	rec := recs[0]
	if rec.GetRecordId() != cid || rec.GetRecordType() != "client" {
		t.Errorf("record %s of type %s", rec.GetRecordId(), rec.GetRecordType())
	}
	if a := rec.GetAuthor(); a.GetUserId() != w.supA1.UserID || a.GetDeviceId() != ServerDevice {
		t.Errorf("author = %v", a)
	}
	if s := rec.GetStamp(); s.GetReplica() != ServerDevice || s.GetTime() == 0 {
		t.Errorf("stamp = %v", s)
	}
	got := fieldsOf(rec)
	want := map[string]*v1.Value{
		"given_name":    {Kind: &v1.Value_StringValue{StringValue: "Jamie"}},
		"family_name":   {Kind: &v1.Value_StringValue{StringValue: "O'Brien"}},
		"date_of_birth": {Kind: &v1.Value_DateValue{DateValue: dob}},
		"area":          {Kind: &v1.Value_StringValue{StringValue: "Lambeth"}},
		"pathway":       {Kind: &v1.Value_StringValue{StringValue: "arrest_referral"}},
		"status":        {Kind: &v1.Value_StringValue{StringValue: "active"}},
	}
	if len(got) != len(want) {
		t.Errorf("fields = %v", got)
	}
	for f, v := range want {
		if !proto.Equal(got[f], v) {
			t.Errorf("%s = %v, want %v", f, got[f], v)
		}
	}
	// The record passes the schema's required-field check.
	if missing := schema.Builtin().MissingRequired("client", func(f string) bool { return got[f] != nil }); len(missing) > 0 {
		t.Errorf("missing required fields %v", missing)
	}
	// The users whose devices hold the team's buckets are told: the team's
	// supervisors and the area's admins (not workers, not other teams).
	_, changed := w.sessions.calls()
	if len(changed) != 1 || !sameSet(changed[0], []string{w.supA1.UserID, w.adminA.UserID}) {
		t.Errorf("CaseloadChanged calls = %v", changed)
	}

	// Without a date of birth the field is absent.
	cid2, err := w.svc.CreateClient(w.ctx, w.adminA, NewClient{TeamID: w.teamA2, GivenName: "Kelly", FamilyName: "Evans", Pathway: "voluntary"})
	if err != nil {
		t.Fatal(err)
	}
	if _, recs := pullRecords(t, w, cid2); fieldsOf(recs[0])["date_of_birth"] != nil {
		t.Error("an unknown date of birth was written")
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestCreateClientValidatesBeforeWriting(t *testing.T) {
	w := newWorld(t)
	future := w.clock.Now().AddDate(1, 0, 0)
	for name, in := range map[string]NewClient{
		"no team":          {GivenName: "A", FamilyName: "B", Pathway: "drr"},
		"no given name":    {TeamID: w.teamA1, GivenName: " ", FamilyName: "B", Pathway: "drr"},
		"long family name": {TeamID: w.teamA1, GivenName: "A", FamilyName: strings.Repeat("b", 101), Pathway: "drr"},
		"unknown pathway":  {TeamID: w.teamA1, GivenName: "A", FamilyName: "B", Pathway: "court_order"},
		"no pathway":       {TeamID: w.teamA1, GivenName: "A", FamilyName: "B"},
		"impossible date":  {TeamID: w.teamA1, GivenName: "A", FamilyName: "B", Pathway: "drr", DateOfBirth: &v1.Date{Year: 1990, Month: 2, Day: 30}},
		"future birth":     {TeamID: w.teamA1, GivenName: "A", FamilyName: "B", Pathway: "drr", DateOfBirth: &v1.Date{Year: int32(future.Year()), Month: int32(future.Month()), Day: int32(future.Day())}},
		"bad key":          {TeamID: w.teamA1, GivenName: "A", FamilyName: "B", Pathway: "drr", IdempotencyKey: "has space"},
		"long key":         {TeamID: w.teamA1, GivenName: "A", FamilyName: "B", Pathway: "drr", IdempotencyKey: strings.Repeat("k", MaxIdempotencyKeyLen+1)},
	} {
		_, err := w.svc.CreateClient(w.ctx, w.adminA, in)
		wantKind(t, name, err, errkind.Invalid)
		if err != nil && (strings.Contains(err.Error(), "court_order") || strings.Contains(err.Error(), "bbbb")) {
			t.Errorf("%s: the message echoes the value: %v", name, err)
		}
	}
	clients, err := w.svc.ListClients(w.ctx, w.adminA, "")
	if err != nil || len(clients) != 2 {
		t.Errorf("invalid requests created clients: %d, %v", len(clients), err)
	}
	if _, changed := w.sessions.calls(); len(changed) != 0 {
		t.Errorf("CaseloadChanged called for invalid requests: %v", changed)
	}
}

func TestCreateClientRetryWithKey(t *testing.T) {
	w := newWorld(t)
	in := NewClient{TeamID: w.teamA1, GivenName: "Lee", FamilyName: "Walker", Pathway: "dtto", IdempotencyKey: "form-42"}
	first, err := w.svc.CreateClient(w.ctx, w.supA1, in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := w.svc.CreateClient(w.ctx, w.supA1, in)
	if err != nil || again != first {
		t.Fatalf("retry = %s, %v; want %s", again, err, first)
	}
	hist, err := w.st.History(w.ctx, first, first)
	if err != nil || len(hist) != 5 {
		t.Errorf("the record was written %d changes deep (want 5, once): %v", len(hist), err)
	}
	clients, _ := w.svc.ListClients(w.ctx, w.supA1, w.teamA1)
	if len(clients) != 2 { // the fixture's and this one
		t.Errorf("team A1 has %d clients", len(clients))
	}
	// Another key, or the same key from another caller, is another client.
	in.IdempotencyKey = "form-43"
	if other, err := w.svc.CreateClient(w.ctx, w.supA1, in); err != nil || other == first {
		t.Errorf("another key: %s, %v", other, err)
	}
	in.IdempotencyKey = "form-42"
	if other, err := w.svc.CreateClient(w.ctx, w.adminA, in); err != nil || other == first {
		t.Errorf("another caller: %s, %v", other, err)
	}
	// The same key for another team is refused.
	in.TeamID = w.teamA2
	_, err = w.svc.CreateClient(w.ctx, w.adminA, in)
	wantKind(t, "same key, other team", err, errkind.Exists)
}

// TestCreateClientCompletesAFailedAttempt: when the first attempt wrote the
// directory entry but not the record, a retry with the same key writes it.
func TestCreateClientCompletesAFailedAttempt(t *testing.T) {
	w := newWorld(t)
	key := "form-7"
	cid := uuid.NewSHA1(clientIDSpace, []byte(w.areaA+"\x00"+w.supA1.UserID+"\x00"+key)).String()
	err := w.st.Directory(w.ctx, func(tx store.DirTx) error {
		return tx.PutClient(&store.Client{ID: cid, AreaID: w.areaA, TeamID: w.teamA1})
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := w.svc.CreateClient(w.ctx, w.supA1, NewClient{TeamID: w.teamA1, GivenName: "Paul", FamilyName: "Roberts", Pathway: "drr", IdempotencyKey: key})
	if err != nil || got != cid {
		t.Fatalf("retry = %s, %v; want %s", got, err, cid)
	}
	if _, recs := pullRecords(t, w, cid); len(recs) != 1 || fieldsOf(recs[0])["family_name"].GetStringValue() != "Roberts" {
		t.Errorf("the record was not completed: %v", recs)
	}
}

func TestListClients(t *testing.T) {
	w := newWorld(t)
	extra := w.createClient(w.supA1, w.teamA1)
	if err := w.svc.AssignClient(w.ctx, w.supA1, extra, w.workerA1.UserID); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.AssignClient(w.ctx, w.supA1, extra, w.workerA12.UserID); err != nil {
		t.Fatal(err)
	}
	all, err := w.svc.ListClients(w.ctx, w.adminA, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []ClientSummary{{ID: w.clientA1, TeamID: w.teamA1, WorkerIDs: []string{}}, {ID: w.clientA2, TeamID: w.teamA2, WorkerIDs: []string{}},
		{ID: extra, TeamID: w.teamA1, WorkerIDs: sorted(w.workerA1.UserID, w.workerA12.UserID)}}
	if !equalSummaries(all, want) {
		t.Errorf("admin sees %+v\nwant %+v", all, want)
	}
	team, err := w.svc.ListClients(w.ctx, w.adminA, w.teamA2)
	if err != nil || !equalSummaries(team, want[1:2]) {
		t.Errorf("team A2: %+v, %v", team, err)
	}
	own, err := w.svc.ListClients(w.ctx, w.supA1, "")
	if err != nil || !equalSummaries(own, []ClientSummary{want[0], want[2]}) {
		t.Errorf("supervisor of A1 sees %+v, %v", own, err)
	}
	b, err := w.svc.ListClients(w.ctx, w.supB1, "")
	if err != nil || len(b) != 1 || b[0].ID != w.clientB1 {
		t.Errorf("supervisor of B1 sees %+v, %v", b, err)
	}
}

func sorted(xs ...string) []string { slices.Sort(xs); return xs }

func equalSummaries(a, b []ClientSummary) bool {
	return slices.EqualFunc(a, b, func(x, y ClientSummary) bool {
		return x.ID == y.ID && x.TeamID == y.TeamID && slices.Equal(x.WorkerIDs, y.WorkerIDs)
	})
}

func TestAssignAndUnassign(t *testing.T) {
	w := newWorld(t)
	worker := w.workerA1.UserID
	t0 := w.clock.Now()
	if err := w.svc.AssignClient(w.ctx, w.supA1, w.clientA1, worker); err != nil {
		t.Fatal(err)
	}
	as := w.assignments(worker)
	if len(as) != 1 || as[0].ClientID != w.clientA1 || !as[0].From.Equal(t0) || !as[0].Open() {
		t.Fatalf("assignments = %+v", as)
	}
	if _, changed := w.sessions.calls(); len(changed) != 1 || !slices.Equal(changed[0], []string{worker}) {
		t.Errorf("CaseloadChanged calls = %v", changed)
	}
	// Assigning again changes nothing.
	w.clock.Advance(time.Minute)
	if err := w.svc.AssignClient(w.ctx, w.adminA, w.clientA1, worker); err != nil {
		t.Fatal(err)
	}
	if as := w.assignments(worker); len(as) != 1 {
		t.Errorf("a second assignment opened: %+v", as)
	}
	if _, changed := w.sessions.calls(); len(changed) != 1 {
		t.Errorf("CaseloadChanged called for a no-op: %v", changed)
	}

	w.clock.Advance(time.Hour)
	t1 := w.clock.Now()
	if err := w.svc.UnassignClient(w.ctx, w.supA1, w.clientA1, worker); err != nil {
		t.Fatal(err)
	}
	as = w.assignments(worker)
	if len(as) != 1 || !as[0].From.Equal(t0) || !as[0].To.Equal(t1) {
		t.Fatalf("after unassign: %+v", as)
	}
	if !as[0].Covers(t0.Add(time.Minute)) || as[0].Covers(t1) {
		t.Error("the period covers the wrong span")
	}
	if _, changed := w.sessions.calls(); len(changed) != 2 || !slices.Equal(changed[1], []string{worker}) {
		t.Errorf("CaseloadChanged calls = %v", changed)
	}
	// Unassigning again changes nothing.
	if err := w.svc.UnassignClient(w.ctx, w.supA1, w.clientA1, worker); err != nil {
		t.Fatal(err)
	}
	if _, changed := w.sessions.calls(); len(changed) != 2 {
		t.Errorf("CaseloadChanged called for a no-op: %v", changed)
	}
	clients, _ := w.svc.ListClients(w.ctx, w.supA1, w.teamA1)
	if len(clients) != 1 || len(clients[0].WorkerIDs) != 0 {
		t.Errorf("after unassign, list shows %+v", clients)
	}

	// Reassigning opens a second period; the first stays in history.
	w.clock.Advance(time.Hour)
	t2 := w.clock.Now()
	if err := w.svc.AssignClient(w.ctx, w.supA1, w.clientA1, worker); err != nil {
		t.Fatal(err)
	}
	as = w.assignments(worker)
	if len(as) != 2 || !as[0].To.Equal(t1) || !as[1].From.Equal(t2) || !as[1].Open() {
		t.Errorf("after reassign: %+v", as)
	}
}

// TestAssignSameInstant: unassigning and reassigning without the clock
// moving keeps every period (a period never starts where another does).
func TestAssignSameInstant(t *testing.T) {
	w := newWorld(t)
	worker := w.workerA1.UserID
	for range 2 {
		if err := w.svc.AssignClient(w.ctx, w.adminA, w.clientA1, worker); err != nil {
			t.Fatal(err)
		}
		if err := w.svc.UnassignClient(w.ctx, w.adminA, w.clientA1, worker); err != nil {
			t.Fatal(err)
		}
	}
	as := w.assignments(worker)
	if len(as) != 2 || as[0].Open() || as[1].Open() || !as[1].From.After(as[0].From) || as[1].From.Before(as[0].To) {
		t.Errorf("periods = %+v", as)
	}
}

func TestAssignRules(t *testing.T) {
	w := newWorld(t)
	// A worker of another team of the area: not assignable, by admins either.
	wantKind(t, "admin, worker of another team", w.svc.AssignClient(w.ctx, w.adminA, w.clientA1, w.workerA2.UserID), errkind.Invalid)
	// A worker in both teams is assignable to either team's clients.
	if err := w.svc.AssignClient(w.ctx, w.supA2, w.clientA2, w.workerA12.UserID); err != nil {
		t.Error(err)
	}
	if err := w.svc.AssignClient(w.ctx, w.supA1, w.clientA1, w.workerA12.UserID); err != nil {
		t.Error(err)
	}
	// Several workers may hold one client.
	if err := w.svc.AssignClient(w.ctx, w.supA1, w.clientA1, w.workerA1.UserID); err != nil {
		t.Error(err)
	}
	clients, _ := w.svc.ListClients(w.ctx, w.supA1, w.teamA1)
	if len(clients) != 1 || !slices.Equal(clients[0].WorkerIDs, sorted(w.workerA1.UserID, w.workerA12.UserID)) {
		t.Errorf("clients = %+v", clients)
	}
	// Not a worker.
	wantKind(t, "assign an admin", w.svc.AssignClient(w.ctx, w.adminA, w.clientA1, w.adminA.UserID), errkind.Invalid)
	wantKind(t, "no worker", w.svc.AssignClient(w.ctx, w.adminA, w.clientA1, ""), errkind.Invalid)
	wantKind(t, "no client", w.svc.AssignClient(w.ctx, w.adminA, "", w.workerA1.UserID), errkind.Invalid)
}
