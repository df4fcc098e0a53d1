package deploy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// dockerfile is deploy/Dockerfile, parsed by BuildKit's own parser, with
// what its parser and linter warned about.
type dockerfile struct {
	stages   []instructions.Stage
	warnings []string
}

func parseDockerfile() (*dockerfile, error) {
	f, err := os.Open("Dockerfile")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("parsing the Dockerfile: %w", err)
	}
	df := &dockerfile{}
	for _, w := range res.Warnings {
		df.warnings = append(df.warnings, w.Short)
	}
	lint := linter.New(&linter.Config{ExperimentalAll: true, Warn: func(rule, _, _, msg string, loc []parser.Range) {
		df.warnings = append(df.warnings, fmt.Sprintf("%s: %s (line %v)", rule, msg, loc))
	}})
	if df.stages, _, err = instructions.Parse(res.AST, lint); err != nil {
		return nil, fmt.Errorf("the Dockerfile's instructions: %w", err)
	}
	if len(df.stages) < 2 {
		return nil, errors.New("the Dockerfile must have a build stage and a runtime stage")
	}
	return df, nil
}

// commands returns the commands of type T in a stage.
func commands[T instructions.Command](s instructions.Stage) []T {
	var out []T
	for _, c := range s.Commands {
		if t, ok := c.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

// goBuild returns the build stage's RUN command that builds the server.
func (df *dockerfile) goBuild() (string, error) {
	for _, r := range commands[*instructions.RunCommand](df.stages[0]) {
		if cmd := strings.Join(r.CmdLine, " "); strings.Contains(cmd, "go build") {
			return cmd, nil
		}
	}
	return "", errors.New("the Dockerfile's first stage has no RUN ... go build")
}

func (df *dockerfile) runtime() instructions.Stage { return df.stages[len(df.stages)-1] }

// The Dockerfile is clean to BuildKit's parser and linter, multi-stage,
// builds a static binary with -trimpath (TestMain builds the test's server
// with that very command), and its runtime stage is distroless, runs as a
// non-root user, keeps its data on a volume and checks its health with the
// binary itself.
func TestDockerfile(t *testing.T) {
	df, err := parseDockerfile()
	if err != nil {
		t.Fatal(err)
	}
	if len(df.warnings) > 0 {
		t.Errorf("BuildKit warns about the Dockerfile:\n%s", strings.Join(df.warnings, "\n"))
	}
	build, run := df.stages[0], df.runtime()
	if !strings.HasPrefix(build.BaseName, "golang:") {
		t.Errorf("the build stage is FROM %s, want golang:", build.BaseName)
	}
	cmd, _ := df.goBuild()
	for _, want := range []string{"-trimpath", "CGO_ENABLED=0", "./cmd/throughcare-server"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("the build command %q lacks %s", cmd, want)
		}
	}
	if !strings.HasPrefix(run.BaseName, "gcr.io/distroless/static") {
		t.Errorf("the runtime stage is FROM %s, want distroless (no shell, no package manager)", run.BaseName)
	}
	for _, c := range commands[*instructions.CopyCommand](run) {
		if c.From != build.Name {
			t.Errorf("the runtime stage copies %v from %q, want only the build stage %q", c.SourcePaths, c.From, build.Name)
		}
	}
	if len(commands[*instructions.RunCommand](run)) > 0 {
		t.Error("the runtime stage RUNs something: it has no shell")
	}

	users := commands[*instructions.UserCommand](run)
	if len(users) == 0 {
		t.Fatal("the runtime stage sets no USER: it would run as root")
	}
	user := strings.Split(users[len(users)-1].User, ":")[0]
	if user == "" || user == "0" || user == "root" {
		t.Errorf("the runtime stage runs as USER %q, want a non-root user", users[len(users)-1].User)
	}

	env := map[string]string{}
	for _, e := range commands[*instructions.EnvCommand](run) {
		for _, kv := range e.Env {
			env[kv.Key] = kv.Value
		}
	}
	flags := serverFlags(t)
	for k := range env {
		if _, ok := flags[k]; !ok && strings.HasPrefix(k, "THROUGHCARE_") {
			t.Errorf("the image sets %s, which is no flag of throughcare-server", k)
		}
	}
	var volumes []string
	for _, v := range commands[*instructions.VolumeCommand](run) {
		volumes = append(volumes, v.Volumes...)
	}
	if data := env["THROUGHCARE_DATA"]; data == "" || !slices.Contains(volumes, data) {
		t.Errorf("the image's data directory THROUGHCARE_DATA=%q is not a VOLUME (%v)", data, volumes)
	}

	eps := commands[*instructions.EntrypointCommand](run)
	if len(eps) != 1 || eps[0].PrependShell || eps[0].CmdLine[0] != "/usr/local/bin/throughcare-server" {
		t.Errorf("ENTRYPOINT %+v: want the server, in exec form (there is no shell)", eps)
	}
	checks := commands[*instructions.HealthCheckCommand](run)
	if len(checks) != 1 || checks[0].Health == nil || len(checks[0].Health.Test) < 2 || checks[0].Health.Test[0] != "CMD" {
		t.Fatalf("HEALTHCHECK %+v: want one, in exec form (CMD [...]: there is no shell)", checks)
	}
	h := checks[0].Health
	if h.Timeout <= 0 || h.Interval <= 0 || h.StartPeriod <= 0 {
		t.Errorf("HEALTHCHECK without an interval, timeout or start period: %+v", h)
	}
	testHealthcheckCommand(t, h.Test[1:], env)
}

// testHealthcheckCommand runs the image's health check against a running
// server (listening where the test may, on loopback) and a stopped one.
func testHealthcheckCommand(t *testing.T, argv []string, env map[string]string) {
	t.Helper()
	if argv[0] != "/usr/local/bin/throughcare-server" {
		t.Fatalf("the health check runs %s, want the server binary", argv[0])
	}
	if listen := env["THROUGHCARE_LISTEN"]; !strings.HasPrefix(listen, "0.0.0.0:") {
		t.Errorf("the image listens on %q: inside a container it must be 0.0.0.0:PORT", listen)
	}
	s := startServer(t, nil)
	check := func() error {
		cmd := exec.CommandContext(context.Background(), bin.server, argv[1:]...)
		cmd.Env = append(os.Environ(), "THROUGHCARE_LISTEN="+s.listen)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	}
	if err := check(); err != nil {
		t.Errorf("the health check fails on a running server: %v", err)
	}
	s.stop(t)
	if err := check(); err == nil {
		t.Error("the health check passes with the server stopped")
	}
}
