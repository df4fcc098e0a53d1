package api_test

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/binary"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/throughcare/throughcare/server/api"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/servertest"
	"github.com/throughcare/throughcare/syncproto/colzstd"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
	"github.com/throughcare/throughcare/syncproto/sample"
	"github.com/throughcare/throughcare/syncproto/zstdwire"
)

const (
	pushPath       = throughcarev1connect.SyncServicePushProcedure
	pullPath       = throughcarev1connect.SyncServicePullProcedure
	loginPath      = throughcarev1connect.AuthServiceBeginLoginProcedure
	healthPath     = "/grpc.health.v1.Health/Check"
	reflectionPath = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
	// bombLimit is the tests' --max-request-bytes: room for the 1 GiB gzip
	// bomb (about 1 MB) to reach the decompressor.
	bombLimit = 1536 << 10
)

// decoderProbe sits between the limit and a codec and records, for every
// message decompressed, how many bytes the codec produced.
type decoderProbe struct {
	mu       sync.Mutex
	produced []int64
	// onRead, when set, runs before every read of a codec.
	onRead func()
}

func (p *decoderProbe) wrap(_ string, d connect.Decompressor) connect.Decompressor {
	return &probedCodec{Decompressor: d, probe: p}
}

// take returns what was recorded since the last call.
func (p *decoderProbe) take() []int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.produced
	p.produced = nil
	return out
}

type probedCodec struct {
	connect.Decompressor
	probe *decoderProbe
	n     int64
}

func (c *probedCodec) Read(b []byte) (int, error) {
	if c.probe.onRead != nil {
		c.probe.onRead()
	}
	n, err := c.Decompressor.Read(b)
	c.n += int64(n)
	return n, err
}

func (c *probedCodec) Reset(r io.Reader) error {
	c.n = 0
	return c.Decompressor.Reset(r)
}

// Close ends a message (connect-go closes the decompressor after each).
func (c *probedCodec) Close() error {
	c.probe.mu.Lock()
	c.probe.produced = append(c.probe.produced, c.n)
	c.probe.mu.Unlock()
	return c.Decompressor.Close()
}

// newBombEnv starts a server with AuthService (unimplemented: a request
// that gets past decoding is answered Unimplemented), bombLimit as its
// --max-request-bytes unless maxBytes is set, and probe if not nil.
// Requests from rawCall carry bombToken, signed in as a worker: decoding
// happens only for callers with a session (see TestStrangersAreNotDecoded).
func newBombEnv(t testing.TB, probe *decoderProbe, maxAtOnce int, maxBytes int64) *servertest.Env {
	env := servertest.New(t, servertest.Options{MaxRequestBytes: cmp.Or(maxBytes, bombLimit), Configure: func(c *api.Config) {
		c.Auth = throughcarev1connect.UnimplementedAuthServiceHandler{}
		c.MaxDecompressions = maxAtOnce
		if probe != nil {
			*c = api.WithDecoderProbe(*c, probe.wrap)
		}
	}})
	env.SignIn(bombToken, identity.Identity{UserID: "u-bomb", DeviceID: "d-bomb", Role: identity.Worker, Area: "a"})
	return env
}

// TestStrangersAreNotDecoded: a caller without a session is refused from
// the request's headers, before its body is read, let alone decompressed.
func TestStrangersAreNotDecoded(t *testing.T) {
	probe := &decoderProbe{}
	env := newBombEnv(t, probe, 0, 0)
	for _, tc := range []struct{ protocol, procedure, encoding string }{
		{"connect", pushPath, "gzip"}, {"grpc", pushPath, "zstd"}, {"connect-get", pullPath, "zstd"},
	} {
		t.Run(tc.protocol+" "+tc.encoding, func(t *testing.T) {
			body := map[string][]byte{"gzip": gzipBomb1G(), "zstd": zstdBomb(23, 1<<30)}[tc.encoding]
			code, msg := rawCallAs(t, env.HTTPClient, env.URL, "", tc.protocol, tc.procedure, tc.encoding, body)
			if code != connect.CodeUnauthenticated {
				t.Errorf("answered %v (%s), want unauthenticated", code, msg)
			}
			if got := probe.take(); len(got) != 0 {
				t.Errorf("the codec ran for a stranger (%v bytes)", got)
			}
		})
	}
}

func gzipped(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestBombsAreRefusedUnread(t *testing.T) {
	probe := &decoderProbe{}
	env := newBombEnv(t, probe, 0, 0)
	gzip1G, gzip32M, zstd1G := gzipBomb1G(), gzipBomb(32*mib), zstdBomb(23, 1<<30)
	colClaiming1G := binary.AppendUvarint([]byte{1, 'c'}, 1<<30)
	for _, tc := range []struct {
		name, protocol, procedure, encoding string
		body                                []byte
		limit                               int64
		messages                            int // decompressed (0: refused as sent)
	}{
		{"push gzip connect", "connect", pushPath, "gzip", gzip1G, bombLimit, 1},
		{"push gzip grpc", "grpc", pushPath, "gzip", gzip1G, bombLimit, 1},
		{"push zstd connect", "connect", pushPath, "zstd", zstd1G, bombLimit, 1},
		{"push zstd grpc", "grpc", pushPath, "zstd", zstd1G, bombLimit, 1},
		{"pull zstd connect GET", "connect-get", pullPath, "zstd", zstd1G, bombLimit, 1},
		{"login gzip connect", "connect", loginPath, "gzip", gzip32M, api.PublicMaxBytes, 1},
		{"login zstd grpc", "grpc", loginPath, "zstd", zstd1G, api.PublicMaxBytes, 1},
		{"login gzip body over the public limit", "connect", loginPath, "gzip", gzip1G, api.PublicMaxBytes, 0},
		{"health gzip connect", "connect", healthPath, "gzip", gzip32M, api.PublicMaxBytes, 1},
		{"health zstd grpc", "grpc", healthPath, "zstd", zstd1G, api.PublicMaxBytes, 1},
		{"reflection gzip grpc", "grpc", reflectionPath, "gzip", gzip32M, api.PublicMaxBytes, 1},
		{"push colzstd, zstd inside", "connect", pushPath, colzstd.Name, append([]byte{1, 'z'}, zstd1G...), bombLimit, 1},
		{"push colzstd, columns claiming 1 GiB", "grpc", pushPath, colzstd.Name, colClaiming1G, bombLimit, 1},
		{"login colzstd, zstd inside", "grpc", loginPath, colzstd.Name, append([]byte{1, 'z'}, zstd1G...), api.PublicMaxBytes, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, msg := rawCall(t, env.HTTPClient, env.URL, tc.protocol, tc.procedure, tc.encoding, tc.body)
			if code != connect.CodeResourceExhausted {
				t.Errorf("answered %v (%s), want resource_exhausted", code, msg)
			}
			produced := probe.take()
			if len(produced) != tc.messages {
				t.Fatalf("%d messages decompressed, want %d", len(produced), tc.messages)
			}
			// The codec is asked for one byte past the limit at most (and
			// decodes at most a block ahead of that: 32 KiB for flate, 128
			// KiB for zstd, which the heap test bounds).
			for _, n := range produced {
				if n > tc.limit+1 {
					t.Errorf("the codec produced %d bytes, want at most %d (limit + 1)", n, tc.limit+1)
				}
			}
		})
	}
}

func TestZstdWindowOver8MiBIsRefusedBeforeDecoding(t *testing.T) {
	probe := &decoderProbe{}
	env := newBombEnv(t, probe, 0, 0)
	for _, protocol := range []string{"connect", "grpc"} {
		code, msg := rawCall(t, env.HTTPClient, env.URL, protocol, pushPath, "zstd", zstdBomb(26, 1<<20))
		if code != connect.CodeResourceExhausted || !strings.Contains(msg, "window") {
			t.Errorf("%s: a frame declaring a 64 MiB window answered %v (%s), want resource_exhausted about the window", protocol, code, msg)
		}
		if got := probe.take(); len(got) != 1 || got[0] != 0 {
			t.Errorf("%s: the codec produced %v bytes, want nothing", protocol, got)
		}
	}
}

// TestBombsLeaveTheHeapFlat sends 1 GiB bombs and checks the server
// allocated a small multiple of the message limit for each, not the
// gigabyte, and kept none of it.
func TestBombsLeaveTheHeapFlat(t *testing.T) {
	env := newBombEnv(t, nil, 0, 0)
	bodies := map[string][]byte{"gzip": gzipBomb1G(), "zstd": zstdBomb(23, 1<<30)}
	send := func() {
		for encoding, body := range bodies {
			if code, msg := rawCall(t, env.HTTPClient, env.URL, "connect", pushPath, encoding, body); code != connect.CodeResourceExhausted {
				t.Fatalf("%s bomb answered %v (%s), want resource_exhausted", encoding, code, msg)
			}
		}
	}
	send() // warm the pools and the connection
	const rounds = 4
	var before, after runtime.MemStats
	settle := func(ms *runtime.MemStats) {
		runtime.GC()
		runtime.GC() // and the pools' victim caches
		runtime.ReadMemStats(ms)
	}
	settle(&before)
	for range rounds {
		send()
	}
	settle(&after)
	// Per bomb: the body as read (1 MB), the decompressed message growing
	// to the limit (doubling: twice the limit), a zstd window (8 MiB) if
	// the pooled decoder was collected, and the request's own allocations.
	perBomb := uint64(len(bodies["gzip"]) + 2*bombLimit + 8*mib + 4*mib)
	if got, want := after.TotalAlloc-before.TotalAlloc, rounds*uint64(len(bodies))*perBomb; got > want {
		t.Errorf("%d bombs of 1 GiB allocated %d MiB, want at most %d MiB", rounds*len(bodies), got/mib, want/mib)
	}
	if after.HeapInuse > before.HeapInuse+16*mib {
		t.Errorf("heap in use grew from %d MiB to %d MiB", before.HeapInuse/mib, after.HeapInuse/mib)
	}
}

func TestDecompressionsAtOnceAreBounded(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	probe := &decoderProbe{onRead: func() {
		if first.CompareAndSwap(false, true) { // only the first read waits
			close(entered)
			<-release
		}
	}}
	env := newBombEnv(t, probe, 1, 0)
	small := gzipped(t, nil)
	held := make(chan connect.Code)
	go func() {
		code, _ := rawCall(t, env.HTTPClient, env.URL, "connect", pushPath, "gzip", small)
		held <- code
	}()
	<-entered // the first request holds the only slot, inside its codec
	if code, msg := rawCall(t, env.HTTPClient, env.URL, "grpc", pushPath, "gzip", small); code != connect.CodeResourceExhausted || !strings.Contains(msg, "retry") {
		t.Errorf("a second compressed request answered %v (%s), want resource_exhausted asking to retry", code, msg)
	}
	if code, msg := rawCall(t, env.HTTPClient, env.URL, "connect", pushPath, "", nil); code != connect.CodeInvalidArgument {
		t.Errorf("an uncompressed request answered %v (%s), want invalid_argument (decoded, then found empty)", code, msg)
	}
	close(release)
	if code := <-held; code != connect.CodeInvalidArgument {
		t.Errorf("the held request answered %v, want invalid_argument", code)
	}
	if code, msg := rawCall(t, env.HTTPClient, env.URL, "connect", pushPath, "gzip", small); code != connect.CodeInvalidArgument {
		t.Errorf("a compressed request after the slot was freed answered %v (%s), want invalid_argument", code, msg)
	}
}

func TestSmallCompressedRequestsAreServed(t *testing.T) {
	probe := &decoderProbe{}
	env := newBombEnv(t, probe, 0, 0)
	for _, protocol := range []string{"connect", "grpc"} {
		code, msg := rawCall(t, env.HTTPClient, env.URL, protocol, loginPath, "gzip", gzipped(t, nil))
		if code != connect.CodeUnimplemented {
			t.Errorf("%s: a small gzipped BeginLogin answered %v (%s), want it decoded (unimplemented here)", protocol, code, msg)
		}
	}
	probe.take()
	bucket := sample.NewDevice("seed", time.Now, 1).NewID()
	for name, opts := range map[string][]connect.ClientOption{
		"gzip":       {connect.WithSendGzip()},
		"zstd":       {zstdwire.ClientOption(), connect.WithSendCompression(zstdwire.Name)},
		colzstd.Name: {colzstd.ClientOption(), connect.WithSendCompression(colzstd.Name)},
	} {
		w := newWorker(t, env, "worker-"+name, 7, []string{bucket}, append(opts, connect.WithCompressMinBytes(1))...)
		if _, err := w.client.Pull(context.Background(), pullReq(nil, 10)); err != nil {
			t.Errorf("%s-compressed pull: %v", name, err)
		}
		if got := probe.take(); len(got) != 1 {
			t.Errorf("%s pull: %d messages decompressed, want 1 (was it compressed?)", name, len(got))
		}
	}
}
