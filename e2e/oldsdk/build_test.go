package oldsdk

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// schema2Subject opens the subject of the commit (9b256f9) that brought schema
// version 2 (appointments); the old tablet is built from its parent.
const schema2Subject = "schema version 2: the appointment record type"

// buildOldTablet builds testdata/oldtablet inside the repository as it
// stood at the last commit before schema version 2, and returns the
// binary's path (in t's temporary directory). It needs git and the full
// history (a shallow clone fails here, saying so).
func buildOldTablet(t *testing.T) string {
	t.Helper()
	var found []string
	for _, line := range strings.Split(git(t, "log", "--format=%H %s", "--fixed-strings", "--grep="+schema2Subject, "HEAD"), "\n") {
		if hash, subject, _ := strings.Cut(line, " "); strings.HasPrefix(subject, schema2Subject) {
			found = append(found, hash)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want exactly one commit titled %q in HEAD's history, got %q: the test needs the repository's full history (not a shallow clone)", schema2Subject, found)
	}
	child := found[0]
	old := git(t, "rev-parse", child+"^")
	tmp := t.TempDir()
	src := filepath.Join(tmp, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	tarball := filepath.Join(tmp, "src.tar")
	git(t, "archive", "--format=tar", "-o", tarball, old)
	command(t, tmp, nil, "tar", "-xf", tarball, "-C", src)
	if _, err := os.Stat(filepath.Join(src, "client-sdk", "caseload", "appointment.go")); !os.IsNotExist(err) {
		t.Fatalf("the tree at %s has caseload/appointment.go (%v): it is not the SDK before appointments", old, err)
	}
	prog, err := os.ReadFile(filepath.Join("testdata", "oldtablet", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(src, "cmd", "oldtablet")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), prog, 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(tmp, "oldtablet")
	command(t, src, []string{"GOWORK=off", "GOFLAGS=-mod=mod", "CGO_ENABLED=0"}, "go", "build", "-o", bin, "./cmd/oldtablet")
	return bin
}

// git runs git at the top of the repository holding the test's directory
// and returns its trimmed output.
func git(t *testing.T, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("this test builds the old SDK from the repository's history and needs git: %v", err)
	}
	out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Fatalf("this test builds the old SDK from the repository's history and must run inside a git clone: git rev-parse: %v", err)
	}
	top := strings.TrimSpace(string(out))
	return strings.TrimSpace(command(t, top, nil, "git", args...))
}

// command runs name in dir with env added to the test's environment, and
// returns its stdout; it fails the test, with stderr, if the command fails.
func command(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// oldReport is what one run of the old tablet prints (see
// testdata/oldtablet).
type oldReport struct {
	UserID, DeviceID string
	Logged           string
	First, Sync      syncReport
	Clients          int
	Client           []clientFlags
	Contacts         []struct {
		ID, ClientID, Author, Category string
		Pending                        bool
	}
}

// clientFlags is what the old tablet reads of a client: the consent and
// risk flags schema version 1 has.
type clientFlags struct {
	ID                              string
	ConsentToShare, ConsentRecorded bool
	RiskFlags                       []string
}

// syncReport is the old SDK's caseload.SyncReport.
type syncReport struct{ Accepted, Rejected, Late, Pulled, Evicted int }

// runOld runs the old tablet once with args and returns its report.
func runOld(t *testing.T, bin string, args ...string) oldReport {
	t.Helper()
	out := command(t, ".", nil, bin, args...)
	var r oldReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("the old tablet printed %q: %v", out, err)
	}
	return r
}
