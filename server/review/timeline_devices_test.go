package review

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// The timeline names the devices its changes came from: those of the
// area's people, and the server.
func TestTimelineDeviceNames(t *testing.T) {
	w := newWorld(t)
	stranger := sample.NewDevice("someone-b", w.clock.Now, 77) // not a user of area A
	if err := w.st.Directory(w.ctx, func(tx store.DirTx) error {
		if err := tx.PutDevice(&store.Device{ID: w.dev1.ID, UserID: w.w1.UserID, Name: "Sam’s tablet"}); err != nil {
			return err
		}
		return tx.PutDevice(&store.Device{ID: stranger.ID, UserID: "someone-b", Name: "Not yours"})
	}); err != nil {
		t.Fatal(err)
	}
	k := w.contact(w.dev1, w.c1, at(10, 10), "general")
	w.push(stranger, []*v1.Change{stranger.Change("contact", k, w.c1, "outcome", sample.Str("Seen"), nil)}, nil)
	if _, err := w.svc.ReviewContact(w.ctx, w.supA1, &v1.ReviewContactRequest{ClientId: w.c1, ContactId: k,
		Decision: v1.ReviewDecision_REVIEW_DECISION_REVIEWED}); err != nil {
		t.Fatal(err)
	}
	tl, err := w.svc.GetTimeline(w.ctx, w.supA1, w.c1)
	if err != nil {
		t.Fatal(err)
	}
	want := []*v1.DeviceName{{DeviceId: w.dev1.ID, Name: "Sam’s tablet"}, {DeviceId: ServerDevice, Name: "Server"}}
	if w.dev1.ID > ServerDevice {
		want[0], want[1] = want[1], want[0]
	}
	got := tl.GetDevices()
	if len(got) != len(want) || !proto.Equal(got[0], want[0]) || !proto.Equal(got[1], want[1]) {
		t.Errorf("devices %v, want %v", got, want)
	}
}
