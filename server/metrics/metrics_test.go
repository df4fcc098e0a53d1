package metrics_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/throughcare/throughcare/server"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/servertest"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/protocol"
	"github.com/throughcare/throughcare/syncproto/sample"
)

const pushProcedure = "/throughcare.v1.SyncService/Push"

// value is the value of the metric called name whose labels include
// labels (0 if there is none); a histogram's is its count.
func value(t *testing.T, reg prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if has(m, labels) {
				switch {
				case m.Counter != nil:
					return m.GetCounter().GetValue()
				case m.Gauge != nil:
					return m.GetGauge().GetValue()
				case m.Histogram != nil:
					return float64(m.GetHistogram().GetSampleCount())
				}
			}
		}
	}
	return 0
}

func has(m *dto.Metric, labels map[string]string) bool {
	n := 0
	for _, l := range m.GetLabel() {
		if v, ok := labels[l.GetName()]; ok && v == l.GetValue() {
			n++
		}
	}
	return n == len(labels)
}

func push(t *testing.T, env *servertest.Env, token string, chs ...*v1.Change) *v1.PushResponse {
	t.Helper()
	resp, err := env.SyncClient(token).Push(context.Background(), &v1.PushRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1, Changes: chs})
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	return resp
}

// A push moves the change and RPC counters: applied, then duplicate when
// it is resent, rejected by reason, conflicts opened and resolved.
func TestPushesCounted(t *testing.T) {
	env := servertest.New(t, servertest.Options{})
	reg := env.Metrics
	admin := sample.NewDevice("admin", time.Now, 1)
	clientID, chs := admin.NewClient("Lambeth")
	contactID, cchs := admin.NewContact(clientID, time.Now())
	chs = append(chs, cchs...)
	env.SignIn("admin-token", identity.Identity{UserID: "admin", DeviceID: admin.ID, Role: identity.Admin, Area: "Lambeth", Buckets: []string{clientID}})
	device := func(extra ...string) map[string]string {
		l := map[string]string{"source": "device"}
		if len(extra) == 2 {
			l[extra[0]] = extra[1]
		}
		return l
	}

	audited := value(t, reg, "throughcare_audit_commits_total", nil)
	push(t, env, "admin-token", chs...)
	if got := value(t, reg, "throughcare_audit_commits_total", nil); got != audited+1 {
		t.Errorf("audit commits after an accepted push = %v, want %v", got, audited+1) // one entry per batch
	}
	if got, want := value(t, reg, "throughcare_changes_applied_total", device()), float64(len(chs)); got != want {
		t.Errorf("applied after the first push = %v, want %v", got, want)
	}
	if got := value(t, reg, "throughcare_push_changes", nil); got != 1 {
		t.Errorf("push sizes observed = %v, want 1", got)
	}

	push(t, env, "admin-token", chs...) // resent: every change a duplicate
	if got, want := value(t, reg, "throughcare_changes_duplicate_total", device()), float64(len(chs)); got != want {
		t.Errorf("duplicates after a resend = %v, want %v", got, want)
	}

	outsider := sample.NewDevice("outsider", time.Now, 2)
	env.SignIn("outsider-token", identity.Identity{UserID: "outsider", DeviceID: outsider.ID, Role: identity.Worker, Area: "Lambeth"})
	r := push(t, env, "outsider-token", outsider.Change("contact", contactID, clientID, "outcome", sample.Str("x"), nil))
	if got := r.GetResults()[0].GetReason(); got != v1.RejectReason_REJECT_REASON_NOT_FOUND {
		t.Fatalf("the outsider's change: %v, want NOT_FOUND", got)
	}
	if got := value(t, reg, "throughcare_changes_rejected_total", device("reason", "not_found")); got != 1 {
		t.Errorf("rejected{not_found} = %v, want 1", got)
	}
	if got := value(t, reg, "throughcare_changes_rejected_total", device("reason", "access_ended")); got != 0 {
		t.Errorf("rejected{access_ended} = %v, want 0", got)
	}

	// An edit that did not see the current value opens a conflict; one
	// that saw it resolves it.
	edit := admin.Change("contact", contactID, clientID, "outcome", sample.Str("engaged"), nil)
	push(t, env, "admin-token", edit)
	if got := value(t, reg, "throughcare_conflicts_opened_total", nil); got != 1 {
		t.Errorf("conflicts opened = %v, want 1", got)
	}
	push(t, env, "admin-token", admin.Change("contact", contactID, clientID, "outcome", sample.Str("settled"), edit.GetStamp()))
	if got := value(t, reg, "throughcare_conflicts_resolved_total", nil); got != 1 {
		t.Errorf("conflicts resolved = %v, want 1", got)
	}

	if got := value(t, reg, "throughcare_rpc_requests_total", map[string]string{"procedure": pushProcedure, "code": "ok"}); got != 5 {
		t.Errorf("ok pushes = %v, want 5", got)
	}
	if got := value(t, reg, "throughcare_rpc_duration_seconds", map[string]string{"procedure": pushProcedure}); got != 5 {
		t.Errorf("push latencies observed = %v, want 5", got)
	}
	if _, err := env.SyncClient("").Push(context.Background(), &v1.PushRequest{}); err == nil {
		t.Fatal("a push without a session was served")
	}
	if got := value(t, reg, "throughcare_rpc_requests_total", map[string]string{"procedure": pushProcedure, "code": "unauthenticated"}); got != 1 {
		t.Errorf("unauthenticated pushes = %v, want 1", got)
	}
}

// Pulls are counted by records and bytes per page; the live streams are
// a gauge.
func TestPullsAndStreamsCounted(t *testing.T) {
	env := servertest.New(t, servertest.Options{})
	reg := env.Metrics
	admin := sample.NewDevice("admin", time.Now, 1)
	clientID, chs := admin.NewClient("Lambeth")
	env.SignIn("admin-token", identity.Identity{UserID: "admin", DeviceID: admin.ID, Role: identity.Admin, Area: "Lambeth", Buckets: []string{clientID}})
	push(t, env, "admin-token", chs...)
	c := env.SyncClient("admin-token")
	if _, err := c.Pull(context.Background(), &v1.PullRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1}); err != nil {
		t.Fatal(err)
	}
	if got := value(t, reg, "throughcare_pull_page_records", nil); got != 1 {
		t.Errorf("pages observed = %v, want 1", got)
	}
	if got := histogramSum(t, reg, "throughcare_pull_page_records"); got != 1 {
		t.Errorf("records paged = %v, want 1 (the client's record)", got)
	}
	if got := histogramSum(t, reg, "throughcare_pull_page_bytes"); got <= 0 {
		t.Errorf("bytes paged = %v, want some", got)
	}

	if got := value(t, reg, "throughcare_streams_open", nil); got != 0 {
		t.Fatalf("streams open before any = %v", got)
	}
	var streams []interface {
		Receive() bool
		Err() error
	}
	for i := range 2 {
		stream, err := c.Subscribe(context.Background(), &v1.SubscribeRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = stream.Close() }) // it has ended by then
		// The first page: the stream is counted before it is sent.
		if !stream.Receive() {
			t.Fatal(stream.Err())
		}
		if got := value(t, reg, "throughcare_streams_open", nil); got != float64(i+1) {
			t.Errorf("streams open with %d = %v", i+1, got)
		}
		streams = append(streams, stream)
	}
	// The server ends them; a stream is uncounted before its end is sent.
	env.Engine.Shutdown()
	for _, s := range streams {
		for s.Receive() {
		}
	}
	if got := value(t, reg, "throughcare_streams_open", nil); got != 0 {
		t.Errorf("streams open once they ended = %v, want 0", got)
	}
}

func histogramSum(t *testing.T, reg prometheus.Gatherer, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			return f.GetMetric()[0].GetHistogram().GetSampleSum()
		}
	}
	t.Fatalf("no histogram %s", name)
	return 0
}

// A scrape of the handler the binary serves shows every family: the
// store's, the disk's, the sessions, the build, Go's and the process's.
func TestScrape(t *testing.T) {
	dir := t.TempDir()
	env := servertest.New(t, servertest.Options{Dir: dir, Server: func(c *server.Config) {
		c.DataDir, c.MinFreeBytes = dir, 1<<20
	}})
	rec := httptest.NewRecorder()
	env.Server.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		"throughcare_store_lsm_bytes ", "throughcare_store_vlog_bytes ", "throughcare_store_vlog_gc_passes_total 0",
		"throughcare_store_vlog_gc_failures_total 0", "throughcare_audit_seal_failures_total 0", "throughcare_sessions 0", "throughcare_disk_free_bytes ",
		"throughcare_disk_min_free_bytes 1.048576e+06", "throughcare_streams_open 0", "throughcare_build_info{goversion=",
		`throughcare_changes_rejected_total{reason="record_too_large",source="device"} 0`,
		"go_goroutines ", "process_resident_memory_bytes ",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the scrape lacks %q", want)
		}
	}
	if n, err := testutil.GatherAndCount(env.Metrics, "throughcare_rpc_requests_total"); err != nil || n != 0 {
		t.Errorf("RPC series before any call: %d (%v), want 0", n, err)
	}
	// Names and help follow Prometheus's conventions (promtool's checks).
	problems, err := testutil.GatherAndLint(env.Metrics)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

// Without a registry there are no metrics, and the handler says so.
func TestNoRegistry(t *testing.T) {
	env := servertest.New(t, servertest.Options{Server: func(c *server.Config) { c.Metrics = nil }})
	rec := httptest.NewRecorder()
	env.Server.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("scrape without metrics: %d, want 404", rec.Code)
	}
	admin := sample.NewDevice("admin", time.Now, 1)
	clientID, chs := admin.NewClient("Lambeth")
	env.SignIn("admin-token", identity.Identity{UserID: "admin", DeviceID: admin.ID, Role: identity.Admin, Area: "Lambeth", Buckets: []string{clientID}})
	push(t, env, "admin-token", chs...) // nothing to count it: it must still work
}
