package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadyURL(t *testing.T) {
	for _, tc := range []struct{ listen, want string }{
		{"127.0.0.1:8080", "http://127.0.0.1:8080/readyz"},
		{"0.0.0.0:8080", "http://127.0.0.1:8080/readyz"},
		{":9000", "http://127.0.0.1:9000/readyz"},
		{"[::]:8080", "http://[::1]:8080/readyz"},
		{"localhost:8080", "http://localhost:8080/readyz"},
	} {
		got, err := readyURL(tc.listen)
		if err != nil || got != tc.want {
			t.Errorf("readyURL(%q) = %q, %v; want %q", tc.listen, got, err, tc.want)
		}
	}
	for _, bad := range []string{"8080", "host:", ""} {
		if got, err := readyURL(bad); err == nil {
			t.Errorf("readyURL(%q) = %q, want an error", bad, got)
		}
	}
}

func healthcheckArgs(listen string) []string { return []string{"healthcheck", "--listen", listen} }

// The healthcheck passes on a running server, and fails on a server that
// is not ready or not there.
func TestHealthcheck(t *testing.T) {
	base, _ := startRun(t, newLogBuffer(), filepath.Join(t.TempDir(), "data"))
	var out bytes.Buffer
	if err := run(context.Background(), healthcheckArgs(strings.TrimPrefix(base, "http://")), func(string) string { return "" }, &out); err != nil || out.String() != "ready\n" {
		t.Fatalf("healthcheck on a running server: %v, %q", err, out.String())
	}
	env := func(k string) string {
		if k == "THROUGHCARE_LISTEN" {
			return strings.TrimPrefix(base, "http://")
		}
		return ""
	}
	if err := run(context.Background(), []string{"healthcheck"}, env, &out); err != nil {
		t.Fatalf("healthcheck from THROUGHCARE_LISTEN: %v", err)
	}

	draining := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	defer draining.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	gone := ln.Addr().String()
	ln.Close()
	for name, listen := range map[string]string{"not ready": strings.TrimPrefix(draining.URL, "http://"), "no server": gone} {
		if err := run(context.Background(), healthcheckArgs(listen), func(string) string { return "" }, &out); err == nil {
			t.Errorf("%s: healthcheck passed", name)
		}
	}
}
