package review

import (
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/syncengine"

	"google.golang.org/protobuf/proto"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/hlc"
	"github.com/throughcare/throughcare/syncproto/merge"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// TestServerWriteBeatsOlderServerStamps guards the move to one server HLC
// replica: a field last written on the server's account under another
// replica id (old data from "server-review"), stamped ahead of the
// server's wall clock (a clock that has since gone back, or a restore),
// must still lose to a resolution written now, whatever replica id the
// new stamp carries: the service observes the record's stamps before
// stamping, so the replica tiebreak never decides between them.
func TestServerWriteBeatsOlderServerStamps(t *testing.T) {
	for _, old := range []string{"server-review", "server", "zzz"} {
		t.Run(old, func(t *testing.T) {
			w := newWorld(t)
			k := w.contact(w.dev1, w.c1, at(10, 9), "housing", sample.Field{Name: "outcome", Value: sample.Str("Seen")})
			review := func(comment string) string {
				t.Helper()
				note, err := w.svc.ReviewContact(w.ctx, w.supA1, &v1.ReviewContactRequest{ClientId: w.c1, ContactId: k,
					Decision: v1.ReviewDecision_REVIEW_DECISION_REVIEWED, Comment: comment})
				if err != nil {
					t.Fatal(err)
				}
				return note
			}
			note := review("Seen, fine.")
			cur := merge.Field(w.record(w.c1, note), "text").GetStamp()
			ahead := hlc.Pack(w.clock.Now().Add(time.Hour).UnixMilli(), 7)
			_, err := syncengine.Apply(w.ctx, w.st, &syncengine.Batch{UserID: w.supA1.UserID, DeviceID: ServerDevice, ReceivedAt: w.clock.Now(), AssignSeq: true,
				Changes: []*v1.Change{{RecordId: note, RecordType: "review_note", ClientId: w.c1, Field: "text", Value: sample.Str("Old server"),
					Stamp: &v1.Stamp{Time: ahead, Replica: old}, Base: cur}}})
			if err != nil {
				t.Fatal(err)
			}
			if again := review("Seen again."); again != note {
				t.Fatalf("second review wrote note %s, want the contact's note %s", again, note)
			}
			got := merge.Field(w.record(w.c1, note), "text")
			if !proto.Equal(got.GetValue(), sample.Str("Seen again.")) || got.GetStamp().GetTime() <= ahead {
				t.Fatalf("text = %v stamped %v, want the new comment stamped after %d", got.GetValue(), got.GetStamp(), ahead)
			}
		})
	}
}
