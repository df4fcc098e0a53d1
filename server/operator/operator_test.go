package operator

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/auth"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
)

// serveOn starts the operator channel on dir over an in-memory store and
// stops it when the test ends.
func serveOn(t *testing.T, dir string) (*Server, *store.DB) {
	t.Helper()
	st, err := store.Open(store.Options{InMemory: true, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s, err := Listen(Config{Dir: dir, Store: st, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve() }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s, st
}

// The socket is the server user's only, answers with an invite that
// enrols an admin of the named area (created if new), and goes on Close.
func TestMintAdminInviteThroughTheSocket(t *testing.T) {
	dir := t.TempDir()
	s, st := serveOn(t, dir)
	fi, err := os.Lstat(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, want a socket with 0600", fi.Mode())
	}
	if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != os.Geteuid() {
		t.Errorf("socket owned by uid %d, want the server's %d", st.Uid, os.Geteuid())
	}

	ctx := context.Background()
	for _, area := range []string{"Southwark", "southwark", "Lewisham"} {
		inv, err := MintAdminInvite(ctx, dir, area)
		if err != nil {
			t.Fatalf("MintAdminInvite(%q): %v", area, err)
		}
		if !strings.HasPrefix(inv.Code, "tci_") || inv.ExpiresAt.Before(time.Now()) {
			t.Fatalf("invite %+v: want a live tci_ code", inv)
		}
		err = st.DirectoryView(ctx, func(tx store.DirTx) error {
			in, err := tx.Invite(auth.HashSecret(inv.Code))
			if err != nil {
				return err
			}
			a, err := tx.Area(in.AreaID)
			if err != nil {
				return err
			}
			if in.Role != identity.Admin.String() || !strings.EqualFold(a.Name, area) {
				t.Errorf("invite for %q: role %s in area %q", area, in.Role, a.Name)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("the minted invite is not in the store: %v", err)
		}
	}
	var areas []*store.Area
	_ = st.DirectoryView(ctx, func(tx store.DirTx) (err error) { areas, err = tx.Areas(); return err })
	if len(areas) != 2 {
		t.Errorf("%d areas, want 2 (Southwark once, whatever its case, and Lewisham)", len(areas))
	}

	if _, err := MintAdminInvite(ctx, dir, "  "); err == nil || !strings.Contains(err.Error(), "area name is required") {
		t.Errorf("a blank area name: %v, want the server's refusal", err)
	}

	s.Close()
	if _, err := os.Lstat(s.Path()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after Close the socket: %v, want it gone", err)
	}
	if _, err := MintAdminInvite(ctx, dir, "Lewisham"); !errors.Is(err, ErrNotRunning) {
		t.Errorf("with the server stopped: %v, want ErrNotRunning", err)
	}
}

// A socket a crashed server left is stale: clients take it for no server,
// and the next start replaces it. Anything else at the path stays.
func TestStaleSocket(t *testing.T) {
	dir := t.TempDir()
	path := SocketPath(dir)
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close() // what a SIGKILL leaves
	if _, err := MintAdminInvite(context.Background(), dir, "Southwark"); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("on a stale socket: %v, want ErrNotRunning", err)
	}
	serveOn(t, dir)
	if _, err := MintAdminInvite(context.Background(), dir, "Southwark"); err != nil {
		t.Fatalf("after replacing the stale socket: %v", err)
	}
	// A second server on the same directory finds the live one.
	st, _ := store.Open(store.Options{InMemory: true, Logger: zerolog.Nop()})
	defer st.Close()
	if _, err := Listen(Config{Dir: dir, Store: st}); err == nil || !strings.Contains(err.Error(), "another process") {
		t.Errorf("a second Listen on a live socket: %v", err)
	}

	other := t.TempDir()
	if err := os.WriteFile(SocketPath(other), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(Config{Dir: other, Store: st}); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("Listen over a regular file: %v", err)
	}
	if b, _ := os.ReadFile(SocketPath(other)); string(b) != "mine" {
		t.Error("Listen replaced a file that was not a socket")
	}
	long := filepath.Join(t.TempDir(), strings.Repeat("d", 120))
	if _, err := Listen(Config{Dir: long, Store: st}); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("Listen on a too-long path: %v", err)
	}
}

// Another user is kept out twice: by the socket's mode, and, if the mode
// were opened up, by the peer-credential check. It needs root to run a
// process as someone else; as any other user the mode bits above are the
// whole check.
func TestAnotherUserCannotMintInvites(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		childMint(t)
		return
	}
	if os.Geteuid() != 0 {
		t.Log("not root: cannot run a process as another user; the socket's mode is checked by TestMintAdminInviteThroughTheSocket")
		return
	}
	dir := openDir(t) // only the socket's own mode keeps nobody out now
	s, _ := serveOn(t, dir)
	exe := copyTestBinary(t)

	out, err := asNobody(exe, dir).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "permission denied") {
		t.Fatalf("nobody, through a 0600 socket: %v\n%s", err, out)
	}
	if err := os.Chmod(s.Path(), 0o666); err != nil {
		t.Fatal(err)
	}
	out, err = asNobody(exe, dir).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "admits only the server's own user and root") {
		t.Fatalf("nobody, through a socket opened to everyone: %v\n%s", err, out)
	}
}

const childEnv = "OPERATOR_TEST_CHILD_DIR"

func childMint(t *testing.T) {
	_, err := MintAdminInvite(context.Background(), os.Getenv(childEnv), "Southwark")
	if err != nil {
		t.Fatal(err)
	}
}

func asNobody(exe, dir string) *exec.Cmd {
	cmd := exec.Command(exe, "-test.run=^TestAnotherUserCannotMintInvites$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	return cmd
}

// copyTestBinary copies the test binary where another user may run it (go
// test builds it in a directory only its user reaches).
func copyTestBinary(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(openDir(t), "operator.test")
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return exe
}

// openDir is a new directory every user may traverse (t.TempDir's parent
// is its user's only).
func openDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "operator-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
