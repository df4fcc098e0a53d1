package api_test

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/throughcare/throughcare/server/servertest"
	"github.com/throughcare/throughcare/syncproto/colzstd"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
	"github.com/throughcare/throughcare/syncproto/sample"
	"github.com/throughcare/throughcare/syncproto/zstdwire"
)

// encodings records the Content-Encoding of each response.
type encodings struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen []string
}

func (e *encodings) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := e.next.RoundTrip(r)
	if err == nil {
		e.mu.Lock()
		e.seen = append(e.seen, resp.Header.Get("Content-Encoding"))
		e.mu.Unlock()
	}
	return resp, err
}

// TestPullPagesComeColumnByColumn: a client that offers colzstd (the SDK)
// gets its pull pages in it, and the same pages as a client that offers
// only zstd (an older tablet), which still gets zstd.
func TestPullPagesComeColumnByColumn(t *testing.T) {
	env := servertest.New(t, servertest.Options{})
	seed := sample.NewDevice("seed", time.Now, 1)
	clientID := seed.NewID()
	w := newAdmin(t, env, "admin-c", 2, []string{clientID})
	_, chs := w.dev.NewClient("Lambeth")
	for _, c := range chs {
		c.RecordId, c.ClientId = clientID, clientID
	}
	for range 40 { // past the handler's least size to compress
		_, cchs := w.dev.NewContact(clientID, time.Now())
		chs = append(chs, cchs...)
	}
	if _, err := w.client.Push(context.Background(), pushReq(chs...)); err != nil {
		t.Fatal(err)
	}
	pull := func(opts ...connect.ClientOption) (*encodings, []byte) {
		rec := &encodings{next: env.HTTPClient.Transport}
		c := throughcarev1connect.NewSyncServiceClient(&http.Client{Transport: rec}, env.URL,
			append(opts, connect.WithInterceptors(servertest.BearerToken(w.token)))...)
		resp, err := c.Pull(context.Background(), pullReq(nil, 0))
		if err != nil {
			t.Fatal(err)
		}
		resp.ServerTime = nil
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(resp)
		if err != nil {
			t.Fatal(err)
		}
		return rec, b
	}
	newer, got := pull(zstdwire.ClientOption(), colzstd.ClientOption())
	older, want := pull(zstdwire.ClientOption())
	if len(newer.seen) != 1 || newer.seen[0] != colzstd.Name {
		t.Errorf("a client offering colzstd got %q, want %q", newer.seen, colzstd.Name)
	}
	if len(older.seen) != 1 || older.seen[0] != zstdwire.Name {
		t.Errorf("a client offering zstd only got %q, want %q", older.seen, zstdwire.Name)
	}
	if !bytes.Equal(got, want) {
		t.Error("the two clients were sent different pages")
	}
}
