package connlimit

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestKeyOf(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"192.0.2.1:443", "192.0.2.1/32"},
		{"[::ffff:192.0.2.1]:443", "192.0.2.1/32"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2::9]:80", "2001:db8:1:2::/64"},
	} {
		ap := netip.MustParseAddrPort(tc.addr)
		got, ok := keyOf(net.TCPAddrFromAddrPort(ap))
		if !ok || got.String() != tc.want {
			t.Errorf("keyOf(%s) = %v, %v; want %s", tc.addr, got, ok, tc.want)
		}
	}
	if _, ok := keyOf(&net.UnixAddr{Name: "/tmp/s", Net: "unix"}); ok {
		t.Error("a unix socket address was keyed")
	}
}

// accepting serves ln, handing each accepted connection to the channel.
func accepting(t *testing.T, ln net.Listener) <-chan net.Conn {
	t.Helper()
	out := make(chan net.Conn)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(out)
				return
			}
			t.Cleanup(func() { c.Close() })
			out <- c
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return out
}

func dial(t *testing.T, ln net.Listener, from string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// refused reports whether the server closed c without a word; the read
// deadline is only a safety net.
func refused(t *testing.T, c net.Conn) bool {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return err != nil
}

func TestCapPerAddress(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := New(inner, 2, zerolog.Nop())
	accepted := accepting(t, ln)

	dial(t, ln, "127.0.0.1")
	first := <-accepted
	dial(t, ln, "127.0.0.1")
	<-accepted
	if over := dial(t, ln, "127.0.0.1"); !refused(t, over) {
		t.Fatal("a third connection from one address was kept")
	}
	// Another address has its own cap (all of 127/8 is loopback on Linux).
	dial(t, ln, "127.0.0.2")
	<-accepted

	// A closed connection frees its place, once however often it is closed.
	first.Close()
	first.Close()
	dial(t, ln, "127.0.0.1")
	<-accepted
	if over := dial(t, ln, "127.0.0.1"); !refused(t, over) {
		t.Fatal("a connection over the cap was kept after one was closed twice")
	}
	if n := ln.(*Listener).Refused(); n != 2 {
		t.Fatalf("Refused() = %d, want 2", n)
	}
}

func TestNoCap(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	if ln := New(inner, 0, zerolog.Nop()); ln != inner {
		t.Fatal("max 0 wrapped the listener")
	}
}
