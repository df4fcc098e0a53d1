package syncengine_test

import (
	"context"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/protocol"
	"github.com/throughcare/throughcare/syncproto/sample"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// openTestStream is a Subscribe running in the background.
type openTestStream struct {
	cancel context.CancelFunc
	done   chan error
}

// end stops the stream and waits for Subscribe to return.
func (s *openTestStream) end(t *testing.T) {
	t.Helper()
	s.cancel()
	<-s.done
}

// startStream runs Subscribe for id in the background and waits for its
// first page (the stream is counted by then), or for Subscribe to refuse it.
func startStream(t *testing.T, e *syncengine.Engine, id *identity.Identity) (*openTestStream, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &openTestStream{cancel: cancel, done: make(chan error, 1)}
	first := make(chan struct{}, 1)
	go func() {
		s.done <- e.Subscribe(ctx, id, &v1.SubscribeRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1}, func(context.Context, *v1.SubscribeResponse) error {
			select {
			case first <- struct{}{}:
			default:
			}
			return nil
		})
	}()
	select {
	case <-first:
		t.Cleanup(cancel)
		return s, nil
	case err := <-s.done:
		cancel()
		return nil, err
	}
}

// Streams are capped per device (a new one closes the device's oldest) and
// per user (a new one is refused).
func TestStreamCaps(t *testing.T) {
	st := openStore(t, t.TempDir())
	t.Cleanup(func() { st.Close() })
	e, err := syncengine.New(syncengine.Config{Store: st, Schema: schema.Builtin(), Keepalive: time.Hour, MaxStreamsPerDevice: 1, MaxStreamsPerUser: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)
	dev := sample.NewDevice("u", time.Now, 1)
	cid, chs := dev.NewClient("Lambeth")
	pushOK(t, e, &identity.Identity{Area: "area", UserID: "u", DeviceID: dev.ID, Role: identity.Admin, Buckets: []string{cid}}, chs)

	open := func(user, device string) (*openTestStream, error) {
		t.Helper()
		return startStream(t, e, &identity.Identity{Area: "area", UserID: user, DeviceID: device, Role: identity.Admin, Buckets: []string{cid}})
	}
	mustOpen := func(user, device string) *openTestStream {
		t.Helper()
		s, err := open(user, device)
		if err != nil {
			t.Fatalf("stream of %s on %s refused: %v", user, device, err)
		}
		return s
	}
	exhausted := func(what string, err error) {
		t.Helper()
		if errkind.Of(err) != errkind.Exhausted {
			t.Fatalf("%s: %v, want an Exhausted error", what, err)
		}
	}

	s1 := mustOpen("u", "d1")
	mustOpen("u", "d1") // replaces s1
	exhausted("the replaced stream ended with", <-s1.done)
	s3 := mustOpen("u", "d2")
	_, err = open("u", "d3")
	exhausted("a third device's stream", err)
	mustOpen("v", "d9") // another user is not affected
	mustOpen("u", "d2") // replaces s3: the user still has two
	exhausted("the replaced stream ended with", <-s3.done)
	_, err = open("u", "d3")
	exhausted("a third device's stream, again", err)
}

// A closed stream frees its place.
func TestStreamCapsFreeOnClose(t *testing.T) {
	st := openStore(t, t.TempDir())
	t.Cleanup(func() { st.Close() })
	e, err := syncengine.New(syncengine.Config{Store: st, Keepalive: time.Hour, MaxStreamsPerDevice: 1, MaxStreamsPerUser: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)
	for _, device := range []string{"d1", "d2", "d3"} {
		s, err := startStream(t, e, &identity.Identity{Area: "area", UserID: "u", DeviceID: device, Role: identity.Admin})
		if err != nil {
			t.Fatalf("stream on %s refused: %v", device, err)
		}
		s.end(t)
	}
}
