// Command soak measures the server's memory under a steady load: it builds
// and starts the real server binary (a temporary data directory, a random
// loopback port), drives it for a while with SDK tablets that log contacts
// and sync (and a few that follow the live stream), samples the server's
// resident memory from /proc/<pid>/status every few seconds, and prints
// the series with its start, middle, end and peak as Markdown. With
// -backup-every it also takes a backup that often (a full one, then
// incremental ones) and reports each one's size, records and duration.
//
//	go run ./e2e/soak -duration 20m [-backup-every 3m] [-- extra server flags]
//
// `make soak DURATION=20m` runs it. Linux only (it reads /proc).
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/throughcare/throughcare/e2e/serverproc"
)

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", time.Minute, "how long to drive the load")
	flag.DurationVar(&o.every, "every", 5*time.Second, "how often to sample the server's memory")
	flag.IntVar(&o.workers, "workers", 20, "tablets logging contacts and syncing")
	flag.IntVar(&o.live, "live", 3, "supervisors' tablets following the live stream")
	flag.IntVar(&o.batch, "batch", 10, "contacts a tablet logs between two syncs")
	flag.DurationVar(&o.pause, "pause", 200*time.Millisecond, "a tablet's pause after each sync")
	flag.StringVar(&o.server, "server", "", "server binary to run (default: build ./cmd/throughcare-server)")
	flag.StringVar(&o.title, "title", "Soak", "heading of the report")
	flag.DurationVar(&o.backupEvery, "backup-every", 0, "take a backup through AdminService.StreamBackup this often while the load runs (0: none)")
	flag.Parse()
	o.serverArgs = flag.Args()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// options are the soak's settings.
type options struct {
	duration, every, pause time.Duration
	backupEvery            time.Duration
	workers, live, batch   int
	server, title          string
	serverArgs             []string
}

func run(ctx context.Context, o options) error {
	tmp, err := os.MkdirTemp("", "throughcare-soak")
	if err != nil {
		return err
	}
	defer func() {
		if err := os.RemoveAll(tmp); err != nil {
			fmt.Fprintln(os.Stderr, "soak: could not remove its temporary directory:", err)
		}
	}()
	if o.server == "" {
		if o.server, err = serverproc.Build(tmp); err != nil {
			return err
		}
	}
	srv, err := serverproc.Start(o.server, tmp, o.serverArgs)
	if err != nil {
		return err
	}
	defer srv.Stop()
	fmt.Fprintf(os.Stderr, "soak: server pid %d on %s; setting up %d tablets\n", srv.PID(), srv.URL, o.workers+o.live)
	l, err := setUp(ctx, srv, o)
	if err != nil {
		return err
	}
	defer l.close()

	loadCtx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	start := time.Now()
	done := l.drive(loadCtx)
	backedUp := backups(loadCtx, l.admin, srv, start, o.backupEvery)
	series, err := sample(loadCtx, srv, start, o.every)
	cancel()
	stats := <-done
	runs := <-backedUp
	if err != nil {
		return err
	}
	if stats.errors > 0 && stats.contacts == 0 {
		return fmt.Errorf("the load failed: %v", stats.firstErr)
	}
	extra := []string{
		fmt.Sprintf("%s of load: %d worker tablets (%d contacts between syncs), %d live supervisors", serverproc.Clock(time.Since(start)), o.workers, o.batch, o.live),
		fmt.Sprintf("%d contacts logged and synced, %d syncs, %d failed syncs", stats.contacts, stats.syncs, stats.errors),
		fmt.Sprintf("server flags: %s", strings.Join(o.serverArgs, " ")),
	}
	extra = append(extra, failureKinds(stats.kinds)...)
	extra = append(extra, backupLines(runs, o.backupEvery)...)
	return serverproc.WriteSeries(os.Stdout, o.title, series, extra)
}

// sample reads the server's memory every interval until ctx ends, and once
// more at the end.
func sample(ctx context.Context, srv *serverproc.Server, start time.Time, every time.Duration) ([]serverproc.Sample, error) {
	var series []serverproc.Sample
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s, err := serverproc.ReadSample(srv.PID(), time.Since(start))
		if err != nil {
			return series, err
		}
		s.Heap, s.Goal = srv.Heap()
		series = append(series, s)
		select {
		case <-ctx.Done():
			return series, nil
		case <-t.C:
		}
	}
}

// failureKinds lists the kinds of failure, most frequent first (at most
// five), for the report.
func failureKinds(kinds map[string]int) []string {
	names := slices.Collect(maps.Keys(kinds))
	slices.SortFunc(names, func(a, b string) int { return cmp.Or(kinds[b]-kinds[a], strings.Compare(a, b)) })
	var out []string
	for i, n := range names {
		if i == 5 {
			out = append(out, fmt.Sprintf("and %d other kinds of failure", len(names)-5))
			break
		}
		out = append(out, fmt.Sprintf("%d× %s", kinds[n], n))
	}
	return out
}
