package deploy

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/servertest/fixture"
)

// server is a running throughcare-server.
type server struct {
	URL, listen, data string
	// metrics is the address metrics are served on (the env file's
	// 127.0.0.1:9464 replaced by a free port).
	metrics string
	out     *fixture.Logs
	cmd     *exec.Cmd
	done    chan error
	stopped bool
}

// startServer runs the server with env (THROUGHCARE_* variables) on a
// random loopback port and a fresh data directory, which override env's,
// as do passkeys' relying party (localhost, from the server's address). It
// is stopped when the test ends and must exit cleanly.
func startServer(t *testing.T, env map[string]string) *server {
	t.Helper()
	return startServerOn(t, env, t.TempDir())
}

// startServerOn starts the server on the data directory data.
func startServerOn(t *testing.T, env map[string]string, data string) *server {
	t.Helper()
	port, metricsPort := freePort(t), freePort(t)
	s := &server{listen: fmt.Sprintf("127.0.0.1:%d", port), URL: fmt.Sprintf("http://localhost:%d", port),
		metrics: fmt.Sprintf("127.0.0.1:%d", metricsPort), data: data, out: &fixture.Logs{}, done: make(chan error, 1)}
	vars := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "THROUGHCARE_") {
			vars = append(vars, kv)
		}
	}
	for k, v := range env {
		vars = append(vars, k+"="+v)
	}
	if _, ok := env["THROUGHCARE_METRICS_LISTEN"]; ok {
		vars = append(vars, "THROUGHCARE_METRICS_LISTEN="+s.metrics)
	}
	vars = append(vars, "THROUGHCARE_LISTEN="+s.listen, "THROUGHCARE_DATA="+s.data, "THROUGHCARE_LOG_FORMAT=json",
		"THROUGHCARE_RP_ID=localhost", "THROUGHCARE_RP_ORIGINS="+s.URL)
	s.cmd = exec.Command(bin.server)
	s.cmd.Env, s.cmd.Stdout, s.cmd.Stderr = vars, s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		err := s.cmd.Wait()
		close(exited)
		s.done <- err
	}()
	t.Cleanup(func() {
		if !s.stopped {
			s.stop(t)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	go func() { // a server that exits will never log that it listens
		select {
		case <-exited:
			cancel()
		case <-ctx.Done():
		}
	}()
	if !s.out.Await(ctx, `"message":"listening"`) {
		select {
		case <-exited:
			s.stopped = true
			t.Fatalf("the server exited (%v) before listening:\n%s", <-s.done, s.out)
		default:
			t.Fatalf("the server did not start:\n%s", s.out)
		}
	}
	return s
}

// stop stops the server with SIGTERM and waits for a clean exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	s.stopped = true
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("the server exited with %v\n%s", err, s.out)
		}
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		t.Errorf("the server did not stop on SIGTERM\n%s", s.out)
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port
}
