package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// healthcheck asks the server listening on --listen (THROUGHCARE_LISTEN)
// whether it is ready (GET /readyz) and fails unless it answers 200 in
// time. It is the container's HEALTHCHECK: the runtime image has no shell
// and no curl. An unspecified host (0.0.0.0, [::]) is asked on loopback.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("throughcare-server healthcheck", flag.ContinueOnError)
	fs.SetOutput(stdout)
	listen := fs.String("listen", envOr(getenv, "THROUGHCARE_LISTEN", "127.0.0.1:8080"), "the address the server listens on (env THROUGHCARE_LISTEN)")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	url, err := readyURL(*listen)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer func() { _ = resp.Body.Close() }() // read nothing from it: closing loses nothing
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", url, resp.Status)
	}
	fmt.Fprintln(stdout, "ready")
	return nil
}

// readyURL is the /readyz URL of a server listening on addr.
func readyURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("healthcheck: --listen %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	if port == "" {
		return "", errors.New("healthcheck: --listen needs a port")
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz", nil
}
