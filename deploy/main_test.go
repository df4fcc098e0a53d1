package deploy

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// bin holds the binaries the tests run: the server built by the
// Dockerfile's own build command, and the operator CLI.
var bin struct{ dir, server, cli string }

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "throughcare-deploy")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := 1
	if err := build(dir); err != nil {
		fmt.Fprintln(os.Stderr, "building the binaries:", err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// build builds the server into dir exactly as the Dockerfile's build stage
// does (its go build command, /out replaced by dir), and the CLI.
func build(dir string) error {
	df, err := parseDockerfile()
	if err != nil {
		return err
	}
	cmd, err := df.goBuild()
	if err != nil {
		return err
	}
	sh := exec.Command("sh", "-c", strings.ReplaceAll(cmd, "/out", dir))
	sh.Dir = ".." // the Dockerfile's build context: the repository
	if out, err := sh.CombinedOutput(); err != nil {
		return fmt.Errorf("the Dockerfile's build command %q: %v\n%s", cmd, err, out)
	}
	cli := exec.Command("go", "build", "-o", dir+string(os.PathSeparator), "../cmd/throughcare")
	if out, err := cli.CombinedOutput(); err != nil {
		return fmt.Errorf("building the CLI: %v\n%s", err, out)
	}
	bin.dir, bin.server, bin.cli = dir, filepath.Join(dir, "throughcare-server"), filepath.Join(dir, "throughcare")
	return nil
}

// serverFlag is one flag of throughcare-server, as -h lists it.
type serverFlag struct {
	name, kind, env, def string // def: "" when -h shows none (a zero value)
}

var (
	flagLine    = regexp.MustCompile(`^  -([a-z0-9-]+)(?: ([a-z]+))?$`)
	flagEnv     = regexp.MustCompile(`\(env (THROUGHCARE_[A-Z0-9_]+)\)`)
	flagDefault = regexp.MustCompile(`\(default (.*)\)$`)
)

// serverFlags runs `throughcare-server -h` and parses the flags it lists.
func serverFlags(t *testing.T) map[string]serverFlag {
	t.Helper()
	out, err := exec.Command(bin.server, "-h").CombinedOutput()
	if err != nil {
		t.Fatalf("throughcare-server -h: %v\n%s", err, out)
	}
	flags := map[string]serverFlag{}
	var cur *serverFlag
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if m := flagLine.FindStringSubmatch(line); m != nil {
			cur = &serverFlag{name: m[1], kind: m[2]}
			continue
		}
		if cur == nil || !strings.HasPrefix(line, "    \t") {
			continue
		}
		m := flagEnv.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("flag -%s does not name its environment variable: %q", cur.name, line)
		}
		cur.env = m[1]
		if d := flagDefault.FindStringSubmatch(line); d != nil {
			cur.def = d[1]
		}
		flags[cur.env] = *cur
		cur = nil
	}
	if len(flags) < 30 {
		t.Fatalf("parsed only %d flags from throughcare-server -h:\n%s", len(flags), out)
	}
	return flags
}
