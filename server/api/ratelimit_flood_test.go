package api

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
)

// Procedures the flood tests call, short.
const (
	beginLogin  = throughcarev1connect.AuthServiceBeginLoginProcedure
	finishLogin = throughcarev1connect.AuthServiceFinishLoginProcedure
	refresh     = throughcarev1connect.AuthServiceRefreshProcedure
)

// A flood is many calls to one procedure from many client addresses, taken
// in turns (each address one call, then each a second, ...) on a clock that
// stands still.
type flood struct {
	addrs     []string
	procedure string
	calls     int // by each address
}

// A probe is one call after the flood, from someone else.
type probe struct {
	xff       string // the X-Forwarded-For header the trusted proxy sends
	procedure string
	allowed   bool
}

// addrs formats addresses from a pattern with one %d, for i in [from, to].
func addrs(pattern string, from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf(pattern, i))
	}
	return out
}

// callThrough makes one call to procedure through the limiter's middleware,
// as a trusted proxy forwarding for xff, and reports whether it reached the
// handler; a refusal must be ResourceExhausted with Retry-After.
func callThrough(t *testing.T, h http.Handler, xff, procedure string) bool {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, procedure, nil)
	r.RemoteAddr = "10.0.0.1:40000" // the proxy
	r.Header.Set("Content-Type", "application/proto")
	r.Header.Set("X-Forwarded-For", xff)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	switch w.Code {
	case http.StatusOK:
		return true
	case http.StatusTooManyRequests:
		if w.Header().Get("Retry-After") == "" {
			t.Fatalf("refusal of %s from %s has no Retry-After", procedure, xff)
		}
		return false
	}
	t.Fatalf("%s from %s: status %d", procedure, xff, w.Code)
	return false
}

// With the default limits, floods of the public procedures from a few
// addresses, or from every address of one prefix, leave other clients able
// to sign in and refresh.
func TestRateLimitFloodsLeaveOthersAlone(t *testing.T) {
	tests := []struct {
		name   string
		flood  flood
		probes []probe
	}{
		{
			// 25 × 20 calls used to empty the global bucket (burst 400).
			name:  "old attack from 25 addresses of one /24",
			flood: flood{addrs: addrs("198.51.100.%d", 1, 25), procedure: beginLogin, calls: 21},
			probes: []probe{
				{xff: "203.0.113.9", procedure: refresh, allowed: true},
				{xff: "198.51.100.200", procedure: refresh, allowed: true},
				{xff: "203.0.113.9", procedure: beginLogin, allowed: true},
				{xff: "2001:db8:77::1", procedure: finishLogin, allowed: true},
				// The flooded prefix itself is limited as a whole.
				{xff: "198.51.100.200", procedure: beginLogin, allowed: false},
			},
		},
		{
			name:  "old attack from 25 addresses in 25 prefixes",
			flood: flood{addrs: addrs("198.51.%d.7", 1, 25), procedure: beginLogin, calls: 21},
			probes: []probe{
				{xff: "203.0.113.9", procedure: beginLogin, allowed: true},
				{xff: "2001:db8:77::1", procedure: finishLogin, allowed: true},
				{xff: "198.51.1.8", procedure: refresh, allowed: true},
			},
		},
		{
			name:  "250 addresses of one /24",
			flood: flood{addrs: addrs("198.51.100.%d", 1, 250), procedure: finishLogin, calls: 3},
			probes: []probe{
				{xff: "203.0.113.9", procedure: beginLogin, allowed: true},
				{xff: "198.51.100.251", procedure: refresh, allowed: true},
			},
		},
		{
			// Too few calls to reach the global limit: the prefix limits.
			name:  "a /24 shares one budget",
			flood: flood{addrs: addrs("198.51.100.%d", 1, 10), procedure: beginLogin, calls: 20},
			probes: []probe{
				{xff: "198.51.100.200", procedure: beginLogin, allowed: false},
				{xff: "198.51.101.1", procedure: beginLogin, allowed: true},
			},
		},
		{
			name:  "an IPv6 /48 shares one budget, a /64 is one address",
			flood: flood{addrs: addrs("2001:db8:5:%d::1", 1, 10), procedure: beginLogin, calls: 20},
			probes: []probe{
				{xff: "2001:db8:5:99::1", procedure: beginLogin, allowed: false},
				{xff: "2001:db8:5:1:aaaa:bbbb:cccc:dddd", procedure: beginLogin, allowed: false},
				{xff: "2001:db8:6::1", procedure: beginLogin, allowed: true},
				{xff: "2001:db8:5:99::1", procedure: refresh, allowed: true},
			},
		},
		{
			name:  "IPv4-mapped IPv6 addresses count in their /24",
			flood: flood{addrs: addrs("::ffff:198.51.100.%d", 1, 10), procedure: beginLogin, calls: 20},
			probes: []probe{
				{xff: "198.51.100.200", procedure: beginLogin, allowed: false},
				{xff: "::ffff:198.51.100.201", procedure: beginLogin, allowed: false},
				{xff: "198.51.101.1", procedure: beginLogin, allowed: true},
			},
		},
		{
			name:  "the proxy's last hop is the client, whatever hops it forged",
			flood: flood{addrs: addrs("198.51.100.%d", 1, 10), procedure: beginLogin, calls: 20},
			probes: []probe{
				{xff: "203.0.113.9, 198.51.100.77", procedure: beginLogin, allowed: false},
				{xff: "198.51.100.77, 203.0.113.9", procedure: beginLogin, allowed: true},
			},
		},
		{
			// Refresh has budgets of its own, generous but bounded.
			name:  "a refresh flood leaves sign-in and other prefixes alone",
			flood: flood{addrs: addrs("198.51.100.%d", 1, 25), procedure: refresh, calls: 200},
			probes: []probe{
				{xff: "198.51.100.200", procedure: beginLogin, allowed: true},
				{xff: "203.0.113.9", procedure: refresh, allowed: true},
				{xff: "198.51.100.1", procedure: refresh, allowed: false},
			},
		},
		{
			// The global limit still sheds load: 500 prefixes, one call
			// each, are all quiet, and take even the reserve.
			name:  "a flood from everywhere is still shed",
			flood: flood{addrs: append(addrs("10.%d.0.1", 1, 250), addrs("10.%d.1.1", 1, 250)...), procedure: beginLogin, calls: 1},
			probes: []probe{
				{xff: "203.0.113.9", procedure: beginLogin, allowed: false},
				{xff: "203.0.113.9", procedure: refresh, allowed: true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, _ := newTestLimiter(t, RateLimit{TrustedProxyHeader: "X-Forwarded-For"})
			h := l.wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			for range tt.flood.calls {
				for _, a := range tt.flood.addrs {
					callThrough(t, h, a, tt.flood.procedure)
				}
			}
			for _, p := range tt.probes {
				if got := callThrough(t, h, p.xff, p.procedure); got != p.allowed {
					t.Errorf("%s from %s after the flood: allowed = %v, want %v", p.procedure, p.xff, got, p.allowed)
				}
			}
		})
	}
}
