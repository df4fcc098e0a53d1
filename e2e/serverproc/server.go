package serverproc

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
	"time"
)

// Build builds the server binary into dir (without the race
// detector, which would multiply its memory).
func Build(dir string) (string, error) {
	out := filepath.Join(dir, "throughcare-server")
	cmd := exec.Command("go", "build", "-o", out, "github.com/throughcare/throughcare/cmd/throughcare-server")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building the server: %w", err)
	}
	return out, nil
}

// Server is the running server binary.
type Server struct {
	// URL is where it listens (http://localhost:port); Data its data
	// directory.
	URL, Data string
	cmd       *exec.Cmd
	out       *lockedBuffer
	gc        *gcWatch // the server's GC trace
	done      chan struct{}
}

// lockedBuffer collects the server's output safely across goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Start starts bin on a free loopback port with a data directory in
// tmp and waits until it listens. The sign-in rate limits are raised: the
// soak enrols all its tablets from one address at once.
func Start(bin, tmp string, extra []string) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	// Only a free port was wanted; were it still held, the server would
	// fail to listen and say so.
	_ = ln.Close()
	s := &Server{URL: fmt.Sprintf("http://localhost:%d", port), Data: filepath.Join(tmp, "data"), out: &lockedBuffer{}, done: make(chan struct{})}
	args := append([]string{"--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data", s.Data, "--log-format", "json", "--log-level", "warn",
		"--rp-id", "localhost", "--rp-origins", s.URL, "--auth-burst", "1000", "--auth-refresh-burst", "1000"}, extra...)
	s.cmd = exec.Command(bin, args...)
	s.gc = &gcWatch{out: s.out}
	s.cmd.Env = append(os.Environ(), "GODEBUG=gctrace=1")
	s.cmd.Stdout, s.cmd.Stderr = s.gc, s.gc
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	// How the server exited shows in its output (s.out), which the callers
	// report; done says that it has.
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := os.Stat(filepath.Join(s.Data, "bootstrap-invite.txt")); err == nil {
			if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
				_ = c.Close() // a probe: it only had to connect
				return s, nil
			}
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("the server exited:\n%s", s.out)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("the server did not start:\n%s", s.out)
		}
	}
}

// PID is the server's process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Output is what the server has written to stdout and stderr.
func (s *Server) Output() string { return s.out.String() }

// Heap returns the server's live heap after its last collection and the
// goal of the next one, from its GC trace (zero before the first).
func (s *Server) Heap() (live, goal int64) { return s.gc.heap() }

// BootstrapInvite returns the first admin invite the server wrote.
func (s *Server) BootstrapInvite() (string, error) {
	b, err := os.ReadFile(filepath.Join(s.Data, "bootstrap-invite.txt"))
	return strings.TrimSpace(string(b)), err
}

// Stop stops the server with SIGTERM (SIGKILL after 30 s).
func (s *Server) Stop() {
	// Signal and Kill fail only if the server has exited already, and then
	// done is (or is about to be) closed.
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}
