package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
	"github.com/throughcare/throughcare/syncproto/protocol"
)

// --version prints the build and exits, touching nothing: no data
// directory is made, and the other flags and the environment are not
// checked.
func TestVersion(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	for _, args := range [][]string{{"--version"}, {"-version", "--data", data, "--max-request-bytes", "1"}} {
		var out bytes.Buffer
		env := func(k string) string {
			if k == "THROUGHCARE_LISTEN" {
				return "not an address"
			}
			return ""
		}
		if err := run(context.Background(), args, env, &out); err != nil {
			t.Fatalf("run %v: %v", args, err)
		}
		got := strings.TrimSpace(out.String())
		if !strings.HasPrefix(got, "throughcare-server ") || !strings.HasSuffix(got, " "+runtime.Version()) || !strings.Contains(got, "(revision ") {
			t.Errorf("run %v printed %q, want throughcare-server, its version and revision, and %s", args, got, runtime.Version())
		}
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("--version made the data directory (%v)", err)
	}
}

// The monitoring flags: the profiler only on loopback, metrics never on
// the API's address, the GC interval 0 (off) or positive.
func TestMonitoringFlags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		env     map[string]string
		wantErr string
	}{
		{args: []string{"--pprof-listen", "127.0.0.1:6060"}},
		{args: []string{"--pprof-listen", "localhost:6060"}},
		{args: []string{"--pprof-listen", "[::1]:6060"}},
		{args: []string{"--pprof-listen", "0.0.0.0:6060"}, wantErr: "--pprof-listen must be a loopback address"},
		{args: []string{"--pprof-listen", ":6060"}, wantErr: "--pprof-listen must be a loopback address"},
		{args: []string{"--pprof-listen", "[::]:6060"}, wantErr: "--pprof-listen must be a loopback address"},
		{args: []string{"--pprof-listen", "192.168.1.5:6060"}, wantErr: "--pprof-listen must be a loopback address"},
		{args: []string{"--pprof-listen", "example.org:6060"}, wantErr: "--pprof-listen must be a loopback address"},
		{env: map[string]string{"THROUGHCARE_PPROF_LISTEN": "0.0.0.0:6060"}, wantErr: "--pprof-listen must be a loopback address"},
		{args: []string{"--metrics-listen", "127.0.0.1:9464"}},
		{args: []string{"--metrics-listen", "10.0.0.5:9464"}}, // an internal address: the operator's choice
		{args: []string{"--metrics-listen", "9464"}, wantErr: "--metrics-listen must be host:port"},
		{args: []string{"--metrics-listen", "127.0.0.1:8080"}, wantErr: "--metrics-listen must differ from --listen"},
		{args: []string{"--vlog-gc-interval", "0"}},
		{args: []string{"--vlog-gc-interval", "-1m"}, wantErr: "--vlog-gc-interval must be 0"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := parseConfig(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("got %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// The store's GC interval: the default, a chosen one, and 0 for never.
func TestVlogGCInterval(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want time.Duration
	}{
		{nil, 10 * time.Minute},
		{[]string{"--vlog-gc-interval", "1h"}, time.Hour},
		{[]string{"--vlog-gc-interval", "0"}, -1},
	} {
		c, err := parseConfig(tc.args, func(string) string { return "" }, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.gcInterval(); got != tc.want {
			t.Errorf("%v: store GC interval %v, want %v", tc.args, got, tc.want)
		}
	}
}

// logField returns field of the first log line with message msg.
func logField(t *testing.T, logs, msg, field string) string {
	t.Helper()
	for _, line := range strings.Split(logs, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["message"] == msg {
			s, _ := m[field].(string)
			return s
		}
	}
	t.Fatalf("no %q log line in:\n%s", msg, logs)
	return ""
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err := errors.Join(err, resp.Body.Close()); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// Metrics and the profiler are served on their own listeners, and neither
// on the API's port.
func TestMetricsAndProfilerListeners(t *testing.T) {
	base, logs := runServer(t, "--metrics-listen", "127.0.0.1:0", "--pprof-listen", "127.0.0.1:0")
	metrics := "http://" + logField(t, logs.String(), "serving metrics", "addr")
	prof := "http://" + logField(t, logs.String(), "serving the profiler", "addr")

	// A refused pull is counted.
	c := throughcarev1connect.NewSyncServiceClient(h2c(), base)
	if _, err := c.Pull(context.Background(), &v1.PullRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1}); err == nil {
		t.Fatal("a pull without a session was served")
	}
	code, body := get(t, metrics+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics on the metrics listener: %d", code)
	}
	for _, want := range []string{
		`throughcare_rpc_requests_total{code="unauthenticated",procedure="/throughcare.v1.SyncService/Pull"} 1`,
		"throughcare_store_lsm_bytes ", "throughcare_disk_free_bytes ", "throughcare_build_info{", "go_goroutines ", "process_open_fds ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the scrape lacks %q", want)
		}
	}
	if code, body := get(t, prof+"/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("GET /debug/pprof/ on the profiler: %d %.200s", code, body)
	}
	if code, body := get(t, prof+"/debug/pprof/goroutine?debug=1"); code != http.StatusOK || !strings.Contains(body, "goroutine profile") {
		t.Errorf("GET the goroutine profile: %d %.200s", code, body)
	}
	for _, url := range []string{base + "/metrics", base + "/debug/pprof/", metrics + "/debug/pprof/", prof + "/metrics"} {
		if code, _ := get(t, url); code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", url, code)
		}
	}
}

// Without the flags neither is served.
func TestNoMetricsOrProfilerByDefault(t *testing.T) {
	base, logs := runServer(t)
	for _, msg := range []string{"serving metrics", "serving the profiler"} {
		if strings.Contains(logs.String(), msg) {
			t.Errorf("logged %q without the flag", msg)
		}
	}
	for _, path := range []string{"/metrics", "/debug/pprof/"} {
		if code, _ := get(t, base+path); code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, code)
		}
	}
}
