package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
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
	"github.com/throughcare/throughcare/syncproto/protocol"
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
	addr    string
	refresh bool          // a Refresh rather than a ceremony
	calls   int           // how many calls (default 1)
	allowed bool          // whether each of them is allowed
	limit   string        // which bucket refused it
	wait    time.Duration // how long the refusal says to wait
}

// limits is a class's buckets, rates and bursts in turn: address, prefix,
// global.
func limits(rb ...float64) Limits {
	l := func(i int) Limit { return Limit{Rate: rb[2*i], Burst: int(rb[2*i+1])} }
	return Limits{Address: l(0), Prefix: l(1), Global: l(2)}
}

func TestAuthLimiterBuckets(t *testing.T) {
	const a, b, c = "192.0.2.1", "192.0.2.2", "198.51.100.1"
	wide := 1000.0
	tests := []struct {
		name  string
		cfg   RateLimit
		steps []step
	}{
		{
			name: "burst then refused",
			cfg:  RateLimit{Ceremony: limits(1, 3, wide, wide, wide, wide)},
			steps: []step{
				{addr: a, calls: 3, allowed: true},
				{addr: a, allowed: false, limit: limitAddress, wait: time.Second},
				{addr: a, allowed: false, limit: limitAddress, wait: time.Second},
			},
		},
		{
			name: "refills with the clock",
			cfg:  RateLimit{Ceremony: limits(2, 4, wide, wide, wide, wide)},
			steps: []step{
				{addr: a, calls: 4, allowed: true},
				{addr: a, allowed: false, limit: limitAddress, wait: 500 * time.Millisecond},
				{advance: 250 * time.Millisecond, addr: a, allowed: false, limit: limitAddress, wait: 250 * time.Millisecond},
				{advance: 250 * time.Millisecond, addr: a, allowed: true},
				{addr: a, allowed: false, limit: limitAddress, wait: 500 * time.Millisecond},
				// Long idle refills to the burst, no further.
				{advance: time.Hour, addr: a, calls: 4, allowed: true},
				{addr: a, allowed: false, limit: limitAddress, wait: 500 * time.Millisecond},
			},
		},
		{
			name: "clients are independent",
			cfg:  RateLimit{Ceremony: limits(1, 2, wide, wide, wide, wide)},
			steps: []step{
				{addr: a, calls: 2, allowed: true},
				{addr: a, allowed: false, limit: limitAddress, wait: time.Second},
				{addr: b, calls: 2, allowed: true},
				{addr: b, allowed: false, limit: limitAddress, wait: time.Second},
			},
		},
		{
			name: "a prefix bounds its addresses",
			cfg:  RateLimit{Ceremony: limits(1, 2, 4, 3, wide, wide)},
			steps: []step{
				{addr: a, calls: 2, allowed: true},
				{addr: b, allowed: true},
				{addr: b, allowed: false, limit: limitPrefix, wait: 250 * time.Millisecond},
				{addr: "192.0.2.250", allowed: false, limit: limitPrefix, wait: 250 * time.Millisecond},
				{addr: c, allowed: true},
				{advance: 250 * time.Millisecond, addr: b, allowed: true},
			},
		},
		{
			name: "an IPv6 client's /64 is its address, its /48 its prefix",
			cfg:  RateLimit{Ceremony: limits(1, 2, 1, 3, wide, wide)},
			steps: []step{
				{addr: "2001:db8:1:1::1", allowed: true},
				{addr: "2001:db8:1:1:ffff::2", allowed: true},
				{addr: "2001:db8:1:1::3", allowed: false, limit: limitAddress, wait: time.Second},
				{addr: "2001:db8:1:2::1", allowed: true},
				{addr: "2001:db8:1:3::1", allowed: false, limit: limitPrefix, wait: time.Second},
				{addr: "2001:db8:2::1", allowed: true},
			},
		},
		{
			name: "the global bucket bounds all clients",
			cfg:  RateLimit{Ceremony: limits(1, 5, wide, wide, 10, 3)},
			steps: []step{
				{addr: a, calls: 2, allowed: true},
				{addr: c, allowed: true},
				{addr: c, allowed: false, limit: limitGlobal, wait: 100 * time.Millisecond},
				{addr: "203.0.113.3", allowed: false, limit: limitGlobal, wait: 100 * time.Millisecond},
				{advance: 100 * time.Millisecond, addr: c, allowed: true},
				{addr: a, allowed: false, limit: limitGlobal, wait: 100 * time.Millisecond},
			},
		},
		{
			// Global burst 8 with a quarter (2) in reserve; a prefix is
			// quiet for its first two calls.
			name: "the global reserve is kept for quiet prefixes",
			cfg:  RateLimit{Ceremony: limits(wide, wide, wide, 10, 10, 8), QuietCalls: 2},
			steps: []step{
				{addr: a, calls: 6, allowed: true},
				{addr: a, allowed: false, limit: limitGlobal, wait: 100 * time.Millisecond},
				{addr: b, allowed: false, limit: limitGlobal, wait: 100 * time.Millisecond},
				{addr: c, calls: 2, allowed: true},
				{addr: c, allowed: false, limit: limitGlobal, wait: 300 * time.Millisecond},
				{addr: "203.0.113.3", allowed: false, limit: limitGlobal, wait: 100 * time.Millisecond},
			},
		},
		{
			name: "a refused client spends no other token",
			cfg:  RateLimit{Ceremony: limits(1, 1, wide, wide, 1, 2)},
			steps: []step{
				{addr: a, allowed: true},
				{addr: a, calls: 10, allowed: false, limit: limitAddress, wait: time.Second},
				{addr: b, allowed: true},
				{addr: c, allowed: false, limit: limitGlobal, wait: time.Second},
			},
		},
		{
			name: "a refusal waits for every bucket that is short",
			cfg:  RateLimit{Ceremony: limits(0.5, 1, wide, wide, 10, 1)},
			steps: []step{
				{addr: a, allowed: true},
				{addr: a, allowed: false, limit: limitAddress, wait: 2 * time.Second},
			},
		},
		{
			name: "Refresh has buckets of its own",
			cfg:  RateLimit{Ceremony: limits(1, 1, 1, 1, 1, 1), Refresh: limits(1, 2, wide, wide, wide, wide)},
			steps: []step{
				{addr: a, allowed: true},
				{addr: a, allowed: false, limit: limitAddress, wait: time.Second},
				{addr: b, allowed: false, limit: limitPrefix, wait: time.Second},
				{addr: c, allowed: false, limit: limitGlobal, wait: time.Second},
				{addr: a, refresh: true, calls: 2, allowed: true},
				{addr: a, refresh: true, allowed: false, limit: limitAddress, wait: time.Second},
			},
		},
		{
			name: "a clock that steps back adds nothing",
			cfg:  RateLimit{Ceremony: limits(1, 1, wide, wide, wide, wide)},
			steps: []step{
				{addr: a, allowed: true},
				{advance: -time.Hour, addr: a, allowed: false, limit: limitAddress, wait: time.Second},
				{advance: time.Hour, addr: a, allowed: false, limit: limitAddress, wait: time.Second},
				{advance: time.Second, addr: a, allowed: true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, clock := newTestLimiter(t, tt.cfg)
			for i, s := range tt.steps {
				clock.Advance(s.advance)
				class := l.ceremony
				if s.refresh {
					class = l.refresh
				}
				for j := range max(s.calls, 1) {
					ok, limit, wait := class.allow(ip(s.addr), clock.Now())
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
	allow := func(l *authLimiter, clock *fakeClock, addr string) bool {
		ok, _, _ := l.ceremony.allow(ip(addr), clock.Now())
		return ok
	}
	held := func(l *authLimiter) (addrs, prefixes int) {
		return l.ceremony.addrs.lru.Len(), l.ceremony.prefixes.lru.Len()
	}
	t.Run("refilled buckets are swept", func(t *testing.T) {
		// Addresses refill one token a second, prefixes a thousand.
		l, clock := newTestLimiter(t, RateLimit{Ceremony: limits(1, 10, 1000, 1000, 1000, 1000)})
		for i := range 100 {
			allow(l, clock, fmt.Sprintf("10.0.%d.1", i))
		}
		if a, p := held(l); a != 100 || p != 100 {
			t.Fatalf("held %d address and %d prefix buckets, want 100 each", a, p)
		}
		// Each spent one token of ten, so refills in one second and is then
		// forgotten; the prefixes refilled in a millisecond.
		clock.Advance(999 * time.Millisecond)
		allow(l, clock, "10.1.0.1")
		if a, p := held(l); a != 101 || p != 1 {
			t.Fatalf("held %d address and %d prefix buckets before the addresses refilled, want 101 and 1", a, p)
		}
		clock.Advance(2 * time.Millisecond)
		allow(l, clock, "10.1.0.2")
		if a, p := held(l); a != 2 || p != 1 {
			t.Fatalf("held %d address and %d prefix buckets after the first 100 refilled, want 2 and 1", a, p)
		}
	})
	t.Run("caps drop the least recently seen", func(t *testing.T) {
		l, clock := newTestLimiter(t, RateLimit{Ceremony: limits(1, 1, 1, 1, 1000, 1000), MaxClients: 50})
		for i := range 200 {
			if !allow(l, clock, fmt.Sprintf("10.%d.%d.1", i/250, i%250)) {
				t.Fatalf("client %d refused", i)
			}
			if a, p := held(l); a > 50 || p > 50 {
				t.Fatalf("held %d address and %d prefix buckets, cap 50 each", a, p)
			}
		}
		// The newest are still held (and so still limited) ...
		if allow(l, clock, "10.0.199.1") {
			t.Fatal("a recent client was forgotten")
		}
		// ... the oldest were dropped, which only gives them a fresh burst.
		if !allow(l, clock, "10.0.0.1") {
			t.Fatal("an evicted client is still limited")
		}
		clock.Advance(time.Second)
		allow(l, clock, "10.1.0.1")
		if a, p := held(l); a != 1 || p != 1 {
			t.Fatalf("held %d address and %d prefix buckets after all refilled, want 1 each", a, p)
		}
	})
	t.Run("refused newcomers take no memory", func(t *testing.T) {
		l, clock := newTestLimiter(t, RateLimit{Ceremony: limits(1, 5, 1, 5, 1, 3)})
		for i := range 1000 {
			allow(l, clock, fmt.Sprintf("10.%d.%d.1", i/250, i%250))
		}
		if a, p := held(l); a != 3 || p != 3 {
			t.Fatalf("held %d address and %d prefix buckets, want 3 each (the global burst)", a, p)
		}
	})
}

func TestRateLimitConfigIsChecked(t *testing.T) {
	for _, cfg := range []RateLimit{
		{Ceremony: Limits{Address: Limit{Rate: -1}}}, {Refresh: Limits{Prefix: Limit{Burst: -1}}},
		{Ceremony: Limits{Global: Limit{Rate: math.Inf(1)}}}, {Refresh: Limits{Global: Limit{Rate: math.NaN()}}},
		{MaxClients: -1}, {QuietCalls: -1}, {Reserve: -0.1}, {Reserve: 1}, {Reserve: math.NaN()},
		{TrustedProxyHeader: "X-Forwarded-For: 1.2.3.4"},
	} {
		if _, err := newAuthLimiter(cfg, publicProcedures); err == nil {
			t.Errorf("accepted %+v", cfg)
		}
	}
	l, err := newAuthLimiter(RateLimit{}, publicProcedures)
	if err != nil {
		t.Fatal(err)
	}
	c := l.cfg
	if want := limits(1, 20, 5, 100, 200, 400); c.Ceremony != want {
		t.Errorf("ceremony defaults = %+v, want %+v", c.Ceremony, want)
	}
	if want := limits(5, 100, 25, 500, 500, 2000); c.Refresh != want {
		t.Errorf("refresh defaults = %+v, want %+v", c.Refresh, want)
	}
	if c.Reserve != 0.25 || c.QuietCalls != 4 || c.MaxClients != 10_000 || c.TrustedProxyHeader != "" {
		t.Errorf("defaults = %+v", c)
	}
	// A prefix's limit follows its address's unless it is set.
	l, err = newAuthLimiter(RateLimit{Ceremony: Limits{Address: Limit{Rate: 2, Burst: 7}}}, publicProcedures)
	if err != nil {
		t.Fatal(err)
	}
	if want := limits(2, 7, 10, 35, 200, 400); l.cfg.Ceremony != want {
		t.Errorf("ceremony limits = %+v, want %+v", l.cfg.Ceremony, want)
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
			url, hc := newLimitedServer(t, RateLimit{Ceremony: Limits{Address: Limit{Rate: 1, Burst: 3}}, Now: clock.Now}, zerolog.New(logs))
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
			// The same bucket covers every ceremony ...
			if _, err := anon.BeginEnrollment(ctx, &v1.BeginEnrollmentRequest{}); connect.CodeOf(err) != connect.CodeResourceExhausted {
				t.Fatalf("BeginEnrollment past the burst = %v, want resource_exhausted", err)
			}
			// ... but Refresh has its own.
			if _, err := anon.Refresh(ctx, &v1.RefreshRequest{RefreshToken: auth.NewToken(auth.RefreshPrefix)}); connect.CodeOf(err) != connect.CodeUnauthenticated {
				t.Fatalf("Refresh past the ceremonies' burst = %v, want unauthenticated", err)
			}
			// Authenticated procedures are not limited: a bad token is still
			// just unauthenticated, however often it is tried.
			badSync := throughcarev1connect.NewSyncServiceClient(hc, url, append(opts[:len(opts):len(opts)], withHeader("Authorization", "Bearer tca_nope"))...)
			badAuth := throughcarev1connect.NewAuthServiceClient(hc, url, append(opts[:len(opts):len(opts)], withHeader("Authorization", "Bearer tca_nope"))...)
			for i := range 10 {
				if _, err := badSync.Pull(ctx, &v1.PullRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1}); connect.CodeOf(err) != connect.CodeUnauthenticated {
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
			if !strings.Contains(out, `"code":"resource_exhausted","limit":"ceremony_address"`) {
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
	url, hc := newLimitedServer(t, RateLimit{Ceremony: Limits{Address: Limit{Rate: 1, Burst: 2}}, Now: clock.Now, TrustedProxyHeader: "X-Forwarded-For"}, zerolog.Nop())
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
