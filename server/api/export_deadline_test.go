package api_test

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/syncengine"

	"github.com/throughcare/throughcare/server/api"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/sample"
)

// stuckExport starts a contacts export through a client with small HTTP/2
// windows and never reads it, once its connection counts in the returned
// goroutine baseline. The export has far more rows than the windows and
// buffers hold.
func stuckExport(t *testing.T, e *revEnv, token string) (baseline int) {
	t.Helper()
	wkr := e.tokens.m["worker-a1"].UserID
	d := sample.NewDevice(wkr, time.Now, 7)
	var chs []*v1.Change
	for range 600 {
		_, c := d.NewContact(e.c1, time.Now().Add(-time.Hour))
		chs = append(chs, c...)
	}
	if _, err := syncengine.Apply(t.Context(), e.st, &syncengine.Batch{UserID: wkr, DeviceID: d.ID, ReceivedAt: time.Now(), Changes: chs}); err != nil {
		t.Fatal(err)
	}
	hc := smallWindows(e.http)
	if resp, err := hc.Get(e.url + "/healthz"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	baseline = runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.url+"/export/contacts.csv", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("export: %s", resp.Status)
	}
	return baseline
}

// waitExportCutOff waits for the log line of an export cut off.
func waitExportCutOff(t *testing.T, e *revEnv) {
	t.Helper()
	waitUntil(t, func() bool { return strings.Contains(e.logs.String(), `"message":"export cut off"`) }, func() string {
		open, blocked := serving("api.(*exportHandler).ServeHTTP")
		return fmt.Sprintf("the export was not cut off (%d exports running, %d blocked writing)", open, blocked)
	})
}

// An export to a client that stops reading is dropped at the write
// timeout, and everything serving it is released.
func TestStuckExportIsDropped(t *testing.T) {
	e := newRevEnv(t, func(c *api.Config) { c.WriteTimeout = 100 * time.Millisecond })
	baseline := stuckExport(t, e, "sup-a1")
	waitExportCutOff(t, e)
	waitGoroutines(t, baseline, "after the stuck export's write timeout")
}

// An export blocked on a client that does not read stops at once when the
// session ends.
func TestBlockedExportStopsAtSessionEnd(t *testing.T) {
	e := newRevEnv(t, func(c *api.Config) { c.WriteTimeout = time.Hour })
	ended := make(chan struct{})
	sup := e.tokens.m["sup-a1"]
	sup.Ended = ended
	e.tokens.set("ending", sup)
	baseline := stuckExport(t, e, "ending")
	waitUntil(t, func() bool { _, blocked := serving("api.(*exportHandler).ServeHTTP"); return blocked > 0 },
		func() string { return "the export never blocked writing" })
	close(ended)
	waitExportCutOff(t, e)
	waitGoroutines(t, baseline, "after the session ended")
}
