package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/throughcare/throughcare/client-sdk/passkey/software"
	"github.com/throughcare/throughcare/e2e/serverproc"
)

// profiler fetches the server's profiles from its opt-in listener
// (--pprof-listen) into dir; the zero profiler fetches none.
type profiler struct {
	addr, dir string
}

func (p profiler) on() bool { return p.addr != "" && p.dir != "" }

// ingestSeconds is how long a CPU profile started at the 80% mark of the
// seeding runs to cover the next tenth of the contacts, if ingest stays
// as fast as it was (elapsed is how long the first 80% took).
func ingestSeconds(elapsed time.Duration) int {
	return max(1, int(math.Ceil(elapsed.Seconds()/8)))
}

// ingest starts the CPU profile of the seeding from its 80% mark
// (ingest.pprof); the channel it returns gives the fetch's error.
func (p profiler) ingest(ctx context.Context, elapsed time.Duration) <-chan error {
	done := make(chan error, 1)
	go func() {
		done <- fetchProfile(ctx, p.addr, ingestSeconds(elapsed), filepath.Join(p.dir, "ingest.pprof"))
	}()
	return done
}

// fullSync runs one more full sync, not measured, with the server's CPU
// profile over it (fullsync.pprof) and its heap profile halfway through
// (fullsync.heap); took is how long a measured one took.
func (p profiler) fullSync(ctx context.Context, srv *serverproc.Server, key *software.Key, tmp string, took time.Duration) error {
	secs := max(1, int(math.Ceil(took.Seconds()))+1)
	cpu := make(chan error, 1)
	go func() { cpu <- fetchProfile(ctx, p.addr, secs, filepath.Join(p.dir, "fullsync.pprof")) }()
	heap := make(chan error, 1)
	go func() {
		select {
		case <-ctx.Done():
			heap <- ctx.Err()
		case <-time.After(took / 2):
			heap <- fetchTo(ctx, fmt.Sprintf("http://%s/debug/pprof/heap", p.addr), filepath.Join(p.dir, "fullsync.heap"))
		}
	}()
	_, _, err := fullSync(ctx, srv, key, tmp)
	if herr := <-heap; err == nil {
		err = herr
	}
	if cerr := <-cpu; err == nil {
		err = cerr
	}
	return err
}

// fetchProfile writes the server's CPU profile of the next secs seconds
// to path.
func fetchProfile(ctx context.Context, addr string, secs int, path string) error {
	return fetchTo(ctx, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs), path)
}

// fetchTo writes the body of a GET of url to path.
func fetchTo(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("the server's profile: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the server's profile: %s", resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = f.ReadFrom(resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
