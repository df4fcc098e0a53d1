package e2e

// The harness: TestMain builds the real binaries; startServer runs the
// server on a random port with a temporary data directory; cli drives it
// with the throughcare CLI.

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/servertest/fixture"
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

// server is a running throughcare-server.
type server struct {
	URL, Data string
	Out       *fixture.Logs
	cmd       *exec.Cmd
	args      []string
	proc      *proc // the current process
}

// proc is one run of the server binary.
type proc struct {
	cmd    *exec.Cmd
	done   chan struct{} // closed when the process has exited
	err    error         // Wait's result, set before done is closed
	killed bool          // stopped by kill: its exit is expected
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
// with SIGTERM when the test ends and must exit cleanly. kill and restart
// crash it and bring it back on the same port and data directory.
func startServer(t *testing.T, extra ...string) *server {
	t.Helper()
	port := freePort(t)
	s := &server{URL: fmt.Sprintf("http://localhost:%d", port), Data: t.TempDir(), Out: &fixture.Logs{}}
	s.args = append([]string{"--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data", s.Data, "--log-format", "json",
		"--rp-id", "localhost", "--rp-origins", s.URL}, extra...)
	t.Cleanup(func() {
		p := s.proc
		if p == nil || p.killed {
			return
		}
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
			if p.err != nil {
				t.Errorf("server exited with %v\n%s", p.err, s.Out)
			}
		case <-time.After(30 * time.Second):
			p.cmd.Process.Kill()
			t.Errorf("server did not stop on SIGTERM\n%s", s.Out)
		}
	})
	if !s.launch(t) {
		t.Fatalf("server did not start:\n%s", s.Out)
	}
	return s
}

// launch starts the binary and waits until it listens; false if it exited
// first.
func (s *server) launch(t *testing.T) bool {
	t.Helper()
	mark := s.Out.Len()
	cmd := exec.Command(bin.server, s.args...)
	cmd.Stdout, cmd.Stderr = s.Out, s.Out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	s.cmd, s.proc = cmd, p
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	go func() { // a server that exits will never log that it listens
		select {
		case <-p.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	if s.Out.AwaitFrom(ctx, mark, `"message":"listening"`) {
		return true
	}
	select {
	case <-p.done:
		p.killed = true // nothing left to stop
		return false
	default:
	}
	t.Fatalf("server did not start:\n%s", s.Out)
	return false
}

// kill crashes the server with SIGKILL (no draining, no clean close of the
// store) and waits for it to be gone.
func (s *server) kill(t *testing.T) {
	t.Helper()
	p := s.proc
	if p == nil || p.killed {
		t.Fatal("kill: the server is not running")
	}
	p.killed = true
	p.cmd.Process.Kill()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not die on SIGKILL")
	}
}

// stop stops the server cleanly with SIGTERM and waits for it to exit;
// restart brings it back.
func (s *server) stop(t *testing.T) {
	t.Helper()
	p := s.proc
	if p == nil || p.killed {
		t.Fatal("stop: the server is not running")
	}
	p.killed = true
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			t.Fatalf("server exited with %v\n%s", p.err, s.Out)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not stop on SIGTERM")
	}
}

// restart starts the server again on the same port and data directory
// (after kill), so devices' URLs still work.
func (s *server) restart(t *testing.T) {
	t.Helper()
	if p := s.proc; p != nil && !p.killed {
		t.Fatal("restart: the server is still running")
	}
	for attempt := 1; ; attempt++ {
		if s.launch(t) {
			return
		}
		// The port may linger for a moment after the crash.
		if attempt == 20 || !strings.Contains(s.Out.String(), "address already in use") {
			t.Fatalf("the server did not restart:\n%s", s.Out)
		}
		time.Sleep(250 * time.Millisecond)
	}
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
