package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/diskspace"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/servertest"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
	"github.com/throughcare/throughcare/syncproto/protocol"
	"github.com/throughcare/throughcare/syncproto/sample"
)

func TestMinFreeBytesFlag(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want int64 // -1: refused
	}{
		{"default_512_MiB", nil, nil, diskspace.DefaultMinFree},
		{"from_the_environment", nil, map[string]string{"THROUGHCARE_MIN_FREE_BYTES": "1073741824"}, 1 << 30},
		{"flag_over_environment", []string{"--min-free-bytes", "0"}, map[string]string{"THROUGHCARE_MIN_FREE_BYTES": "1073741824"}, 0},
		{"negative_refused", []string{"--min-free-bytes", "-1"}, nil, -1},
		{"not_a_number_refused", []string{"--min-free-bytes", "512MiB"}, nil, -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			switch {
			case tt.want < 0 && err == nil:
				t.Fatalf("parseConfig accepted --min-free-bytes %d", c.MinFreeBytes)
			case tt.want >= 0 && err != nil:
				t.Fatal(err)
			case tt.want >= 0 && c.MinFreeBytes != tt.want:
				t.Fatalf("min free bytes = %d, want %d", c.MinFreeBytes, tt.want)
			}
		})
	}
}

// A server restarted on a (nearly) full disk starts, serves reads and
// refuses writes. "Full" is real: the threshold is set above what any disk
// has free, and the data directory's filesystem is measured with Statfs.
func TestRestartOnAFullDiskServesReadsRefusesWrites(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	clientID := sample.NewDevice("seed", time.Now, 1).NewID()
	dev := sample.NewDevice("admin", time.Now, 2)
	ids := servertest.NewTokens()
	ids.SignIn("t", identity.Identity{UserID: "admin", DeviceID: dev.ID, Role: identity.Admin, Area: "Lambeth", Buckets: []string{clientID}})
	_, client := dev.NewClient("Lambeth")
	for _, c := range client {
		c.RecordId, c.ClientId = clientID, clientID
	}
	_, contact := dev.NewContact(clientID, time.Now())
	push := func(c throughcarev1connect.SyncServiceClient, chs []*v1.Change) error {
		_, err := c.Push(context.Background(), &v1.PushRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1, Changes: chs})
		return err
	}

	base, _, stop := serveOn(t, data, ids)
	if err := push(syncClient(base), client); err != nil {
		t.Fatalf("Push with room: %v", err)
	}
	stop()

	base, logs, _ := serveOn(t, data, ids, "--min-free-bytes", "4611686018427387904") // 4 EiB
	if n := strings.Count(logs.String(), "disk nearly full: refusing writes"); n != 1 {
		t.Fatalf("%d warnings of a full disk at start, want 1:\n%s", n, logs)
	}
	c := syncClient(base)
	err := push(c, contact)
	if connect.CodeOf(err) != connect.CodeResourceExhausted || !strings.Contains(err.Error(), "writes are refused until space is freed") {
		t.Fatalf("Push on a full disk = %v, want resource_exhausted saying writes are refused", err)
	}
	resp, err := c.Pull(context.Background(), &v1.PullRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1})
	if err != nil {
		t.Fatalf("Pull on a full disk: %v", err)
	}
	if b := resp.GetBuckets(); len(b) != 1 || len(b[0].GetRecords()) != 1 || b[0].GetRecords()[0].GetRecordId() != clientID {
		t.Fatalf("Pull on a full disk = %v, want the client pushed before the restart", b)
	}
}

// serveOn runs serve() on a random port with its data in data and callers
// resolved by ids, and returns its base URL, its logs and a stop function
// (the test's cleanup calls it too; it acts once).
func serveOn(t *testing.T, data string, ids identity.Source, extra ...string) (string, *logBuffer, func()) {
	t.Helper()
	cfg, err := parseConfig(append([]string{"--listen", "127.0.0.1:0", "--data", data}, extra...), func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	logs := newLogBuffer()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, zerolog.New(logs), io.Discard, ids) }()
	base := "http://" + logs.waitFor(t, "listening", "addr")
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}
	t.Cleanup(stop)
	return base, logs, stop
}

func syncClient(base string) throughcarev1connect.SyncServiceClient {
	return throughcarev1connect.NewSyncServiceClient(h2c(), base, connect.WithGRPC(), connect.WithInterceptors(servertest.BearerToken("t")))
}
