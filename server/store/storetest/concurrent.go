package storetest

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/merge"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// A reader pulling on from where it stands while devices push into the
// same bucket never passes a position that commits after it read: every
// record (each written once, so it stays at its position) reaches it. A
// backend that commits one bucket's positions out of order fails this.
func testPullDuringPushes(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	seed := newDevice("admin", 25)
	client, chs := seed.NewClient("Croydon")
	push(t, s, seed, chs)
	var mu sync.Mutex
	want := map[string]bool{client: true}
	const devices, batches = 4, 12
	var wg sync.WaitGroup
	for i := range devices {
		wg.Go(func() {
			d := newDevice(fmt.Sprintf("p%d", i), uint64(200+i))
			for range batches {
				contact, c := d.NewContact(client, epoch)
				if _, err := syncengine.Apply(ctx, s, &syncengine.Batch{UserID: d.UserID, DeviceID: d.ID, ReceivedAt: epoch, Changes: c}); err != nil {
					t.Errorf("Push: %v", err)
					return
				}
				mu.Lock()
				want[contact] = true
				mu.Unlock()
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	seen := map[string]bool{}
	from := map[string]uint64{client: 0}
	pull := func() bool {
		page, err := s.Pull(ctx, store.PullQuery{From: from, Limit: 3})
		if err != nil {
			t.Fatalf("Pull: %v", err)
		}
		for _, bp := range page.Buckets {
			for _, b := range bp.Records {
				r := &v1.RecordState{}
				if err := proto.Unmarshal(b, r); err != nil {
					t.Fatal(err)
				}
				seen[r.GetRecordId()] = true
			}
			from[bp.Bucket] = bp.Position
		}
		return page.HasMore
	}
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			pull()
		}
	}
	for pull() {
	}
	if !maps.Equal(seen, want) {
		missed := 0
		for id := range want {
			if !seen[id] {
				missed++
			}
		}
		t.Fatalf("the reader missed %d of %d records pushed while it pulled", missed, len(want))
	}
}

// Devices editing one record at once, each its own field, each keep their
// edits: a push reads the record as the last push to it left it, so none
// writes back a state that lacks another's change.
func testConcurrentEditsOfOneRecord(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	seed := newDevice("admin", 26)
	client, chs := seed.NewClient("Barnet")
	push(t, s, seed, chs)
	fields := []string{"given_name", "family_name", "area", "status"}
	const edits = 6
	start := mustRecord(t, s, client, client)
	var wg sync.WaitGroup
	for i, name := range fields {
		wg.Go(func() {
			d := newDevice(fmt.Sprintf("e%d", i), uint64(300+i))
			base := merge.Field(start, name).GetStamp()
			d.Observe(base)
			for k := range edits {
				ch := d.Change("client", client, client, name, sample.Str(fmt.Sprintf("%s-%d", name, k)), base)
				res, err := syncengine.Apply(ctx, s, &syncengine.Batch{UserID: d.UserID, DeviceID: d.ID, ReceivedAt: epoch, Changes: []*v1.Change{ch}})
				if err != nil || res.Results[0].Verdict != v1.Verdict_VERDICT_APPLIED || res.Results[0].Conflict {
					t.Errorf("edit %d of %s = %+v, %v; want applied without conflict", k, name, res, err)
					return
				}
				base = ch.GetStamp()
			}
		})
	}
	wg.Wait()
	r := mustRecord(t, s, client, client)
	for _, name := range fields {
		if got, want := field(t, r, name).GetValue().GetStringValue(), fmt.Sprintf("%s-%d", name, edits-1); got != want {
			t.Errorf("%s = %q, want %q: a concurrent push wrote back a state without it", name, got, want)
		}
	}
	if len(r.GetConflicts()) != 0 {
		t.Errorf("conflicts = %v, want none (every edit saw its field's last value)", r.GetConflicts())
	}
}
