package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/syncengine"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"

	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// The default memory sizes are small, but one push transaction still holds
// half as much again as the largest push the SDK sends by default (its PushBytes, 1 MiB;
// a single write is far smaller, a Text field holding at most 10,000
// characters), and the most changes the server takes in one push (its
// MaxBatch, 5,000): a memtable too small for them would refuse such a
// push for good.
func TestDefaultMemoryHoldsTheLargestPush(t *testing.T) {
	const maxRequest, maxBatch = 3 << 19, 5000 // 1.5 MiB
	batches := map[string]*syncengine.Batch{}
	// Few large changes: contacts with long notes, up to 1.5 MiB in all.
	d := sample.NewDevice("u", time.Now, 1)
	client, big := d.NewClient("Lambeth")
	for size := 0; ; {
		contact, c := d.NewContact(client, time.Now())
		c = append(c, d.Change("contact", contact, client, "notes", sample.Str(strings.Repeat("n", 40_000)), nil))
		n := proto.Size(&v1.PushRequest{Changes: c})
		if size+n > maxRequest-64<<10 {
			break
		}
		big, size = append(big, c...), size+n
	}
	batches["1.5 MiB of long notes"] = &syncengine.Batch{UserID: "u", DeviceID: d.ID, ReceivedAt: time.Now(), Changes: big}
	// Many small changes: whole contacts up to 5,000 changes.
	d = sample.NewDevice("u", time.Now, 2)
	client, many := d.NewClient("Lambeth")
	for {
		_, c := d.NewContact(client, time.Now())
		if len(many)+len(c) > maxBatch {
			break
		}
		many = append(many, c...)
	}
	batches["5,000 changes"] = &syncengine.Batch{UserID: "u", DeviceID: d.ID, ReceivedAt: time.Now(), Changes: many}
	for name, b := range batches {
		t.Run(name, func(t *testing.T) {
			s, err := store.Open(store.Options{Dir: t.TempDir(), Logger: zerolog.Nop(), GCInterval: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := syncengine.Apply(context.Background(), s, b); err != nil {
				t.Fatalf("Push of %d changes (%d bytes) = %v, want it applied", len(b.Changes), proto.Size(&v1.PushRequest{Changes: b.Changes}), err)
			}
		})
	}
}
