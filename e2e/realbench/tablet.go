package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync/atomic"
	"time"

	"github.com/throughcare/throughcare/client-sdk/caseload"
	"github.com/throughcare/throughcare/client-sdk/passkey/software"
	"github.com/throughcare/throughcare/e2e/serverproc"
)

// tabletJob is what the driver hands the tablet process: the server and
// the supervisor's synced passkey.
type tabletJob struct {
	URL string        `json:"url"`
	Key *software.Key `json:"key"`
}

// tabletResult is what the tablet process prints (as JSON) when its full
// sync is done.
type tabletResult struct {
	Seconds   float64 `json:"seconds"`    // Sync alone, after sign-in
	WireBytes int64   `json:"wire_bytes"` // response bodies read during Sync
	Pulled    int     `json:"pulled"`     // records received
	PeakRSS   int64   `json:"peak_rss"`   // the process's VmHWM after Sync, bytes

	serverCPU time.Duration // the server's, set by the driver
	// peakAnon and peakFile split the driver's highest sample of the
	// tablet's RSS (every 100 ms) into anonymous and file-backed memory.
	peakAnon, peakFile int64
}

// runTablet is the tablet process: it opens a fresh SDK device on a
// temporary directory, signs in with the job's passkey and times one full
// Sync, counting the response bytes.
func runTablet(ctx context.Context, jobFile string) (tabletResult, error) {
	var job tabletJob
	b, err := os.ReadFile(jobFile)
	if err == nil {
		err = json.Unmarshal(b, &job)
	}
	if err != nil {
		return tabletResult{}, fmt.Errorf("the tablet's job: %w", err)
	}
	dir, err := os.MkdirTemp("", "throughcare-realbench-tablet")
	if err != nil {
		return tabletResult{}, err
	}
	defer func() { _ = os.RemoveAll(dir) }() // a temporary copy of what the server holds
	wire := new(atomic.Int64)
	hc := &http.Client{Transport: &serverproc.Counting{Next: serverproc.H2C().Transport, N: wire}}
	enc := make([]byte, 32)
	rand.Read(enc)
	d, err := caseload.Open(caseload.Config{Dir: filepath.Join(dir, "store"), Key: enc, Server: job.URL, HTTPClient: hc})
	if err != nil {
		return tabletResult{}, err
	}
	defer func() { _ = d.Close() }() // the store is thrown away
	if err := d.SignIn(ctx, job.Key); err != nil {
		return tabletResult{}, fmt.Errorf("signing in: %w", err)
	}
	wire.Store(0)
	stopProfile, err := startProfile(os.Getenv(profileEnv))
	if err != nil {
		return tabletResult{}, err
	}
	start := time.Now()
	rep, err := d.Sync(ctx)
	took := time.Since(start)
	if perr := stopProfile(); err == nil {
		err = perr
	}
	if err != nil {
		return tabletResult{}, fmt.Errorf("full sync: %w", err)
	}
	s, err := serverproc.ReadSample(os.Getpid(), 0)
	if err != nil {
		return tabletResult{}, err
	}
	return tabletResult{Seconds: took.Seconds(), WireBytes: wire.Load(), Pulled: rep.Pulled, PeakRSS: s.HWM}, nil
}

// fullSync runs the tablet in a process of its own (this program again,
// with -tablet), so that its peak RSS is the tablet's alone, and samples
// the server's RSS every 100 ms meanwhile.
func fullSync(ctx context.Context, srv *serverproc.Server, key *software.Key, tmp string) (tabletResult, serverproc.Sample, error) {
	var res tabletResult
	job, err := json.Marshal(tabletJob{URL: srv.URL, Key: key})
	if err != nil {
		return res, serverproc.Sample{}, err
	}
	jobFile := filepath.Join(tmp, "tablet.json")
	if err := os.WriteFile(jobFile, job, 0o600); err != nil {
		return res, serverproc.Sample{}, err
	}
	self, err := os.Executable()
	if err != nil {
		return res, serverproc.Sample{}, err
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, self, "-tablet", jobFile)
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Start(); err != nil {
		return res, serverproc.Sample{}, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	peak, tablet, err := samplePeak(srv, cmd.Process.Pid, exited)
	if err != nil {
		return res, peak, err
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return res, peak, fmt.Errorf("the tablet's result %q: %w", out.String(), err)
	}
	res.peakAnon, res.peakFile = tablet.Anon, tablet.File
	return res, peak, nil
}

// samplePeak reads the server's memory and the tablet's (process tablet)
// every 100 ms until exited delivers, and returns the samples of each with
// the highest RSS and the tablet process's error.
func samplePeak(srv *serverproc.Server, tablet int, exited <-chan error) (peak, tabletPeak serverproc.Sample, err error) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		s, err := serverproc.ReadSample(srv.PID(), 0)
		if err != nil {
			return peak, tabletPeak, err
		}
		if s.RSS > peak.RSS {
			peak = s
		}
		// The tablet may have exited since: its last sample stands.
		if s, err := serverproc.ReadSample(tablet, 0); err == nil && s.RSS > tabletPeak.RSS {
			tabletPeak = s
		}
		select {
		case err := <-exited:
			if err != nil {
				return peak, tabletPeak, fmt.Errorf("the tablet process: %w", err)
			}
			return peak, tabletPeak, nil
		case <-t.C:
		}
	}
}

// profileEnv names a directory: if set, each tablet process writes the
// CPU profile of its Sync (tablet-<pid>.cpu.pprof) and its heap profile
// just after it (tablet-<pid>.heap.pprof, in use and allocated) there,
// with its /proc/self/status then (tablet-<pid>.status). It
// is an environment variable so that the driver's tablet processes
// inherit it.
const profileEnv = "REALBENCH_TABLET_PROFILE"

// startProfile starts a CPU profile into dir (nothing if dir is empty);
// the function it returns stops it and writes the heap profile.
func startProfile(dir string) (func() error, error) {
	if dir == "" {
		return func() error { return nil }, nil
	}
	base := filepath.Join(dir, fmt.Sprintf("tablet-%d", os.Getpid()))
	f, err := os.Create(base + ".cpu.pprof")
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		err := f.Close()
		if st, serr := os.ReadFile("/proc/self/status"); serr == nil { // RssAnon beside RssFile
			_ = os.WriteFile(base+".status", st, 0o644)
		}
		h, herr := os.Create(base + ".heap.pprof")
		if herr != nil {
			return herr
		}
		runtime.GC() // the heap profile's in-use figures as of the last GC
		if herr = pprof.WriteHeapProfile(h); herr == nil {
			herr = h.Close()
		}
		if err == nil {
			err = herr
		}
		return err
	}, nil
}
