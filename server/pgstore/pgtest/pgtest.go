// Package pgtest starts throwaway PostgreSQL clusters for tests: initdb in a
// temporary directory, then the server listening on a unix socket in that
// directory only (no TCP port, no system service), as an unprivileged user
// when the tests run as root (initdb refuses root). One cluster serves a
// whole test binary (Shared, with Main stopping it); each test gets a fresh
// database of its own (Cluster.Database).
//
// PostgreSQL's server binaries come from Debian's postgresql package
// (/usr/lib/postgresql/<version>/bin), or THROUGHCARE_POSTGRES_BIN. When they
// are missing a test that needs them fails, saying what to install, unless
// THROUGHCARE_SKIP_POSTGRES=1 is set, which skips every PostgreSQL test (as
// THROUGHCARE_SKIP_BROWSER does the browser tests).
package pgtest

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// superuser is the cluster's bootstrap role; connections over the socket
// are trusted (only the test's own user and the cluster's can reach it).
const superuser = "postgres"

// Cluster is a running throwaway PostgreSQL cluster.
type Cluster struct {
	dir  string // holds data/, the socket and nothing else
	cmd  *exec.Cmd
	exit chan struct{} // closed when the server has exited
	log  *logTail

	stopOnce sync.Once
	stopErr  error
}

// Start starts a cluster of the test's own, stopped and removed in
// t.Cleanup. It fails t if PostgreSQL is not installed (see the package
// comment).
func Start(t testing.TB) *Cluster {
	t.Helper()
	bin := binDir(t)
	c, err := start(bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stopping PostgreSQL: %v", err)
		}
	})
	return c
}

var shared struct {
	once    sync.Once
	main    bool // Main runs the tests
	cluster *Cluster
	err     error
}

// Main runs a test binary's tests (call it from TestMain) and then stops
// the cluster Shared started, if any.
func Main(m *testing.M) {
	shared.main = true
	code := m.Run()
	if c := shared.cluster; c != nil {
		if err := c.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: stopping PostgreSQL: %v\n", err)
			code = max(code, 1)
		}
	}
	os.Exit(code)
}

// Shared returns the test binary's one cluster, starting it on first use;
// Main stops it after the last test. It fails t if PostgreSQL is not
// installed, or if the package's TestMain does not call Main.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	if !shared.main {
		t.Fatal("pgtest.Shared needs the package's TestMain to call pgtest.Main(m), which stops the cluster")
	}
	bin := binDir(t)
	shared.once.Do(func() { shared.cluster, shared.err = start(bin) })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.cluster
}

// binDir finds the directory of initdb and postgres, or skips or fails t.
func binDir(t testing.TB) string {
	t.Helper()
	if os.Getenv("THROUGHCARE_SKIP_POSTGRES") == "1" {
		t.Skip("THROUGHCARE_SKIP_POSTGRES=1: the PostgreSQL tests are skipped")
	}
	if d := os.Getenv("THROUGHCARE_POSTGRES_BIN"); d != "" {
		return d
	}
	if d := debianBinDir(); d != "" {
		return d
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	t.Fatal("the PostgreSQL tests need PostgreSQL's server (initdb, postgres), and it is not installed: " +
		"run `apt-get install -y postgresql` (.ci/run does), point THROUGHCARE_POSTGRES_BIN at the directory " +
		"holding initdb, or set THROUGHCARE_SKIP_POSTGRES=1 to skip them")
	return ""
}

// debianBinDir returns the newest /usr/lib/postgresql/<version>/bin that
// holds initdb, or "".
func debianBinDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	slices.SortFunc(dirs, func(a, b string) int { return version(a) - version(b) })
	if len(dirs) == 0 {
		return ""
	}
	return filepath.Dir(dirs[len(dirs)-1])
}

func version(initdb string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return n
}

func start(bin string) (*Cluster, error) {
	owner, err := serverUser()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, exit: make(chan struct{}), log: &logTail{}}
	if err := c.boot(bin, owner); err != nil {
		_ = os.RemoveAll(dir) // nothing of use in it
		return nil, fmt.Errorf("pgtest: starting PostgreSQL from %s: %w", bin, err)
	}
	return c, nil
}

func (c *Cluster) boot(bin string, owner *syscall.Credential) error {
	if owner != nil {
		if err := os.Chown(c.dir, int(owner.Uid), int(owner.Gid)); err != nil {
			return err
		}
	}
	data := filepath.Join(c.dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", superuser, "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync")
	initdb.Dir, initdb.SysProcAttr = c.dir, procAttr(owner)
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	c.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-k", c.dir,
		"-c", "listen_addresses=", "-c", "max_connections=200")
	// The server dies with the test binary, even when that is killed.
	c.cmd.Dir, c.cmd.SysProcAttr = c.dir, procAttr(owner)
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := c.cmd.Start(); err != nil {
		return err
	}
	ready := make(chan struct{})
	go c.log.follow(stderr, ready)
	go func() { _ = c.cmd.Wait(); close(c.exit) }() // its exit status is in the log
	select {
	case <-ready:
		return nil
	case <-c.exit:
		return fmt.Errorf("postgres exited:\n%s", c.log)
	}
}

// Stop shuts the cluster down (fast shutdown: connections are closed) and
// removes its directory.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		if err := c.cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
			c.stopErr = err
		}
		<-c.exit
		c.stopErr = errors.Join(c.stopErr, os.RemoveAll(c.dir))
	})
	return c.stopErr
}

// URL returns the connection string of a database of the cluster.
func (c *Cluster) URL(database string) string {
	return fmt.Sprintf("postgres://%s@/%s?host=%s&sslmode=disable", superuser, database, c.dir)
}

// Database returns the connection string of the database the key names,
// creating it on first use and dropping it in t.Cleanup: the same key
// (a store's directory, say) reopens the same database.
func (c *Cluster) Database(t testing.TB, key string) string {
	t.Helper()
	name := fmt.Sprintf("t_%x", sha256.Sum256([]byte(key)))[:30]
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.URL(superuser))
	if err != nil {
		t.Fatalf("pgtest: connecting: %v\n%s", err, c.log)
	}
	defer func() { _ = conn.Close(ctx) }() // an admin connection: nothing to flush
	_, err = conn.Exec(ctx, "CREATE DATABASE "+name)
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "42P04": // duplicate_database: opened before
	case err != nil:
		t.Fatalf("pgtest: creating a database: %v", err)
	default:
		t.Cleanup(func() { c.drop(t, name) })
	}
	return c.URL(name)
}

func (c *Cluster) drop(t testing.TB, name string) {
	select {
	case <-c.exit:
		return // the cluster is gone, and its databases with it
	default:
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.URL(superuser))
	if err != nil {
		t.Errorf("pgtest: connecting to drop %s: %v", name, err)
		return
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
		t.Errorf("pgtest: dropping %s: %v", name, err)
	}
}

// logTail keeps the server's last log lines, for error messages.
type logTail struct {
	mu    sync.Mutex
	lines []string
}

const keptLines = 50

// follow reads the server's log until it ends, closing ready once the
// server accepts connections.
func (l *logTail) follow(r io.Reader, ready chan<- struct{}) {
	sc := bufio.NewScanner(r)
	signalled := false
	for sc.Scan() {
		line := sc.Text()
		l.mu.Lock()
		l.lines = append(l.lines, line)
		if len(l.lines) > keptLines {
			l.lines = l.lines[len(l.lines)-keptLines:]
		}
		l.mu.Unlock()
		if !signalled && strings.Contains(line, "ready to accept connections") {
			close(ready)
			signalled = true
		}
	}
	_, _ = io.Copy(io.Discard, r) // a line too long for the scanner: keep the pipe drained
}

func (l *logTail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}
