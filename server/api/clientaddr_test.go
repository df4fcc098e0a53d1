package api

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
)

// ip is the client at an address.
func ip(a string) client { return clientAt(netip.MustParseAddr(a)) }

func TestAuthLimiterClient(t *testing.T) {
	tests := []struct {
		name, header, remote string
		values               []string
		want                 client
	}{
		{name: "peer IPv4", remote: "192.0.2.7:51000", want: client{"192.0.2.7", "192.0.2.0/24"}},
		{name: "peer IPv6 by its /64 and /48", remote: "[2001:db8:1:2:aaaa::1]:443", want: client{"2001:db8:1:2::/64", "2001:db8:1::/48"}},
		{name: "peer IPv6 with a zone", remote: "[fe80::1%eth0]:443", want: client{"fe80::/64", "fe80::/48"}},
		{name: "peer IPv4-mapped IPv6", remote: "[::ffff:192.0.2.7]:1", want: client{"192.0.2.7", "192.0.2.0/24"}},
		{name: "peer without port", remote: "192.0.2.7", want: client{"192.0.2.7", "192.0.2.0/24"}},
		{name: "peer not an IP address", remote: "@", want: client{addr: "@"}},
		{name: "header ignored unless trusted", remote: "192.0.2.7:1", values: []string{"203.0.113.9"}, want: client{"192.0.2.7", "192.0.2.0/24"}},
		{name: "trusted header", header: "X-Forwarded-For", remote: "10.0.0.1:1", values: []string{"203.0.113.9"}, want: client{"203.0.113.9", "203.0.113.0/24"}},
		{name: "last hop wins over client-sent hops", header: "X-Forwarded-For", remote: "10.0.0.1:1",
			values: []string{"198.51.100.1, 198.51.100.2", "198.51.100.3 , 203.0.113.9"}, want: client{"203.0.113.9", "203.0.113.0/24"}},
		{name: "hop with port", header: "X-Real-Ip", remote: "10.0.0.1:1", values: []string{"[2001:db8::5]:8443"}, want: client{"2001:db8::/64", "2001:db8::/48"}},
		{name: "mapped hop", header: "X-Forwarded-For", remote: "10.0.0.1:1", values: []string{"::ffff:203.0.113.9"}, want: client{"203.0.113.9", "203.0.113.0/24"}},
		{name: "absent header falls back to the peer", header: "X-Forwarded-For", remote: "10.0.0.1:1", want: client{"10.0.0.1", "10.0.0.0/24"}},
		{name: "garbage falls back to the peer", header: "X-Forwarded-For", remote: "10.0.0.1:1", values: []string{"203.0.113.9, unknown"}, want: client{"10.0.0.1", "10.0.0.0/24"}},
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
			if got := l.clientOf(r); got != tt.want {
				t.Fatalf("clientOf = %+v, want %+v", got, tt.want)
			}
		})
	}
}
