package api_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/api"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/servertest"
	"github.com/throughcare/throughcare/server/servertest/fixture"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
	"github.com/throughcare/throughcare/syncproto/protocol"
)

// writeTimeout sets the API's write timeout.
func writeTimeout(d time.Duration) func(*api.Config) {
	return func(c *api.Config) { c.WriteTimeout = d }
}

// smallWindows returns a client like c whose HTTP/2 flow-control windows
// are small, so a server writing to it blocks after a few kilobytes unless
// it reads.
func smallWindows(c *http.Client) *http.Client {
	tr := c.Transport.(*http.Transport).Clone()
	tr.HTTP2 = &http.HTTP2Config{MaxReceiveBufferPerConnection: 64 << 10, MaxReceiveBufferPerStream: 16 << 10}
	return &http.Client{Transport: tr}
}

// syncClientOver is a SyncService client of env over hc, sending token.
func syncClientOver(hc *http.Client, env *servertest.Env, token string, opts ...connect.ClientOption) throughcarev1connect.SyncServiceClient {
	return throughcarev1connect.NewSyncServiceClient(hc, env.URL, append(opts, bearerOpts(token)...)...)
}

// waitUntil polls cond until it holds; goroutine counts and stack states
// (what these tests wait on) give no channel to wait on. The deadline is
// only a safety net: on a slow machine the wait is longer, never wrong.
func waitUntil(t *testing.T, cond func() bool, fail func() string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal(fail())
		}
	}
}

// waitGoroutines waits until the process is back to at most baseline
// goroutines.
func waitGoroutines(t *testing.T, baseline int, what string) {
	t.Helper()
	waitUntil(t, func() bool { return runtime.NumGoroutine() <= baseline }, func() string {
		open, blocked := serverStreams()
		return fmt.Sprintf("%s: %d goroutines, baseline %d (%d streams open, %d blocked writing)", what, runtime.NumGoroutine(), baseline, open, blocked)
	})
}

// waitBlocked waits until n Subscribe streams are blocked writing.
func waitBlocked(t *testing.T, n int) {
	t.Helper()
	waitUntil(t, func() bool { _, blocked := serverStreams(); return blocked >= n }, func() string {
		open, blocked := serverStreams()
		return fmt.Sprintf("%d streams blocked writing (%d open), want %d", blocked, open, n)
	})
}

// stuckEnv is a server (HTTP/1.1 and h2c, as the binary serves) whose
// catch-up for "stuck" does not fit the socket buffers, with the given API
// and engine settings.
func stuckEnv(t *testing.T, api func(*api.Config), engine syncengine.Config, id identity.Identity) (*servertest.Env, *fixture.Logs) {
	t.Helper()
	if engine.Keepalive == 0 {
		engine.Keepalive = time.Hour
	}
	logs := &fixture.Logs{}
	env := servertest.New(t, servertest.Options{Engine: engine, Configure: api, Log: zerolog.New(logs),
		Serve: servertest.ServeOptions{Plaintext: true, Listener: smallSendBuffers}})
	id.Buckets = seedClients(t, env, 2, 300)
	id.Role = identity.Admin
	env.SignIn("stuck", id)
	// Warm the shared client's connection so it counts in the baseline.
	if _, err := env.SyncClient("stuck").Pull(context.Background(), pullReq(nil, 1)); err != nil {
		t.Fatal(err)
	}
	return env, logs
}

// waitStreamEnd waits for the log line of a Subscribe call that ended with
// code.
func waitStreamEnd(t *testing.T, logs *fixture.Logs, code connect.Code) {
	t.Helper()
	want := `"code":"` + code.String() + `"`
	waitUntil(t, func() bool {
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, throughcarev1connect.SyncServiceSubscribeProcedure) && strings.Contains(line, want) {
				return true
			}
		}
		return false
	}, func() string {
		open, blocked := serverStreams()
		return fmt.Sprintf("no Subscribe ended with %s (%d streams open, %d blocked writing); logs:\n%s", code, open, blocked, logs)
	})
}

// A client that stops reading a stream is dropped once a write has been
// blocked for the write timeout, and everything serving it is released.
func TestStuckReaderIsDropped(t *testing.T) {
	t.Run("http1", func(t *testing.T) {
		env, logs := stuckEnv(t, writeTimeout(100*time.Millisecond), syncengine.Config{}, identity.Identity{UserID: "stuck", DeviceID: "tablet"})
		baseline := runtime.NumGoroutine()
		stuckSubscribe(t, env, "stuck")
		waitStreamEnd(t, logs, connect.CodeDeadlineExceeded)
		waitGoroutines(t, baseline, "after the stuck reader's write timeout")
	})
	for _, p := range protocols {
		t.Run("h2c_"+p.name, func(t *testing.T) {
			env, logs := stuckEnv(t, writeTimeout(100*time.Millisecond), syncengine.Config{}, identity.Identity{UserID: "stuck", DeviceID: "tablet"})
			sc := syncClientOver(smallWindows(env.HTTPClient), env, "stuck", p.opts...)
			if _, err := sc.Pull(context.Background(), pullReq(nil, 1)); err != nil {
				t.Fatal(err)
			}
			baseline := runtime.NumGoroutine()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stream, err := sc.Subscribe(ctx, &v1.SubscribeRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer stream.Close()
			waitStreamEnd(t, logs, connect.CodeDeadlineExceeded)
			waitGoroutines(t, baseline, "after the stuck reader's write timeout")
			for stream.Receive() {
			}
			if stream.Err() == nil {
				t.Fatal("the dropped stream ended cleanly")
			}
		})
	}
}

// A stream blocked on a client that does not read still closes at once
// when the session ends, the caseload changes, the server shuts down or
// the stream reaches its maximum age.
func TestBlockedStreamCloses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		engine syncengine.Config
		end    func(env *servertest.Env, ended, changed chan struct{})
		code   connect.Code
	}{
		{"session_ended", syncengine.Config{}, func(_ *servertest.Env, ended, _ chan struct{}) { close(ended) }, connect.CodeUnauthenticated},
		{"caseload_changed", syncengine.Config{}, func(_ *servertest.Env, _, changed chan struct{}) { close(changed) }, connect.CodeAborted},
		{"shutdown", syncengine.Config{}, func(env *servertest.Env, _, _ chan struct{}) { env.Engine.Shutdown() }, connect.CodeUnavailable},
		// The stream blocks long before its maximum age, unless the machine
		// is very slow: then it closes before blocking, which passes too.
		{"max_age", syncengine.Config{StreamMaxAge: 300 * time.Millisecond}, nil, connect.CodeUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ended, changed := make(chan struct{}), make(chan struct{})
			env, logs := stuckEnv(t, writeTimeout(time.Hour), tc.engine, identity.Identity{UserID: "stuck", DeviceID: "tablet", Ended: ended, Changed: changed})
			baseline := runtime.NumGoroutine()
			stuckSubscribe(t, env, "stuck")
			if tc.end != nil {
				waitBlocked(t, 1)
				tc.end(env, ended, changed)
			}
			waitStreamEnd(t, logs, tc.code)
			waitGoroutines(t, baseline, "after the stream had to close")
		})
	}
}

// Deadlines bound writes and bodies, not streams: an idle stream outlives
// both timeouts many times over, over HTTP/2, HTTP/1.1 and h2c.
func TestIdleStreamsOutliveDeadlines(t *testing.T) {
	short := func(c *api.Config) { c.WriteTimeout, c.ReadBodyTimeout = 20*time.Millisecond, 20*time.Millisecond }
	for _, tr := range []struct {
		name  string
		serve servertest.ServeOptions
		http1 bool
	}{{"h2", servertest.ServeOptions{}, false}, {"http1", servertest.ServeOptions{Plaintext: true}, true}, {"h2c", servertest.ServeOptions{Plaintext: true}, false}} {
		t.Run(tr.name, func(t *testing.T) {
			env := servertest.New(t, servertest.Options{Engine: syncengine.Config{Keepalive: 100 * time.Millisecond}, Configure: short, Serve: tr.serve})
			env.SignIn("idle", identity.Identity{UserID: "idle", DeviceID: "tablet"})
			hc := env.HTTPClient
			if tr.http1 {
				hc = &http.Client{Transport: &http.Transport{}}
			}
			stream, _ := subscribe(t, syncClientOver(hc, env, "idle"), nil)
			receive(t, stream) // catch-up
			for range 3 {
				if receive(t, stream).GetKeepalive() == nil {
					t.Fatal("want keepalives on an idle stream")
				}
			}
		})
	}
}

// Each user may have MaxStreamsPerUser streams open; more are refused
// with ResourceExhausted, and a device's newer stream replaces its oldest.
func TestStreamCapsOverHTTP(t *testing.T) {
	env := servertest.New(t, servertest.Options{Engine: syncengine.Config{Keepalive: time.Hour, MaxStreamsPerDevice: 1, MaxStreamsPerUser: 2}})
	for _, tok := range []string{"a", "b", "c"} {
		env.SignIn(tok, identity.Identity{UserID: "worker", DeviceID: "tablet-" + tok})
	}
	env.SignIn("a2", identity.Identity{UserID: "worker", DeviceID: "tablet-a"})
	first, _ := subscribe(t, env.SyncClient("a"), nil)
	receive(t, first)
	b, _ := subscribe(t, env.SyncClient("b"), nil)
	receive(t, b)
	third, _ := subscribe(t, env.SyncClient("c"), nil)
	if third.Receive() {
		t.Fatal("a third device's stream was served")
	}
	if cerr := assertCode(t, "third stream", third.Err(), connect.CodeResourceExhausted); cerr.Message() == "" {
		t.Fatal("no message")
	}
	again, _ := subscribe(t, env.SyncClient("a2"), nil) // the same tablet again
	receive(t, again)
	for first.Receive() {
	}
	assertCode(t, "replaced stream", first.Err(), connect.CodeResourceExhausted)
}

// A request body that trickles in is cut off at the body deadline with
// DeadlineExceeded, for unary calls and streams, over HTTP/1.1, h2c and
// HTTP/2 with TLS.
func TestTrickledBodyIsCutOff(t *testing.T) {
	bodyTimeout := func(c *api.Config) { c.ReadBodyTimeout = 100 * time.Millisecond }
	plain := servertest.New(t, servertest.Options{Configure: bodyTimeout, Serve: servertest.ServeOptions{Plaintext: true}})
	secure := servertest.New(t, servertest.Options{Configure: bodyTimeout})
	for _, env := range []*servertest.Env{plain, secure} {
		env.SignIn("slow", identity.Identity{UserID: "slow", DeviceID: "tablet"})
	}
	// Each sends the headers of a 100-byte body, then one byte of it, and
	// returns what came back; the deadlines are only safety nets.
	transports := map[string]func(t *testing.T, path, contentType string) string{
		"http1": func(t *testing.T, path, contentType string) string {
			u, _ := url.Parse(plain.URL)
			c, err := net.Dial("tcp", u.Host)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nAuthorization: Bearer slow\r\nContent-Length: 100\r\n\r\n{", path, u.Host, contentType)
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			b, err := io.ReadAll(c)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			return string(b)
		},
		"h2c": func(t *testing.T, path, contentType string) string { return trickle(t, plain, path, contentType) },
		"h2":  func(t *testing.T, path, contentType string) string { return trickle(t, secure, path, contentType) },
	}
	for name, send := range transports {
		for path, contentType := range map[string]string{
			throughcarev1connect.SyncServicePushProcedure:      "application/json",
			throughcarev1connect.SyncServiceSubscribeProcedure: "application/connect+json",
		} {
			t.Run(name+path, func(t *testing.T) {
				if got := send(t, path, contentType); !strings.Contains(got, `"code":"deadline_exceeded"`) {
					t.Fatalf("answer to a trickled body: %q, want deadline_exceeded", got)
				}
			})
		}
	}
}

// trickle sends one byte of a request body through env's client and
// returns the answer's body.
func trickle(t *testing.T, env *servertest.Env, path, contentType string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pr, pw := io.Pipe()
	defer pw.Close()
	go pw.Write([]byte("{"))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, env.URL+path, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer slow")
	resp, err := env.HTTPClient.Do(req)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	return string(b)
}
