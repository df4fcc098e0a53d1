package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/throughcare/throughcare/client-sdk/passkey/software"
	"github.com/throughcare/throughcare/e2e/serverproc"
	"github.com/throughcare/throughcare/syncproto/sample/peer"
)

// seedOf is the workload's seed (bench-workload.md's).
const seedOf = 42

// run does the benchmark and returns its report.
func run(ctx context.Context, o options) (*Report, error) {
	r := &Report{Size: o.size, Cores: cores(), GoVersion: runtime.Version(), At: time.Now().UTC().Format("2006-01-02 15:04 UTC")}
	r.Notes = append(r.Notes, "shared machine (other builds and tests run beside it): load average "+loadAverage()+" at the start")
	tmp, err := os.MkdirTemp("", "throughcare-realbench")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := os.RemoveAll(tmp); err != nil {
			fmt.Fprintln(os.Stderr, "realbench: could not remove its temporary directory:", err)
		}
	}()
	if o.server == "" {
		if o.server, err = serverproc.Build(tmp); err != nil {
			return nil, err
		}
	}
	args := o.serverArgs
	if len(o.storm.sizes) > 0 {
		// Every storm tablet enrols and connects from this machine's one
		// address (in the field each from its own).
		args = append([]string{"--auth-burst", "100000", "--max-conns-per-ip", "0"}, args...)
	}
	srv, err := serverproc.Start(o.server, tmp, args)
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	g := peer.New(seedOf)
	hc := serverproc.H2C()
	c, err := setUp(ctx, srv, hc, g)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "realbench: server pid %d on %s; seeding %d contacts\n", srv.PID(), srv.URL, o.size)
	in, ingested, idle, err := seedAndRest(ctx, o, srv, c, g)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "realbench: seeded in %s; full sync to a fresh tablet\n", in.took.Round(time.Millisecond))
	tab, peak, err := fullSyncs(ctx, srv, c.pushers[0].key, tmp, o.syncs)
	if err != nil {
		return nil, err
	}
	if o.prof.on() {
		if err := o.prof.fullSync(ctx, srv, c.pushers[0].key, tmp, time.Duration(tab.Seconds*float64(time.Second))); err != nil {
			return nil, err
		}
	}
	r.Figures = figures(o, in, ingested, idle, tab, peak)
	for _, n := range o.storm.sizes {
		fmt.Fprintf(os.Stderr, "realbench: reconnect storm of %d tablets\n", n)
		s, err := runStorm(ctx, srv, c.adminToken, tmp, n, o.storm)
		if err != nil {
			return nil, fmt.Errorf("the storm of %d tablets: %w\n%s", n, err, tail(srv.Output()))
		}
		r.Figures = append(r.Figures, stormFigures(s)...)
	}
	if len(o.storm.sizes) > 0 {
		r.Notes = append(r.Notes, stormNote(o.storm))
	}
	r.Notes = append(r.Notes,
		fmt.Sprintf("seeded from this process over SyncService.Push: %d supervisors (one per workload worker), %d contacts a push, pushes at once: %d", len(c.pushers), o.batch, o.pushers),
		fmt.Sprintf("RSS read %[1]s after seeding (the store still compacting what the seeding wrote), then once the server has come to rest (two checks a second apart each finding it used under 30 ms of CPU, at most %[3]s) and %[4]s more; then %[2]d full syncs, each to a fresh tablet in its own process (its peak RSS is its VmHWM): the tablet's figures are their medians, the server's peak RSS (sampled every 100 ms) the highest", o.idle, o.syncs, o.settle, o.rest),
		"server flags: "+cmp.Or(strings.Join(args, " "), "(none)"),
		"load average "+loadAverage()+" at the end")
	return r, nil
}

// seedAndRest seeds the store, then lets the server rest: what ingest
// took, the server's memory just after and at the end of the rest.
func seedAndRest(ctx context.Context, o options, srv *serverproc.Server, c *team, g *peer.Generator) (in ingest, ingested, idle serverproc.Sample, err error) {
	srvCPU0, err := cpuTime(srv.PID())
	if err != nil {
		return in, ingested, idle, err
	}
	selfCPU0 := selfCPU()
	var late <-chan error // the seeding's profile, if asked for
	at80 := func(elapsed time.Duration) {
		if o.prof.on() {
			late = o.prof.ingest(ctx, elapsed)
		}
	}
	in, err = seed(ctx, c, g, o.size, o.batch, o.pushers, at80)
	if err == nil && late != nil {
		err = <-late
	}
	if err != nil {
		return in, ingested, idle, fmt.Errorf("seeding: %w\n%s", err, tail(srv.Output()))
	}
	srvCPU1, err := cpuTime(srv.PID())
	if err != nil {
		return in, ingested, idle, err
	}
	in.serverCPU, in.driverCPU = srvCPU1-srvCPU0, selfCPU()-selfCPU0
	ingested, err = serverproc.ReadSample(srv.PID(), 0)
	if err != nil {
		return in, ingested, idle, err
	}
	select {
	case <-ctx.Done():
		return in, ingested, idle, ctx.Err()
	case <-time.After(o.idle):
	}
	if in.compacting, err = serverproc.ReadSample(srv.PID(), 0); err != nil {
		return in, ingested, idle, err
	}
	afterCPU, err := cpuTime(srv.PID())
	if err != nil {
		return in, ingested, idle, err
	}
	in.afterCPU = afterCPU - srvCPU1
	if err := settle(ctx, o, srv, &in); err != nil {
		return in, ingested, idle, err
	}
	idle, err = serverproc.ReadSample(srv.PID(), 0)
	return in, ingested, idle, err
}

// settle waits for the server to come to rest after seeding (settleEvery
// checks, each finding it used under settleQuiet of CPU) for at most
// o.settle, and then o.rest more, for Badger to let go of its table
// builders' buffers and the memory returner to hand them back.
func settle(ctx context.Context, o options, srv *serverproc.Server, in *ingest) error {
	t := time.NewTicker(settleEvery)
	defer t.Stop()
	start := time.Now()
	s := settler{
		cpu:    func() (time.Duration, error) { return cpuTime(srv.PID()) },
		ticks:  t.C,
		quiet:  settleQuiet,
		checks: max(restingChecks, int(o.settle/settleEvery)),
	}
	_, used, ok, err := s.wait(ctx)
	if err != nil {
		return err
	}
	in.settleTook, in.settleCPU, in.settled = time.Since(start), used, ok
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(o.rest):
		return nil
	}
}

const (
	settleEvery = time.Second
	// settleQuiet is 3% of a core: an idle server's housekeeping (its
	// memory checks, the store's periodic work) uses about 1%.
	settleQuiet = 30 * time.Millisecond
)

// fullSyncs runs n full syncs, each to a fresh tablet, and returns the
// medians of the tablet's figures and the server's highest RSS sample.
func fullSyncs(ctx context.Context, srv *serverproc.Server, key *software.Key, tmp string, n int) (tabletResult, serverproc.Sample, error) {
	var tabs []tabletResult
	var peak serverproc.Sample
	for range n {
		before, err := cpuTime(srv.PID())
		if err != nil {
			return tabletResult{}, peak, err
		}
		tab, p, err := fullSync(ctx, srv, key, tmp)
		if err != nil {
			return tabletResult{}, peak, fmt.Errorf("%w\n%s", err, tail(srv.Output()))
		}
		after, err := cpuTime(srv.PID())
		if err != nil {
			return tabletResult{}, peak, err
		}
		tab.serverCPU = after - before // the tablet's sign-in too
		tabs = append(tabs, tab)
		if p.RSS > peak.RSS {
			peak = p
		}
	}
	return medianTablet(tabs), peak, nil
}

// figures lists the run's figures beside issue 16's targets.
func figures(o options, in ingest, ingested, idle serverproc.Sample, tab tabletResult, peak serverproc.Sample) []Figure {
	mb := func(n int64) float64 { return float64(n) / (1 << 20) }
	return []Figure{
		{"ingest, whole seeding", float64(in.changes) / in.took.Seconds(), "changes/s", "≥ 80,000 with 1M stored"},
		{"ingest from 80% to 90% of the contacts in", in.late, "changes/s", "flat within 25% from 10k to 1M"},
		{"contacts seeded", float64(in.contacts), "contacts", thousands(o.size)},
		{"seeding time", in.took.Seconds(), "s", "—"},
		{"server CPU per 1,000 changes ingested", in.serverCPU.Seconds() * 1e6 / float64(in.changes), "ms", "—"},
		{"this driver's CPU while seeding (drawing, encoding, pushing)", in.driverCPU.Seconds(), "s", "—"},
		{"server peak RSS while ingesting (VmHWM)", mb(ingested.HWM), "MB", "< 500 MB"},
		{"server RSS just after seeding", mb(ingested.RSS), "MB", "—"},
		{fmt.Sprintf("server RSS %s after seeding (still compacting)", o.idle), mb(in.compacting.RSS), "MB", "—"},
		{"  of which anonymous (heap and Badger's buffers)", mb(in.compacting.Anon), "MB", "—"},
		{"  of which file-backed (store files mapped)", mb(in.compacting.File), "MB", "—"},
		{fmt.Sprintf("server CPU in the %s after seeding (compaction)", o.idle), in.afterCPU.Seconds(), "s", "—"},
		{"time for the server to come to rest after that" + unsettled(in.settled), in.settleTook.Seconds(), "s", "—"},
		{"server CPU meanwhile (compaction)", in.settleCPU.Seconds(), "s", "—"},
		{fmt.Sprintf("server RSS idle, at rest %s", o.rest), mb(idle.RSS), "MB", "< 300 MB (at 1M)"},
		{"  of which anonymous (heap and Badger's buffers)", mb(idle.Anon), "MB", "—"},
		{"  of which file-backed (store files mapped)", mb(idle.File), "MB", "—"},
		{"full sync to a fresh tablet", tab.Seconds, "s", "< 0.8 s at 100k; 1M < 10× 100k"},
		{"full sync, bytes on the wire", float64(tab.WireBytes) / 1e6, "MB", "< 7 MB at 100k"},
		{"full sync, records pulled", float64(tab.Pulled), "records", thousands(o.size+peer.Clients) + " (contacts + clients)"},
		{"server CPU per full sync (with its sign-in)", tab.serverCPU.Seconds(), "s", "—"},
		{"server peak RSS during the full sync", mb(peak.RSS), "MB", "< 300 MB"},
		{"  of which anonymous (heap and Badger's buffers)", mb(peak.Anon), "MB", "—"},
		{"  of which file-backed (store files mapped)", mb(peak.File), "MB", "—"},
		{"tablet peak RSS (its process's VmHWM)", mb(tab.PeakRSS), "MB", "< 150 MB at 100k"},
		{"  of which anonymous, at its highest sample (heap, memtables, caches)", mb(tab.peakAnon), "MB", "—"},
		{"  of which file-backed, at its highest sample (store files mapped)", mb(tab.peakFile), "MB", "—"},
	}
}

// unsettled marks the settling figure of a server that did not come to
// rest.
func unsettled(settled bool) string {
	if settled {
		return ""
	}
	return " (did not: gave up)"
}

// medianTablet is each of the tablet's figures' median over the runs
// (the upper one of an even count).
func medianTablet(runs []tabletResult) tabletResult {
	med := func(f func(tabletResult) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return tabletResult{
		Seconds:   med(func(r tabletResult) float64 { return r.Seconds }),
		WireBytes: int64(med(func(r tabletResult) float64 { return float64(r.WireBytes) })),
		Pulled:    int(med(func(r tabletResult) float64 { return float64(r.Pulled) })),
		PeakRSS:   int64(med(func(r tabletResult) float64 { return float64(r.PeakRSS) })),
		serverCPU: time.Duration(med(func(r tabletResult) float64 { return float64(r.serverCPU) })),
		peakAnon:  int64(med(func(r tabletResult) float64 { return float64(r.peakAnon) })),
		peakFile:  int64(med(func(r tabletResult) float64 { return float64(r.peakFile) })),
	}
}

// printJSON prints v as one line of JSON on stdout.
func printJSON(v any) error { return json.NewEncoder(os.Stdout).Encode(v) }

// tail is the last lines of the server's output but its GC trace, for an
// error.
func tail(s string) string {
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if !strings.HasPrefix(l, "gc ") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines[max(0, len(lines)-15):], "\n")
}
