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
