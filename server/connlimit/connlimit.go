// Package connlimit caps the connections a server holds open for each
// client address, so that one client cannot take every connection (and the
// goroutines and buffers each costs) for itself. It works below HTTP, on
// the listener: a connection over the cap is closed as soon as it is
// accepted, before anything is read from it.
//
// Addresses are grouped as an IPv4 address or an IPv6 /64 (one IPv6 client
// usually holds a whole /64). Behind a reverse proxy every connection comes
// from the proxy, so the cap must then be raised or turned off there and
// enforced at the proxy.
package connlimit

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Listener is a net.Listener that holds a capped number of connections
// open per client address (see New).
type Listener struct {
	net.Listener
	max     int
	log     zerolog.Logger
	refused atomic.Uint64

	mu   sync.Mutex
	open map[netip.Prefix]int
}

// New wraps ln so that at most max connections are open per client address
// (max <= 0: no cap, ln is returned as it is). Refusals are logged to log,
// at most once a minute, without the address.
func New(ln net.Listener, max int, log zerolog.Logger) net.Listener {
	if max <= 0 {
		return ln
	}
	return &Listener{Listener: ln, max: max, open: map[netip.Prefix]int{},
		log: log.Sample(&zerolog.BurstSampler{Burst: 1, Period: time.Minute})}
}

// Accept returns the next connection within the cap, closing those over it.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key, ok := keyOf(c.RemoteAddr())
		if !ok { // not an IP connection: not capped
			return c, nil
		}
		l.mu.Lock()
		if l.open[key] >= l.max {
			l.mu.Unlock()
			n := l.refused.Add(1) // counted before the client can see the close
			// Refused either way: a failed close leaves nothing to do.
			_ = c.Close()
			l.log.Warn().Int("max_conns_per_ip", l.max).Uint64("refused_total", n).
				Msg("connection refused: too many open connections from one client address")
			continue
		}
		l.open[key]++
		l.mu.Unlock()
		return &conn{Conn: c, release: func() { l.release(key) }}, nil
	}
}

// Refused counts the connections refused so far.
func (l *Listener) Refused() uint64 { return l.refused.Load() }

func (l *Listener) release(key netip.Prefix) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[key]--; l.open[key] <= 0 {
		delete(l.open, key)
	}
}

// keyOf groups a client address: the IPv4 address, or the IPv6 /64.
func keyOf(addr net.Addr) (netip.Prefix, bool) {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(tcp.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, err := a.Prefix(bits)
	return p, err == nil
}

// conn uncounts itself when first closed.
type conn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
