package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/auth"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
)

// fakeClock is a clock tests move by hand; handlers read it concurrently.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newTestLimiter(t *testing.T, cfg RateLimit) (*authLimiter, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	cfg.Now = clock.Now
	l, err := newAuthLimiter(cfg, publicProcedures)
	if err != nil {
		t.Fatal(err)
	}
	return l, clock
}

// step is one call to the limiter, after moving the clock by advance.
type step struct {
	advance time.Duration
	key     string
	calls   int           // how many calls (default 1)
	allowed bool          // whether each of them is allowed
	limit   string        // which bucket refused it
	wait    time.Duration // how long the refusal says to wait
}

func TestAuthLimiterBuckets(t *testing.T) {
	const a, b = "192.0.2.1", "192.0.2.2"
	tests := []struct {
		name  string
		cfg   RateLimit
		steps []step
	}{
		{
			name: "burst then refused",
			cfg:  RateLimit{Rate: 1, Burst: 3},
			steps: []step{
				{key: a, calls: 3, allowed: true},
				{key: a, allowed: false, limit: limitClient, wait: time.Second},
				{key: a, allowed: false, limit: limitClient, wait: time.Second},
			},
		},
		{
			name: "refills with the clock",
			cfg:  RateLimit{Rate: 2, Burst: 4},
			steps: []step{
				{key: a, calls: 4, allowed: true},
				{key: a, allowed: false, limit: limitClient, wait: 500 * time.Millisecond},
				{advance: 250 * time.Millisecond, key: a, allowed: false, limit: limitClient, wait: 250 * time.Millisecond},
				{advance: 250 * time.Millisecond, key: a, allowed: true},
				{key: a, allowed: false, limit: limitClient, wait: 500 * time.Millisecond},
				// Long idle refills to the burst, no further.
				{advance: time.Hour, key: a, calls: 4, allowed: true},
				{key: a, allowed: false, limit: limitClient, wait: 500 * time.Millisecond},
			},
		},
		{
			name: "clients are independent",
			cfg:  RateLimit{Rate: 1, Burst: 2},
			steps: []step{
				{key: a, calls: 2, allowed: true},
				{key: a, allowed: false, limit: limitClient, wait: time.Second},
				{key: b, calls: 2, allowed: true},
				{key: b, allowed: false, limit: limitClient, wait: time.Second},
			},
		},
		{
			name: "global bucket bounds all clients",
			cfg:  RateLimit{Rate: 1, Burst: 5, GlobalRate: 10, GlobalBurst: 3},
			steps: []step{
				{key: a, calls: 2, allowed: true},
				{key: b, allowed: true},
				{key: b, allowed: false, limit: limitGlobal, wait: 100 * time.Millisecond},
				{key: "192.0.2.3", allowed: false, limit: limitGlobal, wait: 100 * time.Millisecond},
				{advance: 100 * time.Millisecond, key: b, allowed: true},
				{key: a, allowed: false, limit: limitGlobal, wait: 100 * time.Millisecond},
			},
		},
		{
			name: "a refused client spends no global token",
			cfg:  RateLimit{Rate: 1, Burst: 1, GlobalRate: 1, GlobalBurst: 2},
			steps: []step{
				{key: a, allowed: true},
				{key: a, calls: 10, allowed: false, limit: limitClient, wait: time.Second},
				{key: b, allowed: true},
				{key: "192.0.2.3", allowed: false, limit: limitGlobal, wait: time.Second},
			},
		},
		{
			name: "a clock that steps back adds nothing",
			cfg:  RateLimit{Rate: 1, Burst: 1},
			steps: []step{
				{key: a, allowed: true},
				{advance: -time.Hour, key: a, allowed: false, limit: limitClient, wait: time.Second},
				{advance: time.Hour, key: a, allowed: false, limit: limitClient, wait: time.Second},
				{advance: time.Second, key: a, allowed: true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, clock := newTestLimiter(t, tt.cfg)
			for i, s := range tt.steps {
				clock.Advance(s.advance)
				for j := range max(s.calls, 1) {
					ok, limit, wait := l.allow(s.key)
					if ok != s.allowed {
						t.Fatalf("step %d call %d: allowed = %v, want %v", i, j, ok, s.allowed)
					}
					if !ok && (limit != s.limit || wait != s.wait) {
						t.Fatalf("step %d: refused by %s, wait %v; want %s, %v", i, limit, wait, s.limit, s.wait)
					}
				}
			}
		})
	}
}

func TestAuthLimiterBoundsMemory(t *testing.T) {
	t.Run("refilled buckets are swept", func(t *testing.T) {
		l, clock := newTestLimiter(t, RateLimit{Rate: 1, Burst: 10})
		for i := range 100 {
			l.allow(fmt.Sprintf("10.0.0.%d", i))
		}
		if n := l.held(); n != 100 {
			t.Fatalf("held %d buckets, want 100", n)
		}
		// Each spent one token of ten, so refills in one second and is then
		// forgotten.
		clock.Advance(999 * time.Millisecond)
		l.allow("10.0.1.1")
		if n := l.held(); n != 101 {
			t.Fatalf("held %d buckets before they refilled, want 101", n)
		}
		clock.Advance(2 * time.Millisecond)
		l.allow("10.0.1.2")
		if n := l.held(); n != 2 {
			t.Fatalf("held %d buckets after the first 100 refilled, want 2", n)
		}
	})
	t.Run("cap drops the least recently seen", func(t *testing.T) {
		l, clock := newTestLimiter(t, RateLimit{Rate: 1, Burst: 1, MaxClients: 50, GlobalBurst: 1000})
		for i := range 200 {
			if ok, _, _ := l.allow(fmt.Sprintf("10.0.%d.%d", i/250, i%250)); !ok {
				t.Fatalf("client %d refused", i)
			}
			if n := l.held(); n > 50 {
				t.Fatalf("held %d buckets, cap 50", n)
			}
		}
		// The newest are still held (and so still limited) ...
		if ok, _, _ := l.allow("10.0.0.199"); ok {
			t.Fatal("a recent client was forgotten")
		}
		// ... the oldest were dropped, which only gives them a fresh burst.
		if ok, _, _ := l.allow("10.0.0.0"); !ok {
			t.Fatal("an evicted client is still limited")
		}
		clock.Advance(time.Second)
		l.allow("10.0.1.1")
		if n := l.held(); n != 1 {
			t.Fatalf("held %d buckets after all refilled, want 1", n)
		}
	})
	t.Run("refused newcomers take no memory", func(t *testing.T) {
		l, _ := newTestLimiter(t, RateLimit{Rate: 1, Burst: 5, GlobalRate: 1, GlobalBurst: 3})
		for i := range 1000 {
			l.allow(fmt.Sprintf("10.1.%d.%d", i/250, i%250))
		}
		if n := l.held(); n != 3 {
			t.Fatalf("held %d buckets, want 3 (the global burst)", n)
		}
	})
}

func TestAuthLimiterClientKey(t *testing.T) {
	tests := []struct {
		name, header, remote string
		values               []string
		want                 string
	}{
		{name: "peer IPv4", remote: "192.0.2.7:51000", want: "192.0.2.7"},
		{name: "peer IPv6 counts per /64", remote: "[2001:db8:1:2:aaaa::1]:443", want: "2001:db8:1:2::/64"},
		{name: "peer IPv4-mapped IPv6", remote: "[::ffff:192.0.2.7]:1", want: "192.0.2.7"},
		{name: "peer without port", remote: "192.0.2.7", want: "192.0.2.7"},
		{name: "header ignored unless trusted", remote: "192.0.2.7:1", values: []string{"203.0.113.9"}, want: "192.0.2.7"},
		{name: "trusted header", header: "X-Forwarded-For", remote: "10.0.0.1:1", values: []string{"203.0.113.9"}, want: "203.0.113.9"},
		{name: "last hop wins over client-sent hops", header: "X-Forwarded-For", remote: "10.0.0.1:1",
			values: []string{"198.51.100.1, 198.51.100.2", "198.51.100.3 , 203.0.113.9"}, want: "203.0.113.9"},
		{name: "hop with port", header: "X-Real-Ip", remote: "10.0.0.1:1", values: []string{"[2001:db8::5]:8443"}, want: "2001:db8::/64"},
		{name: "absent header falls back to the peer", header: "X-Forwarded-For", remote: "10.0.0.1:1", want: "10.0.0.1"},
		{name: "garbage falls back to the peer", header: "X-Forwarded-For", remote: "10.0.0.1:1", values: []string{"203.0.113.9, unknown"}, want: "10.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, _ := newTestLimiter(t, RateLimit{TrustedProxyHeader: tt.header})
			r := httptest.NewRequest("POST", throughcarev1connect.AuthServiceBeginLoginProcedure, nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.values {
				r.Header.Add("X-Forwarded-For", v)
				r.Header.Add("X-Real-Ip", v)
			}
			if got := l.clientKey(r); got != tt.want {
				t.Fatalf("clientKey = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRateLimitConfigIsChecked(t *testing.T) {
	for _, cfg := range []RateLimit{{Rate: -1}, {Burst: -1}, {GlobalBurst: -1}, {MaxClients: -1}, {TrustedProxyHeader: "X-Forwarded-For: 1.2.3.4"}} {
		if _, err := newAuthLimiter(cfg, publicProcedures); err == nil {
			t.Errorf("accepted %+v", cfg)
		}
	}
	l, err := newAuthLimiter(RateLimit{}, publicProcedures)
	if err != nil {
		t.Fatal(err)
	}
	if c := l.cfg; c.Rate != 1 || c.Burst != 20 || c.GlobalRate != 200 || c.GlobalBurst != 400 || c.MaxClients != 10_000 || c.TrustedProxyHeader != "" {
		t.Fatalf("defaults = %+v", c)
	}
}

// lockedBuffer collects log output written by handler goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// newLimitedServer serves the real AuthService over HTTP/2 with rl.
func newLimitedServer(t *testing.T, rl RateLimit, log zerolog.Logger) (string, *http.Client) {
	t.Helper()
	st, err := store.Open(store.Options{InMemory: true, Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := syncengine.New(syncengine.Config{Store: st, Keepalive: time.Hour, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := auth.New(auth.Config{RPID: "throughcare.test", RPDisplayName: "Throughcare", RPOrigins: []string{"https://throughcare.test"}, Logger: zerolog.Nop()}, st)
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{Engine: engine, Identity: svc, Auth: NewAuthHandler(svc), Logger: log, AuthRateLimit: rl})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(func() {
		engine.Shutdown()
		srv.Close()
		st.Close()
	})
	return srv.URL, srv.Client()
}

// withHeader sets a request header on every call.
func withHeader(k, v string) connect.ClientOption {
	return connect.WithInterceptors(connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set(k, v)
			return next(ctx, req)
		}
	}))
}

func TestPublicProceduresAreRateLimitedOverTheAPI(t *testing.T) {
	protocols := map[string][]connect.ClientOption{
		"connect":      nil,
		"connect-json": {connect.WithProtoJSON()},
		"grpc":         {connect.WithGRPC()},
		"grpc-web":     {connect.WithGRPCWeb()},
	}
	for name, opts := range protocols {
		t.Run(name, func(t *testing.T) {
			clock := newFakeClock()
			logs := &lockedBuffer{}
			url, hc := newLimitedServer(t, RateLimit{Rate: 1, Burst: 3, Now: clock.Now}, zerolog.New(logs))
			ctx := context.Background()
			anon := throughcarev1connect.NewAuthServiceClient(hc, url, opts...)
			for i := range 3 {
				if _, err := anon.BeginLogin(ctx, &v1.BeginLoginRequest{}); err != nil {
					t.Fatalf("BeginLogin %d within the burst: %v", i, err)
				}
			}
			_, err := anon.BeginLogin(ctx, &v1.BeginLoginRequest{})
			if connect.CodeOf(err) != connect.CodeResourceExhausted {
				t.Fatalf("BeginLogin past the burst = %v, want resource_exhausted", err)
			}
			var cerr *connect.Error
			if !errors.As(err, &cerr) || cerr.Message() != rateLimitedMsg {
				t.Fatalf("refusal message = %v, want %q", err, rateLimitedMsg)
			}
			if ra := cerr.Meta().Get("Retry-After"); ra != "1" {
				t.Fatalf("Retry-After = %q, want 1", ra)
			}
			// The same client bucket covers every public procedure.
			if _, err := anon.Refresh(ctx, &v1.RefreshRequest{RefreshToken: auth.NewToken(auth.RefreshPrefix)}); connect.CodeOf(err) != connect.CodeResourceExhausted {
				t.Fatalf("Refresh past the burst = %v, want resource_exhausted", err)
			}
			// Authenticated procedures are not limited: a bad token is still
			// just unauthenticated, however often it is tried.
			badSync := throughcarev1connect.NewSyncServiceClient(hc, url, append(opts[:len(opts):len(opts)], withHeader("Authorization", "Bearer tca_nope"))...)
			badAuth := throughcarev1connect.NewAuthServiceClient(hc, url, append(opts[:len(opts):len(opts)], withHeader("Authorization", "Bearer tca_nope"))...)
			for i := range 10 {
				if _, err := badSync.Pull(ctx, &v1.PullRequest{ProtocolVersion: 1, SchemaVersion: 1}); connect.CodeOf(err) != connect.CodeUnauthenticated {
					t.Fatalf("Pull %d with a bad token = %v, want unauthenticated", i, err)
				}
				if _, err := badAuth.ListDevices(ctx, &v1.ListDevicesRequest{}); connect.CodeOf(err) != connect.CodeUnauthenticated {
					t.Fatalf("ListDevices %d with a bad token = %v, want unauthenticated", i, err)
				}
			}
			// A second later the bucket holds one more call.
			clock.Advance(time.Second)
			if _, err := anon.BeginLogin(ctx, &v1.BeginLoginRequest{}); err != nil {
				t.Fatalf("BeginLogin after a refill: %v", err)
			}
			if _, err := anon.BeginLogin(ctx, &v1.BeginLoginRequest{}); connect.CodeOf(err) != connect.CodeResourceExhausted {
				t.Fatalf("second BeginLogin after one refill = %v, want resource_exhausted", err)
			}
			// Refusals are logged like any call, without the client address.
			out := logs.String()
			if !strings.Contains(out, `"code":"resource_exhausted","limit":"client"`) {
				t.Fatalf("no refusal in the log:\n%s", out)
			}
			if strings.Contains(out, "127.0.0.1") {
				t.Fatalf("the log carries the client address:\n%s", out)
			}
		})
	}
}

func TestTrustedProxyHeaderSeparatesClients(t *testing.T) {
	clock := newFakeClock()
	url, hc := newLimitedServer(t, RateLimit{Rate: 1, Burst: 2, Now: clock.Now, TrustedProxyHeader: "X-Forwarded-For"}, zerolog.Nop())
	ctx := context.Background()
	client := func(xff string) throughcarev1connect.AuthServiceClient {
		return throughcarev1connect.NewAuthServiceClient(hc, url, withHeader("X-Forwarded-For", xff))
	}
	a, b := client("203.0.113.7"), client("203.0.113.8")
	// A client that forges earlier hops is still counted by the last one.
	forged := client("198.51.100.99, 203.0.113.7")
	for i := range 2 {
		if _, err := a.BeginLogin(ctx, &v1.BeginLoginRequest{}); err != nil {
			t.Fatalf("a, call %d: %v", i, err)
		}
	}
	for name, c := range map[string]throughcarev1connect.AuthServiceClient{"a": a, "forged": forged} {
		if _, err := c.BeginLogin(ctx, &v1.BeginLoginRequest{}); connect.CodeOf(err) != connect.CodeResourceExhausted {
			t.Fatalf("%s past a's burst = %v, want resource_exhausted", name, err)
		}
	}
	if _, err := b.BeginLogin(ctx, &v1.BeginLoginRequest{}); err != nil {
		t.Fatalf("b is limited by a's calls: %v", err)
	}
}
