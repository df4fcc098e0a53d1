package syncengine_test

import (
	"errors"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/hlc"
	"github.com/throughcare/throughcare/syncproto/merge"
	"github.com/throughcare/throughcare/syncproto/sample"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// The server's writes go through one door: numbered after the server
// device's high-water mark, stamped inside the transaction later than
// every stamp of the record they change (even one a device stamped ahead
// of the server clock), with the user as author.
func TestWriteAsStampsAfterTheRecord(t *testing.T) {
	w := newWorld(t, syncengine.Config{})
	// The supervisor's tablet runs two minutes fast (inside the skew
	// allowed) and writes the client's keyworker notes.
	fast := w.device(w.sup, 9)
	ahead := w.now.Add(2 * time.Minute)
	ch := fast.dev.Change("client", w.client, w.client, "keyworker_notes", sample.Str("from the fast tablet"), nil)
	ch.Stamp.Time = hlc.Pack(ahead.UnixMilli(), 0)
	w.pushAll(fast, []*v1.Change{ch}, "applied")

	for i, text := range []string{"from the server", "and again"} {
		res, err := w.e.WriteAs(w.t.Context(), w.admin.id.UserID, []*v1.Change{{
			RecordId: w.client, RecordType: "client", ClientId: w.client, Field: "keyworker_notes", Value: sample.Str(text)}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Results[0].Verdict; got != v1.Verdict_VERDICT_APPLIED {
			t.Fatalf("write %d: verdict %v, want applied", i, got)
		}
		if res.HighWater != uint64(i+1) {
			t.Errorf("write %d: server high-water mark %d, want %d (numbered after the last)", i, res.HighWater, i+1)
		}
		f := merge.Field(w.record(w.client), "keyworker_notes")
		if got := f.GetValue().GetStringValue(); got != text {
			t.Fatalf("write %d: keyworker_notes = %q, want the server's %q (its stamp must be later than the fast tablet's)", i, got, text)
		}
		if f.GetStamp().GetReplica() != syncengine.ServerDevice || hlc.Wall(f.GetStamp().GetTime()).Before(ahead) {
			t.Errorf("write %d: stamp %v, want replica %q at or after %v", i, f.GetStamp(), syncengine.ServerDevice, ahead)
		}
		if f.GetAuthor().GetUserId() != w.admin.id.UserID || f.GetAuthor().GetDeviceId() != syncengine.ServerDevice {
			t.Errorf("write %d: author %v, want the admin on device %q", i, f.GetAuthor(), syncengine.ServerDevice)
		}
	}
}

// A server write that is invalid, or that creates a record without its
// required fields, is refused whole before anything is written.
func TestWriteAsRefusesInvalidChanges(t *testing.T) {
	w := newWorld(t, syncengine.Config{})
	headBefore := w.record(w.client).GetPosition()
	contact := w.admin.dev.NewID()
	cases := []struct {
		name    string
		changes []*v1.Change
		want    func(error) bool
	}{
		{"value out of its enum", []*v1.Change{{RecordId: w.client, RecordType: "client", ClientId: w.client, Field: "status", Value: sample.Str("vanished")}},
			func(err error) bool { var iss *schema.Issue; return errors.As(err, &iss) && iss.Field == "status" }},
		{"unknown field", []*v1.Change{{RecordId: w.client, RecordType: "client", ClientId: w.client, Field: "shoe_size", Value: sample.Str("9")}},
			func(err error) bool { var iss *schema.Issue; return errors.As(err, &iss) }},
		{"new contact without its required fields", []*v1.Change{{RecordId: contact, RecordType: "contact", ClientId: w.client, Field: "notes", Value: sample.Str("x")}},
			func(err error) bool { var rej *syncengine.RejectedError; return errors.As(err, &rej) }},
	}
	for _, c := range cases {
		_, err := w.e.WriteAs(w.t.Context(), w.admin.id.UserID, c.changes, nil)
		if !c.want(err) {
			t.Errorf("%s: WriteAs = %v (%T), want a typed refusal", c.name, err, err)
		}
	}
	if got := w.record(w.client).GetPosition(); got != headBefore {
		t.Fatalf("the client record moved from %d to %d: a refused write wrote something", headBefore, got)
	}
	if hwm, err := w.st.HighWater(w.t.Context(), syncengine.ServerDevice); err != nil || hwm != 0 {
		t.Fatalf("server high-water mark = %d, %v; want 0 after refused writes", hwm, err)
	}
}
