package api_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/servertest"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
	"github.com/throughcare/throughcare/syncproto/protocol"
	"github.com/throughcare/throughcare/syncproto/sample"
	"github.com/throughcare/throughcare/syncproto/sample/peer"
)

// Responses are compressed where it pays (compression.go): a push's
// response, which does not compress, is sent as it is even above 1 KiB;
// a pull page of a single peer-workload contact (under 1 KiB) is
// compressed, as is a large one; every response decodes.
func TestResponsesCompressedWherePays(t *testing.T) {
	ctx := context.Background()
	env := servertest.New(t, servertest.Options{})
	office := sample.NewDevice("office", time.Now, 99)
	id := identity.Identity{Area: "bench-area", UserID: "office", DeviceID: office.ID, Role: identity.Admin}
	clientID, seed := office.NewClient("Lambeth")
	id.Buckets = []string{clientID}
	if _, err := env.Engine.Push(ctx, &id, &v1.PushRequest{ProtocolVersion: protocol.Version, SchemaVersion: benchSchemaVersion, Changes: seed}); err != nil {
		t.Fatal(err)
	}
	env.SignIn("office", id)
	g := peer.New(7)
	var chs []*v1.Change
	for len(chs) < 200 {
		ct := g.NextContact()
		chs = append(chs, office.Record("contact", ct.ID, clientID, ct.Fields("office"))...)
	}
	tests := []struct {
		name     string
		call     func(c throughcarev1connect.SyncServiceClient) (int, error) // the response's size, encoded
		min, max int
		want     string // Content-Encoding
	}{
		{"a push of 200 changes", func(c throughcarev1connect.SyncServiceClient) (int, error) {
			resp, err := c.Push(ctx, &v1.PushRequest{ProtocolVersion: protocol.Version, SchemaVersion: benchSchemaVersion, Changes: chs})
			if err == nil && len(resp.GetResults()) != len(chs) {
				t.Errorf("push: %d results, want %d", len(resp.GetResults()), len(chs))
			}
			return proto.Size(resp), err
		}, 1024, 64 << 10, ""},
		{"a pull page of one contact", func(c throughcarev1connect.SyncServiceClient) (int, error) {
			resp, err := c.Pull(ctx, &v1.PullRequest{ProtocolVersion: protocol.Version, SchemaVersion: benchSchemaVersion, Limit: 1})
			return proto.Size(resp), err
		}, 512, 1024, "zstd"},
		{"a pull page of every contact", func(c throughcarev1connect.SyncServiceClient) (int, error) {
			resp, err := c.Pull(ctx, &v1.PullRequest{ProtocolVersion: protocol.Version, SchemaVersion: benchSchemaVersion, Limit: 500})
			return proto.Size(resp), err
		}, 4096, 1 << 30, "zstd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, w := benchHTTPClient(env, "office", true)
			size, err := tt.call(c)
			if err != nil {
				t.Fatal(err)
			}
			if size < tt.min || size >= tt.max {
				t.Fatalf("the response is %d bytes, want from %d to under %d (the case is not the one meant)", size, tt.min, tt.max)
			}
			if got := w.encodings(); got != "["+encodingName(tt.want)+"×1]" {
				t.Errorf("Content-Encodings = %s, want %s once", got, encodingName(tt.want))
			}
		})
	}
}

func encodingName(e string) string {
	if e == "" {
		return "identity"
	}
	return e
}
