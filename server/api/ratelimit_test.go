package api

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/servertest/fixture"
)

// testEpoch is where the limiter tests' clocks start.
var testEpoch = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func newTestLimiter(t *testing.T, cfg RateLimit) (*authLimiter, *fixture.Clock) {
	t.Helper()
	clock := fixture.NewClock(testEpoch)
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
	allow := func(l *authLimiter, clock *fixture.Clock, addr string) bool {
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
