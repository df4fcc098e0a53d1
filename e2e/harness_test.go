package e2e

// The harness: TestMain builds the real binaries; startServer runs the
// server on a random port with a temporary data directory; cli drives it
// with the throughcare CLI.

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var bin struct{ server, cli string }

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "throughcare-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	build := exec.Command("go", "build", "-race", "-o", dir+string(os.PathSeparator), "../cmd/throughcare-server", "../cmd/throughcare")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the binaries:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	bin.server, bin.cli = filepath.Join(dir, "throughcare-server"), filepath.Join(dir, "throughcare")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// output collects a process's output safely across goroutines.
type output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// server is a running throughcare-server.
type server struct {
	URL, Data string
	Out       *output
	cmd       *exec.Cmd
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startServer starts the server with a fresh data directory; it is stopped
// with SIGTERM when the test ends and must exit cleanly.
func startServer(t *testing.T, extra ...string) *server {
	t.Helper()
	port := freePort(t)
	s := &server{URL: fmt.Sprintf("http://localhost:%d", port), Data: t.TempDir(), Out: &output{}}
	args := append([]string{"--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data", s.Data, "--log-format", "json",
		"--rp-id", "localhost", "--rp-origins", s.URL}, extra...)
	s.cmd = exec.Command(bin.server, args...)
	s.cmd.Stdout, s.cmd.Stderr = s.Out, s.Out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- s.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server exited with %v\n%s", err, s.Out)
			}
		case <-time.After(30 * time.Second):
			s.cmd.Process.Kill()
			t.Errorf("server did not stop on SIGTERM\n%s", s.Out)
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(s.Out.String(), `"message":"listening"`) {
		if time.Now().After(deadline) || s.cmd.ProcessState != nil {
			t.Fatalf("server did not start:\n%s", s.Out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s
}

// bootstrapInvite returns the first admin invite the server wrote.
func (s *server) bootstrapInvite(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.Data, "bootstrap-invite.txt"))
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(filepath.Join(s.Data, "bootstrap-invite.txt"))
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("bootstrap invite file mode %v, want 0600", fi.Mode().Perm())
	}
	return strings.TrimSpace(string(b))
}

// cli runs the throughcare CLI with a profile and returns its output; it
// fails the test if the command fails.
func (s *server) cli(t *testing.T, profile string, args ...string) string {
	t.Helper()
	out, err := s.tryCLI(profile, args...)
	if err != nil {
		t.Fatalf("throughcare %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (s *server) tryCLI(profile string, args ...string) (string, error) {
	cmd := exec.Command(bin.cli, append([]string{"--server", s.URL, "--profile", profile}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// field returns the word after key in out ("team 123 ..." → "123").
func field(t *testing.T, out, key string) string {
	t.Helper()
	words := strings.Fields(out)
	for i, w := range words {
		if w == key && i+1 < len(words) {
			return strings.TrimSuffix(words[i+1], ",")
		}
	}
	t.Fatalf("no %q in %q", key, out)
	return ""
}
