// Command realbench measures the server at real sizes on the peers'
// workload (issue 16): it builds and starts the real server binary (a
// temporary data directory, a random loopback port), enrols the bootstrap
// admin, creates a team, the workload's 200 clients and a supervisor for
// each of its 20 workers, and seeds -size contacts of the peer workload
// (syncproto/sample/peer) over SyncService.Push from this process. It then
// reads the server's RSS when idle, and times a fresh tablet's full sync
// (the SDK, in a process of its own, re-executing this program with
// -tablet) counting the bytes on the wire, sampling the server's RSS
// meanwhile. Then it runs the reconnect storms (-storm 500,1000: storm.go)
// from a load process of its own (this program again, with -storm-load).
// It writes the figures, each with its unit and issue 16's target, to
// <out>/realbench.md and <out>/realbench.json.
//
//	go run ./e2e/realbench -size 10k [-- extra server flags]
//
// `make bench-real SIZE=10k|100k|1m` runs it. Linux only (it reads /proc).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	var o options
	var size string
	flag.StringVar(&size, "size", "10k", "peer-workload contacts to seed (10k, 100k, 1m or a number)")
	flag.IntVar(&o.batch, "batch", 500, "contacts in one push")
	flag.IntVar(&o.pushers, "pushers", 1, "pushes at once while seeding (on 2 cores, 1 ingests fastest: 4 was 20-40% slower)")
	flag.IntVar(&o.syncs, "syncs", 3, "full syncs to fresh tablets (the report gives medians)")
	flag.DurationVar(&o.idle, "idle", 5*time.Second, "how long after seeding the server's RSS is read (still compacting)")
	flag.DurationVar(&o.rest, "rest", 20*time.Second, "how long the server rests once it has come to rest (compaction done) before its idle RSS is read and the full syncs start (Badger lets go of its last table builders' buffers one every 2 s, up to 8)")
	flag.DurationVar(&o.settle, "settle", 5*time.Minute, "how long to wait at most for the server to come to rest after seeding")
	flag.StringVar(&o.server, "server", "", "server binary to run (default: build ./cmd/throughcare-server)")
	flag.StringVar(&o.out, "out", ".tmp", "directory for realbench.md and realbench.json")
	storm := flag.String("storm", "500,1000", "reconnect storms to run after the full syncs: tablets in each, separated by commas (off for none)")
	flag.IntVar(&o.storm.team, "storm-team", 25, "tablets sharing a team's two clients (a reconnect pulls what the team-mates pushed)")
	flag.IntVar(&o.storm.push, "storm-push", 50, "changes a reconnect pushes (whole contacts, at least this many)")
	flag.IntVar(&o.storm.rounds, "storm-rounds", 3, "measured rounds of a storm, each tablet reconnecting once a round")
	flag.DurationVar(&o.storm.window, "storm-window", 5*time.Second, "a round's reconnects arrive spread over this (500 tablets: 100 a second)")
	flag.StringVar(&o.storm.profileDir, "storm-profile", "", "write the server's CPU profile of each storm to this directory (needs -- --pprof-listen ADDR)")
	flag.StringVar(&o.prof.dir, "profile", "", "write the server's CPU profiles of the seeding (from 80% in), of a full sync (one more, not measured; with a heap profile) and of each storm to this directory (needs -- --pprof-listen ADDR)")
	tablet := flag.String("tablet", "", "internal: run as the tablet process on this job file")
	stormLoad := flag.String("storm-load", "", "internal: run as the storm's load process on this job file")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *tablet != "" {
		res, err := runTablet(ctx, *tablet)
		if err == nil {
			err = printJSON(res)
		}
		exitOn(err)
		return
	}
	if *stormLoad != "" {
		exitOn(runStormLoad(ctx, *stormLoad, os.Stdin, os.Stdout))
		return
	}
	n, err := parseSize(size)
	exitOn(err)
	if o.syncs < 1 || o.pushers < 1 || o.batch < 1 {
		exitOn(fmt.Errorf("-syncs, -pushers and -batch must be at least 1"))
	}
	o.size, o.serverArgs = n, flag.Args()
	if o.storm.sizes, err = parseStorm(*storm); err != nil {
		exitOn(err)
	}
	if o.storm.team < 1 || o.storm.push < 1 || o.storm.rounds < 1 || o.storm.window <= 0 {
		exitOn(fmt.Errorf("-storm-team, -storm-push, -storm-rounds and -storm-window must be positive"))
	}
	o.storm.pprofAddress = pprofAddress(o.serverArgs)
	o.prof.addr = o.storm.pprofAddress
	if o.storm.profileDir == "" {
		o.storm.profileDir = o.prof.dir
	}
	if (o.storm.profileDir != "" || o.prof.dir != "") && o.storm.pprofAddress == "" {
		exitOn(fmt.Errorf("-profile and -storm-profile need the server's profiler: -- --pprof-listen 127.0.0.1:6061"))
	}
	if o.prof.dir != "" {
		exitOn(os.MkdirAll(o.prof.dir, 0o755))
	}
	r, err := run(ctx, o)
	exitOn(err)
	exitOn(write(r, o.out))
	fmt.Fprintf(os.Stderr, "realbench: wrote %s\n", filepath.Join(o.out, "realbench.md"))
}

func exitOn(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "realbench:", err)
		os.Exit(1)
	}
}

// options are the run's settings.
type options struct {
	size, batch, pushers, syncs int
	idle, settle, rest          time.Duration
	server, out                 string
	serverArgs                  []string
	storm                       stormOptions
	prof                        profiler // the seeding's and a full sync's profiles
}

// parseSize reads 10k, 100k, 1m or a plain number.
func parseSize(s string) (int, error) {
	mult := 1
	switch {
	case strings.HasSuffix(strings.ToLower(s), "k"):
		mult, s = 1_000, s[:len(s)-1]
	case strings.HasSuffix(strings.ToLower(s), "m"):
		mult, s = 1_000_000, s[:len(s)-1]
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("-size %q: want a positive number, optionally with k or m", s)
	}
	return n * mult, nil
}

// write writes the report as Markdown and JSON into dir.
func write(r *Report, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, fn := range map[string]func(*os.File) error{
		"realbench.md":   func(f *os.File) error { return r.WriteMarkdown(f) },
		"realbench.json": func(f *os.File) error { return r.WriteJSON(f) },
	} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		err = fn(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// loadAverage is /proc/loadavg's first three figures (the machine is
// shared: the report says how busy it was).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

func cores() int { return runtime.NumCPU() }
