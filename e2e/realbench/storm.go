package main

// The reconnect storm (issue 16): N tablets, each a worker signed in with
// a software passkey of its own, reconnect in rounds (each once a round,
// at a moment drawn uniformly over the round's window): push the
// contacts made offline (about 50 changes), then pull to the end what
// changed in their clients meanwhile (a team's tablets share its two
// clients, so a pull brings the team-mates' last round: about 200
// records with teams of 25). The tablets run in a load process of their
// own (this program again, with -storm-load), which reports the latency
// of each reconnect and its own CPU; the driver reads the server's CPU
// from /proc around the measured rounds.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/throughcare/throughcare/e2e/serverproc"
)

// stormOptions are the storm's settings.
type stormOptions struct {
	sizes        []int // tablets, one storm each
	team, push   int
	rounds       int
	window       time.Duration
	profileDir   string // where to write the server's CPU profile of each storm ("" for none)
	pprofAddress string // the server's --pprof-listen
}

// parseStorm reads -storm: tablet counts separated by commas, or "" or
// "off" for no storm.
func parseStorm(s string) ([]int, error) {
	if s == "" || s == "off" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("-storm %q: want tablet counts separated by commas", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// pprofAddress finds the --pprof-listen address among the server's flags.
func pprofAddress(args []string) string {
	for i, a := range args {
		a = "-" + strings.TrimLeft(a, "-")
		if v, ok := strings.CutPrefix(a, "-pprof-listen="); ok {
			return v
		}
		if a == "-pprof-listen" && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// stormRun is one storm's measurement.
type stormRun struct {
	tablets   int
	res       stormResult
	serverCPU time.Duration // in the measured rounds
	idleRate  float64       // the server's CPU seconds per second just before them
}

// runStorm runs one storm of n tablets against srv.
func runStorm(ctx context.Context, srv *serverproc.Server, adminToken, tmp string, n int, o stormOptions) (stormRun, error) {
	run := stormRun{tablets: n}
	job, err := json.Marshal(stormJob{URL: srv.URL, AdminToken: adminToken, Tablets: n, Team: o.team, Push: o.push, Rounds: o.rounds, Window: o.window})
	if err != nil {
		return run, err
	}
	jobFile := filepath.Join(tmp, fmt.Sprintf("storm-%d.json", n))
	if err := os.WriteFile(jobFile, job, 0o600); err != nil {
		return run, err
	}
	self, err := os.Executable()
	if err != nil {
		return run, err
	}
	cmd := exec.CommandContext(ctx, self, "-storm-load", jobFile)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return run, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return run, err
	}
	if err := cmd.Start(); err != nil {
		return run, err
	}
	defer func() { _ = cmd.Wait() }() // its error is the result's, read below
	lines := bufio.NewReader(stdout)
	if l, err := lines.ReadString('\n'); err != nil || strings.TrimSpace(l) != "ready" {
		return run, fmt.Errorf("the storm's load process: %q, %v", l, err)
	}
	if run.idleRate, err = cpuRate(ctx, srv.PID(), time.Second); err != nil {
		return run, err
	}
	before, err := cpuTime(srv.PID())
	if err != nil {
		return run, err
	}
	profiled := make(chan error, 1)
	if o.profileDir != "" && o.pprofAddress != "" {
		secs := int(o.window.Seconds()*float64(o.rounds)) + 1
		go func() {
			profiled <- fetchProfile(ctx, o.pprofAddress, secs, filepath.Join(o.profileDir, fmt.Sprintf("storm-%d.pprof", n)))
		}()
	} else {
		profiled <- nil
	}
	if _, err := io.WriteString(stdin, "go\n"); err != nil {
		return run, err
	}
	l, err := lines.ReadString('\n')
	if err != nil {
		return run, fmt.Errorf("the storm's load process: %w", err)
	}
	after, err := cpuTime(srv.PID())
	if err != nil {
		return run, err
	}
	run.serverCPU = after - before
	if err := json.Unmarshal([]byte(l), &run.res); err != nil {
		return run, fmt.Errorf("the storm's result %q: %w", l, err)
	}
	_ = stdin.Close()
	if len(run.res.Latencies) == 0 {
		return run, fmt.Errorf("the storm measured no reconnect")
	}
	return run, <-profiled
}

// cpuRate is pid's CPU seconds per second over d.
func cpuRate(ctx context.Context, pid int, d time.Duration) (float64, error) {
	a, err := cpuTime(pid)
	if err != nil {
		return 0, err
	}
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(d):
	}
	b, err := cpuTime(pid)
	return (b - a).Seconds() / d.Seconds(), err
}

// percentile is the p-th (0..1) of sorted latencies, in milliseconds.
func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return float64(sorted[int(p*float64(len(sorted)-1))].Microseconds()) / 1000
}

// stormFigures lists a storm's figures beside issue 16's targets.
func stormFigures(s stormRun) []Figure {
	r := s.res
	n := float64(len(r.Latencies))
	ms := func(d time.Duration) float64 { return d.Seconds() * 1000 / n }
	name := func(what string) string { return fmt.Sprintf("storm, %s tablets: %s", thousands(s.tablets), what) }
	p99, cpu := "—", "—"
	if s.tablets == 500 {
		p99, cpu = "< 20 ms", "< 1.5 ms"
	}
	rate := "—"
	if s.tablets == 1000 {
		rate = "200 (reported)"
	}
	return []Figure{
		{name("reconnects a second"), n / r.Seconds, "reconnects/s", rate},
		{name("reconnect latency p50 (push, then pull to the end)"), percentile(r.Latencies, 0.50), "ms", "—"},
		{name("reconnect latency p99"), percentile(r.Latencies, 0.99), "ms", p99},
		{name("reconnect latency max"), percentile(r.Latencies, 1), "ms", "—"},
		{name("server CPU per reconnect"), ms(s.serverCPU), "ms", cpu},
		{name("server CPU at rest just before, per second"), s.idleRate * 1000, "ms/s", "—"},
		{name("load process CPU per reconnect"), ms(r.LoadCPU), "ms", "—"},
		{name("changes pushed per reconnect"), float64(r.Pushed) / n, "changes", "≈ 50"},
		{name("records pulled per reconnect"), float64(r.Pulled) / n, "records", "≈ 200"},
		{name("pull pages per reconnect"), float64(r.Pages) / n, "pages", "—"},
		{name("bytes on the wire per reconnect (response bodies)"), float64(r.WireBytes) / n / 1e3, "kB", "—"},
		{name("push response, decoded"), float64(r.Push.RawBytes) / float64(max(r.Push.Responses, 1)), "bytes", "—"},
		{name("push response, on the wire"), float64(r.Push.WireBytes) / float64(max(r.Push.Responses, 1)), "bytes", "—"},
		{name("push responses that came compressed"), 100 * float64(r.Push.Compressed) / float64(max(r.Push.Responses, 1)), "%", "—"},
		{name("pull page, decoded"), float64(r.PullPages.RawBytes) / float64(max(r.PullPages.Responses, 1)) / 1e3, "kB", "—"},
		{name("pull page, on the wire"), float64(r.PullPages.WireBytes) / float64(max(r.PullPages.Responses, 1)) / 1e3, "kB", "—"},
		{name("pull pages that came compressed"), 100 * float64(r.PullPages.Compressed) / float64(max(r.PullPages.Responses, 1)), "%", "—"},
		{name("time to enrol and sign in every tablet"), r.SignIn, "s", "—"},
	}
}

// stormNote says how the storms were run.
func stormNote(o stormOptions) string {
	return fmt.Sprintf("reconnect storms (%s tablets): the tablets run in a load process of their own; each is a worker enrolled with a software passkey of its own "+
		"(client-sdk/passkey/software) before the measured rounds, on its own HTTP/2 connection (kept open between reconnects), accepting zstd and keeping pull pages encoded as the SDK does; "+
		"teams of %d tablets share two clients; %d measured rounds after an unmeasured one, each tablet reconnecting once a round at a moment drawn uniformly over %s: "+
		"push ≥ %d changes (whole peer-workload contacts), then pull to the end (the team's last round); latency is the whole reconnect; "+
		"server CPU from /proc over the measured rounds, the load process's own from getrusage",
		strings.Trim(strings.Join(strings.Fields(fmt.Sprint(o.sizes)), ", "), "[]"), o.team, o.rounds, o.window, o.push)
}
