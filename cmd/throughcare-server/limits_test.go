package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/api"
)

func TestStreamAndConnectionLimitFlags(t *testing.T) {
	d, err := parseConfig(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if d.MaxStreamsPerDevice != 2 || d.MaxStreamsPerUser != 4 || d.MaxConnsPerIP != 64 ||
		d.WriteTimeout != api.DefaultWriteTimeout || d.ReadBodyTimeout != api.DefaultReadBodyTimeout {
		t.Fatalf("defaults: streams %d/device %d/user, %d conns/ip, write %s, body %s",
			d.MaxStreamsPerDevice, d.MaxStreamsPerUser, d.MaxConnsPerIP, d.WriteTimeout, d.ReadBodyTimeout)
	}
	c, err := parseConfig([]string{"--max-streams-per-user", "8", "--write-timeout", "5s"}, func(k string) string {
		return map[string]string{"THROUGHCARE_MAX_STREAMS_PER_DEVICE": "3", "THROUGHCARE_MAX_CONNS_PER_IP": "0",
			"THROUGHCARE_READ_BODY_TIMEOUT": "2m"}[k]
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxStreamsPerDevice != 3 || c.MaxStreamsPerUser != 8 || c.MaxConnsPerIP != 0 || c.WriteTimeout != 5*time.Second || c.ReadBodyTimeout != 2*time.Minute {
		t.Fatalf("config = %+v", c)
	}
	for name, bad := range map[string]map[string]string{
		"no_device_streams":     {"THROUGHCARE_MAX_STREAMS_PER_DEVICE": "0"},
		"device_over_user":      {"THROUGHCARE_MAX_STREAMS_PER_DEVICE": "5"},
		"too_many_user_streams": {"THROUGHCARE_MAX_STREAMS_PER_USER": "100000"},
		"negative_conns":        {"THROUGHCARE_MAX_CONNS_PER_IP": "-1"},
		"no_write_timeout":      {"THROUGHCARE_WRITE_TIMEOUT": "0s"},
		"no_body_timeout":       {"THROUGHCARE_READ_BODY_TIMEOUT": "-1s"},
	} {
		if _, err := parseConfig(nil, func(k string) string { return bad[k] }, io.Discard); err == nil {
			t.Errorf("%s: parseConfig accepted %v", name, bad)
		}
	}
}

// The server caps the connections one address holds open.
func TestConnectionsPerAddressAreCapped(t *testing.T) {
	base, logs := runServer(t, "--max-conns-per-ip", "1")
	addr := strings.TrimPrefix(base, "http://")
	first, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	// An answer on the first connection shows it was accepted and counted.
	fmt.Fprintf(first, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	first.SetReadDeadline(time.Now().Add(20 * time.Second))
	if status, err := bufio.NewReader(first).ReadString('\n'); err != nil || !strings.Contains(status, "200") {
		t.Fatalf("first connection: %q, %v", status, err)
	}
	second, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	fmt.Fprintf(second, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr) // may fail: the server closed it
	second.SetReadDeadline(time.Now().Add(20 * time.Second))
	n, err := second.Read(make([]byte, 1))
	var ne net.Error
	if n > 0 || err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("a second connection from one address was served (read %d bytes: %v)", n, err)
	}
	logs.waitFor(t, "connection refused: too many open connections from one client address", "")
}
