package api

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/throughcare/throughcare/server/audit"
)

// client is what a public call is counted under: the key of its client
// address and of that address's network ("" if the address is not an IP
// address).
type client struct {
	addr, prefix string
}

// clientOf returns the client of a request: the last hop of the trusted
// proxy header if one is configured and present, otherwise the
// connection's peer.
func (l *authLimiter) clientOf(r *http.Request) client {
	a, host := addressOf(r, l.cfg.TrustedProxyHeader)
	if a.IsValid() {
		return clientAt(a)
	}
	return client{addr: host}
}

// addressOf returns the client address of a request: the last hop of the
// trusted proxy header if one is named and present, otherwise the
// connection's peer; an invalid Addr and the peer as given if that is not
// an IP address.
func addressOf(r *http.Request, trustedHeader string) (netip.Addr, string) {
	if trustedHeader != "" {
		if a, ok := lastHop(r.Header.Values(trustedHeader)); ok {
			return a, ""
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a, ""
	}
	return netip.Addr{}, host
}

// withClientAddress gives every request's context its client address
// (addressOf) for the audit trail.
func withClientAddress(trustedHeader string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, host := addressOf(r, trustedHeader)
		if a.IsValid() {
			host = a.Unmap().WithZone("").String()
		}
		next.ServeHTTP(w, r.WithContext(audit.WithAddress(r.Context(), host)))
	})
}

// clientAt keys an address: an IPv4 address (IPv4-mapped IPv6 ones too) by
// itself and its /24; an IPv6 address by its /64 (one host commonly holds a
// whole /64) and its /48.
func clientAt(a netip.Addr) client {
	a = a.Unmap().WithZone("")
	if a.Is4() {
		p, _ := a.Prefix(24)
		return client{addr: a.String(), prefix: p.String()}
	}
	p64, _ := a.Prefix(64)
	p48, _ := a.Prefix(48)
	return client{addr: p64.String(), prefix: p48.String()}
}

// lastHop parses the last address of a comma-separated list header such as
// X-Forwarded-For: the one the trusted proxy appended. Earlier entries are
// whatever the client sent.
func lastHop(values []string) (netip.Addr, bool) {
	if len(values) == 0 {
		return netip.Addr{}, false
	}
	v := values[len(values)-1]
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	v = strings.TrimSpace(v)
	if a, err := netip.ParseAddr(v); err == nil {
		return a, true
	}
	if ap, err := netip.ParseAddrPort(v); err == nil {
		return ap.Addr(), true
	}
	return netip.Addr{}, false
}
