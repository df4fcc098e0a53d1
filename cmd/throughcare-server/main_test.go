package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpcreflect"
	"github.com/rs/zerolog"
	healthv1 "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/throughcare/throughcare/server/api"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/servertest"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
	"github.com/throughcare/throughcare/syncproto/protocol"
)

// runServer runs run() on a random port with a fresh data directory and
// returns its base URL; the test's cleanup cancels it and checks it shut
// down cleanly.
func runServer(t *testing.T, extra ...string) (string, *logBuffer) {
	t.Helper()
	logs := newLogBuffer()
	base, _ := startRun(t, logs, filepath.Join(t.TempDir(), "data"), extra...)
	return base, logs
}

// startRun runs run() on a random port with its data in data, writing to
// logs, and returns its base URL and a stop function that cancels it and
// checks it shut down cleanly (the test's cleanup calls it too; it acts
// once).
func startRun(t *testing.T, logs *logBuffer, data string, extra ...string) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	args := append([]string{"--listen", "127.0.0.1:0", "--data", data, "--log-format", "json"}, extra...)
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, func(string) string { return "" }, logs) }()
	addr := logs.waitFor(t, "listening", "addr")
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("run() returned %v after shutdown", err)
				}
			case <-time.After(30 * time.Second):
				t.Error("server did not shut down")
			}
			logs.waitFor(t, "store closed", "")
		})
	}
	t.Cleanup(stop)
	return "http://" + addr, stop
}

// h2c is an HTTP/2-without-TLS client, as gRPC clients use against the
// server (TLS is terminated in front of it).
func h2c() *http.Client {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: p, TLSClientConfig: &tls.Config{}}}
}

func TestServesHealthReflectionAndProbes(t *testing.T) {
	base, _ := runServer(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s = %d, want 200", path, resp.StatusCode)
		}
	}
	for _, opt := range []connect.ClientOption{connect.WithGRPC(), connect.WithProtoJSON()} {
		health := connect.NewClient[healthv1.HealthCheckRequest, healthv1.HealthCheckResponse](h2c(), base+healthv1.Health_Check_FullMethodName, opt)
		resp, err := health.CallUnary(context.Background(), connect.NewRequest(&healthv1.HealthCheckRequest{}))
		if err != nil {
			t.Fatalf("health check: %v", err)
		}
		if resp.Msg.GetStatus() != healthv1.HealthCheckResponse_SERVING {
			t.Fatalf("health = %v, want SERVING", resp.Msg.GetStatus())
		}
	}
	stream := grpcreflect.NewClient(h2c(), base, connect.WithGRPC()).NewStream(context.Background())
	defer stream.Close()
	names, err := stream.ListServices()
	if err != nil {
		t.Fatalf("reflection: %v", err)
	}
	for _, want := range []string{throughcarev1connect.SyncServiceName, "grpc.health.v1.Health"} {
		if !slices.ContainsFunc(names, func(n protoreflectName) bool { return string(n) == want }) {
			t.Fatalf("reflection lists %v, missing %s", names, want)
		}
	}
}

func TestSyncNeedsASessionOverGRPCAndConnect(t *testing.T) {
	base, logs := runServer(t)
	for _, opt := range []connect.ClientOption{connect.WithGRPC(), connect.WithProtoJSON()} {
		c := throughcarev1connect.NewSyncServiceClient(h2c(), base, opt)
		_, err := c.Pull(context.Background(), &v1.PullRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1})
		if connect.CodeOf(err) != connect.CodeUnauthenticated {
			t.Fatalf("Pull without a session = %v, want unauthenticated", err)
		}
	}
	line := logs.waitFor(t, "call", "request_id")
	if len(line) != 16 {
		t.Fatalf("request id %q, want 16 hex characters", line)
	}
}

// A live stream must outlast the server's timeouts: h2c connections were
// once cut at ReadHeaderTimeout when ReadTimeout was unset (golang/go#80876),
// and a WriteTimeout would cut every stream.
func TestLongStreamsSurviveServerTimeouts(t *testing.T) {
	cfg, err := parseConfig([]string{"--listen", "127.0.0.1:0", "--data", t.TempDir(), "--read-header-timeout", "100ms",
		"--unary-timeout", "100ms", "--keepalive", "40ms"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	logs := newLogBuffer()
	ids := servertest.NewTokens()
	ids.SignIn("t", identity.Identity{UserID: "u", DeviceID: "d"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, zerolog.New(logs), io.Discard, ids) }()
	base := "http://" + logs.waitFor(t, "listening", "addr")
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	for _, opt := range []connect.ClientOption{connect.WithGRPC(), connect.WithProtoJSON()} {
		c := throughcarev1connect.NewSyncServiceClient(h2c(), base, opt, connect.WithInterceptors(servertest.BearerToken("t")))
		sctx, scancel := context.WithTimeout(context.Background(), 20*time.Second)
		stream, err := c.Subscribe(sctx, &v1.SubscribeRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1})
		if err != nil {
			t.Fatal(err)
		}
		start, keepalives := time.Now(), 0
		for time.Since(start) < 600*time.Millisecond {
			if !stream.Receive() {
				t.Fatalf("stream ended after %v (%d keepalives): %v", time.Since(start), keepalives, stream.Err())
			}
			if stream.Msg().GetKeepalive() != nil {
				keepalives++
			}
		}
		stream.Close()
		scancel()
		if keepalives < 3 {
			t.Fatalf("only %d keepalives in 600ms at a 40ms interval", keepalives)
		}
	}
}

func TestConfigFromFlagsAndEnvironment(t *testing.T) {
	env := map[string]string{"THROUGHCARE_LISTEN": "127.0.0.1:9999", "THROUGHCARE_DATA": "/var/lib/tc", "THROUGHCARE_MAX_CLOCK_SKEW": "2m"}
	c, err := parseConfig([]string{"--data", "/srv/tc"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9999" || c.Data != "/srv/tc" || c.MaxClockSkew != 2*time.Minute {
		t.Fatalf("config = %+v; want env listen and skew, flag data", c)
	}
	d, err := parseConfig(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if d.Listen != "127.0.0.1:8080" || d.Data != "./data" {
		t.Fatalf("defaults = %s %s", d.Listen, d.Data)
	}
	if d.AuthRate != 1 || d.AuthBurst != 20 || d.RefreshRate != 5 || d.RefreshBurst != 100 || d.ProxyHeader != "" {
		t.Fatalf("rate limit defaults = %v/s burst %d, refresh %v/s burst %d, header %q", d.AuthRate, d.AuthBurst, d.RefreshRate, d.RefreshBurst, d.ProxyHeader)
	}
	rl, err := parseConfig([]string{"--auth-burst", "5", "--auth-refresh-burst", "30"}, func(k string) string {
		return map[string]string{"THROUGHCARE_AUTH_RATE": "0.5", "THROUGHCARE_AUTH_BURST": "50", "THROUGHCARE_AUTH_REFRESH_RATE": "2",
			"THROUGHCARE_TRUSTED_PROXY_HEADER": "X-Forwarded-For"}[k]
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got := rl.authRateLimit()
	want := api.RateLimit{Ceremony: api.Limits{Address: api.Limit{Rate: 0.5, Burst: 5}}, Refresh: api.Limits{Address: api.Limit{Rate: 2, Burst: 30}},
		TrustedProxyHeader: "X-Forwarded-For"}
	if got.Ceremony != want.Ceremony || got.Refresh != want.Refresh || got.TrustedProxyHeader != want.TrustedProxyHeader {
		t.Fatalf("rate limit = %+v; want %+v (env rates and header, flag bursts)", got, want)
	}
	for name, bad := range map[string]map[string]string{
		"bad_duration":       {"THROUGHCARE_KEEPALIVE": "soon"},
		"bad_log_format":     {"THROUGHCARE_LOG_FORMAT": "xml"},
		"tiny_limit":         {"THROUGHCARE_MAX_REQUEST_BYTES": "10"},
		"huge_limit":         {"THROUGHCARE_MAX_REQUEST_BYTES": "1000000000"},
		"no_decompress":      {"THROUGHCARE_MAX_DECOMPRESSIONS": "0"},
		"negative_tick":      {"THROUGHCARE_KEEPALIVE": "-1s"},
		"no_skew_bound":      {"THROUGHCARE_MAX_CLOCK_SKEW": "0s"},
		"zero_auth_rate":     {"THROUGHCARE_AUTH_RATE": "0"},
		"nan_auth_rate":      {"THROUGHCARE_AUTH_RATE": "NaN"},
		"no_auth_burst":      {"THROUGHCARE_AUTH_BURST": "0"},
		"no_refresh_rate":    {"THROUGHCARE_AUTH_REFRESH_RATE": "0"},
		"inf_refresh_rate":   {"THROUGHCARE_AUTH_REFRESH_RATE": "+Inf"},
		"huge_refresh_burst": {"THROUGHCARE_AUTH_REFRESH_BURST": "2000000"},
		"bad_proxy_hdr":      {"THROUGHCARE_TRUSTED_PROXY_HEADER": "X-Forwarded-For: 1.2.3.4"},
	} {
		if _, err := parseConfig(nil, func(k string) string { return bad[k] }, io.Discard); err == nil {
			t.Errorf("%s: parseConfig accepted %v", name, bad)
		}
	}
	if _, err := parseConfig([]string{"-h"}, func(string) string { return "" }, io.Discard); !errors.Is(err, errHelp) {
		t.Errorf("-h = %v, want flag.ErrHelp", err)
	}
}

func TestLateWorkWindowFlag(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want time.Duration // 0: refused
	}{
		{"default_a_fortnight", nil, nil, 14 * 24 * time.Hour},
		{"from_the_environment", nil, map[string]string{"THROUGHCARE_LATE_WORK_WINDOW": "72h"}, 72 * time.Hour},
		{"flag_over_environment", []string{"--late-work-window", "48h"}, map[string]string{"THROUGHCARE_LATE_WORK_WINDOW": "72h"}, 48 * time.Hour},
		{"zero_refused", []string{"--late-work-window", "0s"}, nil, 0},
		{"negative_refused", []string{"--late-work-window", "-1h"}, nil, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			switch {
			case tt.want == 0 && err == nil:
				t.Fatalf("parseConfig accepted a late-work window of %s", c.LateWorkWindow)
			case tt.want != 0 && err != nil:
				t.Fatal(err)
			case tt.want != 0 && c.LateWorkWindow != tt.want:
				t.Fatalf("late-work window = %s, want %s", c.LateWorkWindow, tt.want)
			}
		})
	}
}

// logBuffer collects JSON log lines written by the server, and the whole
// text written. A terminal one says it is a terminal, as a console is.
type logBuffer struct {
	lines    chan map[string]any
	w        *io.PipeWriter
	terminal bool
	mu       sync.Mutex
	text     strings.Builder
}

func newLogBuffer() *logBuffer {
	r, w := io.Pipe()
	b := &logBuffer{lines: make(chan map[string]any, 1000), w: w}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				b.lines <- m
			}
		}
	}()
	return b
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	b.text.Write(p)
	b.mu.Unlock()
	return b.w.Write(p)
}

// IsTerminal reports whether the buffer stands for a terminal.
func (b *logBuffer) IsTerminal() bool { return b.terminal }

// String returns everything written so far.
func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.text.String()
}

// waitFor waits for a log line with the message and returns its field.
func (b *logBuffer) waitFor(t *testing.T, msg, field string) string {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case m := <-b.lines:
			if m["message"] == msg {
				s, _ := m[field].(string)
				return s
			}
		case <-timeout:
			t.Fatalf("no %q log line", msg)
		}
	}
}

type protoreflectName = protoreflect.FullName

var errHelp = flag.ErrHelp
