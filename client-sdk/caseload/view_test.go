package caseload

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// The view is the pulled state with the device's own changes over it: a
// local edit shows at once and is pending; its base is the stamp of the
// value the user saw; a later pulled value from another replica wins over
// it (last writer wins, as on the server), an earlier one does not.
func TestViewOverlay(t *testing.T) {
	ctx := context.Background()
	hourAgo := time.Now().Add(-time.Hour)
	pulledStamp := stampAt(hourAgo, otherReplica)

	tests := []struct {
		name string
		// the other replica's housing_status, pulled after the local edit
		// (nil: none), and the value the view must then show
		later *v1.FieldState
		want  string
	}{
		{name: "no later value", want: "settled_tenancy"},
		{name: "newer value from another replica wins",
			later: withStamp(field("housing_status", String("night_shelter")), stampAt(time.Now().Add(time.Hour), otherReplica), otherAuthor),
			want:  "night_shelter"},
		{name: "older value from another replica loses",
			later: withStamp(field("housing_status", String("rough_sleeping")), stampAt(hourAgo.Add(time.Minute), otherReplica), otherAuthor),
			want:  "settled_tenancy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := memDevice(t)
			enrol(t, d)
			c, contact := newID(), newID()
			pull(t, d, snapshot(c,
				clientRecord(c, pulledStamp, otherAuthor),
				contactRecord(contact, hourAgo, pulledStamp, otherAuthor)))

			cl, err := d.Client(ctx, c)
			must(t, err)
			if cl.HousingStatus != "hostel" || cl.Pending {
				t.Fatalf("pulled client %+v: want hostel, not pending", cl)
			}
			must(t, d.UpdateClient(ctx, c, Edit{"housing_status", String("settled_tenancy")}))
			cl, err = d.Client(ctx, c)
			must(t, err)
			if cl.HousingStatus != "settled_tenancy" || !cl.Pending {
				t.Fatalf("after the local edit %+v: want settled_tenancy, pending", cl)
			}
			// The contact is untouched by the client's edit.
			tl, err := d.Timeline(ctx, c)
			must(t, err)
			if len(tl.Contacts) != 1 || tl.Contacts[0].ID != contact || tl.Contacts[0].Pending || tl.Contacts[0].Author != otherAuthor.GetUserId() {
				t.Fatalf("pulled contact reads as %+v", tl.Contacts)
			}

			chs := outbox(t, d)
			if len(chs) != 1 {
				t.Fatalf("outbox %v, want one change", chs)
			}
			ch := chs[0]
			if !proto.Equal(ch.GetBase(), pulledStamp) {
				t.Fatalf("the change's base is %v, want the pulled value's stamp %v", ch.GetBase(), pulledStamp)
			}
			if ch.GetField() != "housing_status" || ch.GetRecordType() != "client" || ch.GetClientId() != c || ch.GetRecordId() != c ||
				ch.GetStamp().GetReplica() != d.DeviceID() {
				t.Fatalf("outbox change %v", ch)
			}

			if tt.later != nil {
				pull(t, d, delta(c, clientRecord(c, pulledStamp, otherAuthor, tt.later)))
			}
			cl, err = d.Client(ctx, c)
			must(t, err)
			if cl.HousingStatus != tt.want || !cl.Pending {
				t.Fatalf("view shows %q (pending %v), want %q, pending", cl.HousingStatus, cl.Pending, tt.want)
			}
			// A conflict the server has not raised is not invented here.
			if len(cl.Conflicts) != 0 {
				t.Fatalf("local conflicts shown: %+v", cl.Conflicts)
			}
		})
	}
}

// An edit made on top of a value pulled in between takes that value's
// stamp as its base (so the server sees it was not concurrent).
func TestBaseFollowsTheLatestPull(t *testing.T) {
	ctx := context.Background()
	d, c := enrolledDevice(t)
	newer := stampAt(time.Now().Add(-time.Minute), otherReplica)
	pull(t, d, delta(c, clientRecord(c, stampAt(time.Now().Add(-time.Hour), otherReplica), otherAuthor,
		withStamp(field("keyworker_notes", String("Seen at the hostel")), newer, otherAuthor))))
	must(t, d.UpdateClient(ctx, c, Edit{"keyworker_notes", String("Seen at the hostel; moving on Friday")}))
	must(t, d.UpdateClient(ctx, c, Edit{"keyworker_notes", String("Moved on Friday")}))
	chs := outbox(t, d)
	if len(chs) != 2 {
		t.Fatalf("outbox %d changes", len(chs))
	}
	if !proto.Equal(chs[0].GetBase(), newer) {
		t.Errorf("first edit's base %v, want the pulled value's %v", chs[0].GetBase(), newer)
	}
	if !proto.Equal(chs[1].GetBase(), chs[0].GetStamp()) {
		t.Errorf("second edit's base %v, want the first edit's stamp %v", chs[1].GetBase(), chs[0].GetStamp())
	}
	if chs[0].GetStamp().GetTime() <= newer.GetTime() {
		t.Errorf("edit stamped %v, not after the value it replaced %v", chs[0].GetStamp(), newer)
	}
	// A field with no value has no base; a set operation never has one.
	must(t, d.UpdateClient(ctx, c, Edit{"treatment_provider", String("Lambeth Recovery")}))
	must(t, d.AddRiskFlag(ctx, c, "lone_working"))
	chs = outbox(t, d)
	for _, ch := range chs[2:] {
		if ch.GetBase() != nil {
			t.Errorf("%s change has base %v, want none", ch.GetField(), ch.GetBase())
		}
	}
}

// Conflicts the server recorded come with the pulled record and are listed
// by Conflicts, with both sides.
func TestServerConflictsListed(t *testing.T) {
	ctx := context.Background()
	d, c := enrolledDevice(t)
	s1 := stampAt(time.Now().Add(-2*time.Hour), otherReplica)
	s2 := stampAt(time.Now().Add(-time.Hour), "0190a0b0-0000-7000-8000-0000000000aa")
	rec := clientRecord(c, s1, otherAuthor, withStamp(field("housing_status", String("hostel")), s2, &v1.Author{UserId: "u2"}))
	rec.Conflicts = []*v1.Conflict{{Id: 7, Field: "housing_status",
		Current:  &v1.ConflictSide{Value: String("settled_tenancy"), Stamp: s1, Author: otherAuthor},
		Incoming: &v1.ConflictSide{Value: String("hostel"), Stamp: s2, Author: &v1.Author{UserId: "u2"}}}}
	pull(t, d, delta(c, rec))
	got, err := d.Conflicts(ctx)
	must(t, err)
	if len(got) != 1 {
		t.Fatalf("conflicts %+v, want one", got)
	}
	x := got[0]
	if x.ID != 7 || x.ClientID != c || x.RecordID != c || x.RecordType != "client" || x.Field != "housing_status" ||
		x.Current.Value != "settled_tenancy" || x.Incoming.Value != "hostel" || x.Incoming.UserID != "u2" || x.Current.UserID != otherAuthor.GetUserId() {
		t.Fatalf("conflict %+v", x)
	}
	// Editing the field having seen the winner resolves it in the view.
	must(t, d.UpdateClient(ctx, c, Edit{"housing_status", String("supported_housing")}))
	got, err = d.Conflicts(ctx)
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("conflicts after an edit on the winner: %+v", got)
	}
}

// A snapshot replaces what the device held for the client; a delta adds to
// it.
func TestSnapshotReplacesDeltaAdds(t *testing.T) {
	ctx := context.Background()
	d, c := enrolledDevice(t)
	s := stampAt(time.Now().Add(-time.Hour), otherReplica)
	a, b := newID(), newID()
	pull(t, d, delta(c, contactRecord(a, time.Now().Add(-2*time.Hour), s, otherAuthor)))
	pull(t, d, delta(c, contactRecord(b, time.Now().Add(-time.Hour), s, otherAuthor)))
	ids := func() []string {
		tl, err := d.Timeline(ctx, c)
		must(t, err)
		var out []string
		for _, x := range tl.Contacts {
			out = append(out, x.ID)
		}
		return out
	}
	if got := ids(); !slices.Equal(got, []string{b, a}) {
		t.Fatalf("after deltas %v, want %v (newest first)", got, []string{b, a})
	}
	rep := pull(t, d, snapshot(c, clientRecord(c, s, otherAuthor), contactRecord(b, time.Now().Add(-time.Hour), s, otherAuthor)))
	if rep.Pulled != 2 {
		t.Fatalf("report %+v, want 2 pulled", rep)
	}
	if got := ids(); !slices.Equal(got, []string{b}) {
		t.Fatalf("after a snapshot %v, want %v", got, []string{b})
	}
}

// Clients lists every client on the device, by family then given name.
func TestClientsOrdered(t *testing.T) {
	ctx := context.Background()
	d := memDevice(t)
	enrol(t, d)
	s := stampAt(time.Now(), otherReplica)
	names := [][2]string{{"Sam", "Jones"}, {"Alex", "Smith"}, {"Ade", "Jones"}}
	for _, n := range names {
		c := newID()
		pull(t, d, snapshot(c, clientRecord(c, s, otherAuthor, field("given_name", String(n[0])), field("family_name", String(n[1])))))
	}
	cs, err := d.Clients(ctx)
	must(t, err)
	var got []string
	for _, c := range cs {
		got = append(got, c.GivenName+" "+c.FamilyName)
	}
	if want := []string{"Ade Jones", "Sam Jones", "Alex Smith"}; !slices.Equal(got, want) {
		t.Fatalf("Clients %v, want %v", got, want)
	}
}

// A page read from the wire without decoding its records is the same page
// as the decoded one the live stream gives.
func TestRawPageMatchesDecoded(t *testing.T) {
	c := newID()
	s := stampAt(time.Now(), otherReplica)
	resp := &v1.PullResponse{
		Buckets: []*v1.BucketUpdate{snapshot(c, clientRecord(c, s, otherAuthor), contactRecord(newID(), time.Now(), s, otherAuthor)), evict(newID())},
		Cursor:  []byte("opaque"), HasMore: true,
	}
	raw, err := proto.Marshal(resp)
	must(t, err)
	fromWire, err := parsePage(raw)
	must(t, err)
	decoded, err := pageOf(resp)
	must(t, err)
	if len(fromWire.buckets) != len(decoded.buckets) || string(fromWire.cursor) != "opaque" || !fromWire.hasMore {
		t.Fatalf("page from the wire %+v", fromWire)
	}
	for i, b := range fromWire.buckets {
		o := decoded.buckets[i]
		if b.clientID != o.clientID || b.action != o.action || len(b.records) != len(o.records) {
			t.Fatalf("bucket %d: %+v vs %+v", i, b, o)
		}
		for j, r := range b.records {
			var x, y v1.RecordState
			must(t, proto.Unmarshal(r.raw, &x))
			must(t, proto.Unmarshal(o.records[j].raw, &y))
			if r.id != o.records[j].id || !proto.Equal(&x, &y) {
				t.Fatalf("bucket %d record %d differs", i, j)
			}
		}
	}
	if _, err := parsePage([]byte{0x0a, 0xff}); err == nil {
		t.Fatal("a truncated page parsed")
	}
}
