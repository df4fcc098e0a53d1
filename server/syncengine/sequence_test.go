package syncengine_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/protocol"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// shifted copies changes with their device_seq moved by by, from the i-th
// change on.
func shifted(chs []*v1.Change, from int, by int64) []*v1.Change {
	out := make([]*v1.Change, len(chs))
	for i, ch := range chs {
		out[i] = proto.Clone(ch).(*v1.Change)
		if i >= from {
			out[i].DeviceSeq = uint64(int64(ch.GetDeviceSeq()) + by)
		}
	}
	return out
}

// A push whose first new change is ahead of the device's high-water mark
// (the server lost changes) is answered with a sequence reset carrying the
// mark; a push that follows it is applied, one below it is answered with
// duplicates, and a gap inside a push stays a sequence error.
func TestPushAheadOfHighWaterAsksForSequenceReset(t *testing.T) {
	dev := sample.NewDevice("worker", time.Now, 3)
	client, first := dev.NewClient("Leeds")
	_, more := dev.NewContact(client, time.Now())
	hwm := first[len(first)-1].GetDeviceSeq()
	id := &identity.Identity{Area: "area", UserID: "worker", DeviceID: dev.ID, Role: identity.Admin, Buckets: []string{client}}

	tests := []struct {
		name      string
		push      []*v1.Change
		wantReset bool       // a SEQUENCE_AHEAD reset with HighWater hwm
		wantOther bool       // an error, never a reset
		verdict   v1.Verdict // otherwise every change's verdict
	}{
		{name: "follows the mark", push: more, verdict: v1.Verdict_VERDICT_APPLIED},
		{name: "ahead by one", push: shifted(more, 0, 1), wantReset: true},
		{name: "far ahead", push: shifted(more, 0, 1000), wantReset: true},
		{name: "at or below the mark", push: first, verdict: v1.Verdict_VERDICT_DUPLICATE},
		{name: "gap inside the push", push: shifted(more, 1, 1), wantOther: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := openStore(t, t.TempDir())
			defer st.Close()
			e := newEngine(t, st, nil)
			pushOK(t, e, id, first)
			resp, err := e.Push(context.Background(), id, &v1.PushRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1, Changes: tt.push})
			var reset *syncengine.ResetError
			switch {
			case tt.wantReset:
				if !errors.As(err, &reset) || reset.Reason != v1.ResetReason_RESET_REASON_SEQUENCE_AHEAD {
					t.Fatalf("Push = %v, want a SEQUENCE_AHEAD reset", err)
				}
				if got, want := reset.HighWater, hwm; got != want {
					t.Errorf("reset HighWater = %d, want %d", got, want)
				}
				if got, want := reset.Got, tt.push[0].GetDeviceSeq(); got != want {
					t.Errorf("reset Got = %d, want %d", got, want)
				}
			case tt.wantOther:
				if err == nil || errors.As(err, &reset) {
					t.Fatalf("Push = %v, want an error that is not a reset", err)
				}
			default:
				if err != nil {
					t.Fatalf("Push = %v, want %s", err, tt.verdict)
				}
				for _, r := range resp.GetResults() {
					if got := r.GetVerdict(); got != tt.verdict {
						t.Errorf("seq %d verdict = %v, want %v", r.GetDeviceSeq(), got, tt.verdict)
					}
				}
			}
		})
	}
}
