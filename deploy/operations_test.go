package deploy

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/store"
)

// block is a fenced ```sh block of OPERATIONS.md. ```sh stopped ones
// need the server stopped; ```sh before-start ones come before its first
// start.
type block struct {
	line    int
	text    string
	stopped bool
	first   bool
}

// shBlocks returns OPERATIONS.md's ```sh blocks (```shell ones are not
// run: they need systemd, Docker or a real host).
func shBlocks(t *testing.T) []block {
	t.Helper()
	f, err := os.Open("OPERATIONS.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		out    []block
		cur    *block
		indent string
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimLeft(line, " ")
		switch {
		case cur == nil && (trimmed == "```sh" || trimmed == "```sh stopped" || trimmed == "```sh before-start"):
			cur, indent = &block{line: n, stopped: trimmed == "```sh stopped", first: trimmed == "```sh before-start"}, line[:len(line)-len(trimmed)]
		case cur != nil && trimmed == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.text += strings.TrimPrefix(line, indent) + "\n"
		}
	}
	return out
}

// TestOperationsCommands runs every ```sh block of OPERATIONS.md, in
// order, against the real binaries and a server started with the
// environment file, with the guide's stated substitutions: the data
// directory, /etc/throughcare, the public address and the listen address
// are the test's, and `sudo -u throughcare` and `-o throughcare` go (the
// test is the server's user). The ```sh before-start blocks run first, on
// a store made before encryption (so the guide's key set-up and its
// encryption of an old store both run), and the server then starts on what
// they leave. Then a worker, Sam Worker, is enrolled in the bootstrap area
// (the lost tablet's owner). THROUGHCARE_OPERATIONS_TRANSCRIPT=FILE writes
// what ran and what it printed.
func TestOperationsCommands(t *testing.T) {
	blocks := shBlocks(t)
	if len(blocks) < 7 {
		t.Fatalf("OPERATIONS.md has %d sh blocks; the guide's runnable commands must be in ```sh blocks", len(blocks))
	}
	etc := t.TempDir() // the guide's /etc/throughcare
	data := filepath.Join(t.TempDir(), "data")
	old, err := store.Open(store.Options{Dir: data, Logger: zerolog.Nop(), GCInterval: -1}) // a store from before encryption
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for k, v := range readEnvFile(t) {
		if v.set {
			env[k] = strings.ReplaceAll(v.value, "/etc/throughcare", etc)
		}
	}
	work := t.TempDir()
	sh := func(script string) (string, error) {
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "PATH="+bin.dir+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	var transcript strings.Builder
	run := func(b block, subst *strings.Replacer) {
		out, err := sh(subst.Replace(b.text))
		fmt.Fprintf(&transcript, "$ # OPERATIONS.md:%d\n%s%s\n", b.line, prompt(b.text), out)
		if err != nil {
			t.Errorf("OPERATIONS.md:%d: %v\n%s\n%s", b.line, err, b.text, out)
		}
	}
	ownUser := []string{"sudo -u throughcare ", "", "-o throughcare ", ""}
	before := strings.NewReplacer(append([]string{"/var/lib/throughcare", data, "/etc/throughcare", etc}, ownUser...)...)
	for _, b := range blocks {
		if b.first {
			run(b, before)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	s := startServerOn(t, env, data)
	setup := fmt.Sprintf(`T="throughcare --server %[1]s --profile setup.json"
$T enrol --invite "$(throughcare-server invite-admin --data %[2]s --area Lambeth | awk '{print $NF}')" --device setup
team=$($T team create "North team" | awk '{print $2}')
code=$($T invite --role worker --team "$team" --name "Sam Worker" | awk '{print $2}')
throughcare --server %[1]s --profile sam.json enrol --invite "$code" --device "Tablet 7"`, s.URL, s.data)
	if out, err := sh(setup); err != nil {
		t.Fatalf("setting up Sam Worker: %v\n%s", err, out)
	}

	subst := strings.NewReplacer(append([]string{"/var/lib/throughcare", s.data, "https://throughcare.example.org", s.URL,
		"127.0.0.1:8080", s.listen, "/etc/throughcare", etc, "127.0.0.1:9464", s.metrics}, ownUser...)...)
	// The running server's blocks first, in order; then, with it stopped,
	// those that need it stopped (rotating the key, checking the audit).
	slices.SortStableFunc(blocks, func(a, b block) int {
		switch {
		case a.stopped == b.stopped:
			return 0
		case a.stopped:
			return 1
		}
		return -1
	})
	samRefused := func() { // checked while the server still runs
		out, err := sh(fmt.Sprintf("throughcare --server %s --profile sam.json pull", s.URL))
		if err == nil {
			t.Errorf("Sam's tablet still syncs after the guide disabled Sam:\n%s", out)
		}
	}
	for _, b := range blocks {
		if b.first {
			continue
		}
		if b.stopped && !s.stopped {
			samRefused()
			s.stop(t)
		}
		run(b, subst)
	}
	if !s.stopped {
		samRefused()
	}
	if path := os.Getenv("THROUGHCARE_OPERATIONS_TRANSCRIPT"); path != "" {
		if err := os.WriteFile(path, []byte(transcript.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
	got := transcript.String()
	for _, want := range []string{
		"created the key file " + etc + "/store.key (key ",  // the production key, made before the first start
		"keys copied and checked",                           // the store from before encryption, encrypted
		"role admin",                                        // the first admin enrolled with the bootstrap invite
		"admin invite for Southwark (valid 168h0m0s): tci_", // minted through the running server's socket
		"in Southwark",                                      // its admin administers the new area
		" disabled: every device of theirs is signed out",   // the lost tablet's owner
		" revoked: it can no longer sign in or sync",        // the lost tablet, by an admin
		"ready\n", // the health check
		"backup 2026-12-08-incremental.tcbk: incremental from version", // a backup by hand, following the full one
		"the store passed its checks and is encrypted with key",        // the restore drill of those two files
		"no longer opens it",    // the key rotated
		"entries, whole; head ", // the audit chains verified, with the new key
		"throughcare_build_info{",
		"throughcare_sessions ", // the metrics, on their own address
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the guide's commands never printed %q:\n%s", want, got)
		}
	}
	t.Logf("transcript:\n%s", got)
}

// prompt shows a block's commands as typed ("$ " before each line).
func prompt(text string) string {
	var b strings.Builder
	for line := range strings.Lines(text) {
		b.WriteString("$ " + line)
	}
	return b.String()
}
