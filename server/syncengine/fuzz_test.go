package syncengine_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"

	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/protocol"
	"github.com/throughcare/throughcare/syncproto/sample"
)

var fuzzNow = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// FuzzPush decodes arbitrary bytes as a PushRequest and pushes it. The
// engine must never panic, must answer with a response or one of its typed
// errors, and a refused push must change nothing.
func FuzzPush(f *testing.F) {
	dev := sample.NewDevice("fuzz-user", func() time.Time { return fuzzNow }, 1)
	client, chs := dev.NewClient("Lambeth")
	_, contact := dev.NewContact(client, fuzzNow)
	for _, req := range []*v1.PushRequest{
		{ProtocolVersion: protocol.Version, SchemaVersion: 1, Changes: chs},
		{ProtocolVersion: protocol.Version, SchemaVersion: 1, Changes: append(chs, contact...)},
		{ProtocolVersion: protocol.Version, SchemaVersion: 1, Changes: contact[:3]},
		{ProtocolVersion: protocol.Version + 1, SchemaVersion: 1},
	} {
		b, _ := proto.Marshal(req)
		f.Add(b)
	}
	st, err := store.Open(store.Options{InMemory: true, Logger: zerolog.Nop()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	eng, err := syncengine.New(syncengine.Config{Store: st, Now: func() time.Time { return fuzzNow }, MaxBatch: 200})
	if err != nil {
		f.Fatal(err)
	}
	id := &identity.Identity{Area: "area", UserID: "fuzz-user", DeviceID: dev.ID, Buckets: []string{client}}
	f.Fuzz(func(t *testing.T, data []byte) {
		var req v1.PushRequest
		if proto.Unmarshal(data, &req) != nil {
			return
		}
		before, err := st.HighWater(context.Background(), dev.ID)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := eng.Push(context.Background(), id, &req)
		if err != nil {
			var rej *syncengine.RejectedError
			var bad *syncengine.RequestError
			if !errors.As(err, &rej) && !errors.As(err, &bad) {
				t.Fatalf("untyped error: %v", err)
			}
			if after, _ := st.HighWater(context.Background(), dev.ID); after != before {
				t.Fatalf("refused push moved the high-water mark %d → %d", before, after)
			}
			return
		}
		if len(resp.GetResults()) != len(req.GetChanges()) {
			t.Fatalf("%d results for %d changes", len(resp.GetResults()), len(req.GetChanges()))
		}
		for _, r := range resp.GetResults() {
			if r.GetVerdict() == v1.Verdict_VERDICT_UNSPECIFIED {
				t.Fatal("change without a verdict")
			}
		}
	})
}
