// Package metrics owns the server's Prometheus metrics: their names, what
// they count and when they are read. New registers them on a registry the
// caller made (never Prometheus's global one). The services report what
// they do through the small interfaces they declare (api.CallMeter,
// syncengine.Meter), which Metrics implements; what a scrape can read for
// itself (the open streams, the sessions held, the store's sizes and its
// value-log GC, the free disk, the build) is read when Prometheus scrapes.
//
// Every metric is named throughcare_* except the Go runtime's (go_*) and
// the process's (process_*). Labels take a small fixed set of values: the
// RPC procedures and Connect codes, change sources and reject reasons.
// Nothing personal is ever a label.
package metrics

import (
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/throughcare/throughcare/internal/version"
	"github.com/throughcare/throughcare/server/api"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// Config is what New measures. Everything but Registry is optional: what
// is not set is not exported.
type Config struct {
	// Registry receives every metric (required).
	Registry *prometheus.Registry
	// Store reports the audit seals and the sessions held, and, if it is
	// a FileStore (*store.DB), its files and GC, or, if it is a
	// DatabaseStore (*pgstore.DB), its database's size and pool. (The live streams are registered once the engine
	// exists: RegisterStreams.)
	Store Store
	// DiskFree measures the bytes free on the data directory's filesystem
	// (diskspace.Statfs); MinFreeBytes is the threshold below which writes
	// are refused.
	DiskFree     func() (uint64, error)
	MinFreeBytes uint64
	// Build is the binary's build, exported as throughcare_build_info.
	Build version.Info
}

// Streams reports the live streams.
type Streams interface {
	OpenStreams() int
}

// Metrics counts what the server does. It is safe for concurrent use.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	pushSize  prometheus.Histogram
	pageSize  prometheus.Histogram
	pageBytes prometheus.Histogram
	conflicts struct{ opened, resolved prometheus.Counter }
	// The change counters of each source (0: devices, 1: the server).
	changes [2]changeCounters
}

// changeCounters are the change counters of one source.
type changeCounters struct {
	applied, duplicate, late prometheus.Counter
	rejected                 map[v1.RejectReason]prometheus.Counter
	rejectedOther            *prometheus.CounterVec
}

var (
	_ api.CallMeter    = (*Metrics)(nil)
	_ syncengine.Meter = (*Metrics)(nil)
)

const ns = "throughcare"

// New registers the server's metrics on cfg.Registry, with Go's runtime
// and the process's collectors.
func New(cfg Config) (*Metrics, error) {
	m := &Metrics{
		reg: cfg.Registry,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "rpc_requests_total",
			Help: "RPCs finished, by procedure and outcome (ok or the Connect code), including those refused before a handler ran (sign-in required, rate limited, disk full)."},
			[]string{"procedure", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "rpc_duration_seconds",
			Help:    "How long unary RPCs took to serve, by procedure (streams are not latencies: see throughcare_streams_open).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}},
			[]string{"procedure"}),
		pushSize: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "push_changes",
			Help:    "Changes per device push that reached the merge loop.",
			Buckets: []float64{1, 5, 10, 50, 100, 500, 1000, 5000}}),
		pageSize: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "pull_page_records",
			Help:    "Records per page of changes sent (pulls and live streams).",
			Buckets: []float64{0, 1, 10, 100, 1000, 5000, 20000}}),
		pageBytes: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "pull_page_bytes",
			Help:    "Encoded record bytes per page of changes sent (before compression).",
			Buckets: prometheus.ExponentialBuckets(1024, 4, 8)}),
	}
	m.conflicts.opened = prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "conflicts_opened_total",
		Help: "Conflicts raised by applied changes (concurrent edits of one field)."})
	m.conflicts.resolved = prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "conflicts_resolved_total",
		Help: "Open conflicts resolved by applied changes (a supervisor's resolution, or an edit that saw both sides)."})
	cs := []prometheus.Collector{m.requests, m.latency, m.pushSize, m.pageSize, m.pageBytes, m.conflicts.opened, m.conflicts.resolved,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo(cfg.Build)}
	cs = append(cs, m.changeCounters()...)
	if cfg.Store != nil {
		cs = append(cs, &storeCollector{st: cfg.Store})
	}
	if st, ok := cfg.Store.(FileStore); ok {
		cs = append(cs, &fileCollector{st: st})
	}
	if st, ok := cfg.Store.(DatabaseStore); ok {
		cs = append(cs, &databaseCollector{st: st})
	}
	if cfg.DiskFree != nil {
		cs = append(cs, &diskCollector{free: cfg.DiskFree, min: cfg.MinFreeBytes})
	}
	for _, c := range cs {
		if err := cfg.Registry.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// RegisterStreams exports the live streams st reports as
// throughcare_streams_open.
func (m *Metrics) RegisterStreams(st Streams) error {
	return m.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: "streams_open",
		Help: "Live Subscribe streams open now."}, func() float64 { return float64(st.OpenStreams()) }))
}

// changeCounters makes the change counters of both sources, every known
// reject reason's among them, so each series exists (at 0) from the start.
func (m *Metrics) changeCounters() []prometheus.Collector {
	vec := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: name, Help: help}, append([]string{"source"}, labels...))
	}
	applied := vec("changes_applied_total", "Changes applied, by source (device pushes, or the server's own writes: new clients, review notes, resolutions).")
	duplicate := vec("changes_duplicate_total", "Changes received again and recognised as duplicates (a device resending what was applied), by source.")
	late := vec("changes_late_total", "Changes applied as late work (made while the author still held the client), by source.")
	rejected := vec("changes_rejected_total", "Changes refused, by source and reason (not_found, type_mismatch, access_ended, forbidden_field, record_too_large).", "reason")
	for i, source := range []string{"device", "server"} {
		c := changeCounters{applied: applied.WithLabelValues(source), duplicate: duplicate.WithLabelValues(source), late: late.WithLabelValues(source),
			rejected: map[v1.RejectReason]prometheus.Counter{}, rejectedOther: rejected.MustCurryWith(prometheus.Labels{"source": source})}
		for n, name := range v1.RejectReason_name {
			if r := v1.RejectReason(n); r != v1.RejectReason_REJECT_REASON_UNSPECIFIED {
				c.rejected[r] = rejected.WithLabelValues(source, reasonLabel(name))
			}
		}
		m.changes[i] = c
	}
	return []prometheus.Collector{applied, duplicate, late, rejected}
}

// reasonLabel is a reject reason's label: REJECT_REASON_NOT_FOUND is
// not_found.
func reasonLabel(name string) string {
	return strings.ToLower(strings.TrimPrefix(name, "REJECT_REASON_"))
}

// Call counts a finished RPC (api.CallMeter).
func (m *Metrics) Call(procedure, code string, stream bool, took time.Duration) {
	m.requests.WithLabelValues(procedure, code).Inc()
	if !stream {
		m.latency.WithLabelValues(procedure).Observe(took.Seconds())
	}
}

// Applied counts a committed batch's changes (syncengine.Meter).
func (m *Metrics) Applied(server bool, results []syncengine.Result) {
	c := &m.changes[0]
	if server {
		c = &m.changes[1]
	} else {
		m.pushSize.Observe(float64(len(results)))
	}
	var applied, duplicate, late, opened, resolved int
	for _, r := range results {
		switch r.Verdict {
		case v1.Verdict_VERDICT_APPLIED:
			applied++
			if r.Late {
				late++
			}
			if r.Conflict {
				opened++
			}
			resolved += r.Resolved
		case v1.Verdict_VERDICT_DUPLICATE:
			duplicate++
		case v1.Verdict_VERDICT_REJECTED:
			if rc, ok := c.rejected[r.Reason]; ok {
				rc.Inc()
			} else {
				c.rejectedOther.WithLabelValues(reasonLabel(r.Reason.String())).Inc()
			}
		}
	}
	c.applied.Add(float64(applied))
	c.duplicate.Add(float64(duplicate))
	c.late.Add(float64(late))
	m.conflicts.opened.Add(float64(opened))
	m.conflicts.resolved.Add(float64(resolved))
}

// Paged counts a page of changes sent (syncengine.Meter).
func (m *Metrics) Paged(records, bytes int) {
	m.pageSize.Observe(float64(records))
	m.pageBytes.Observe(float64(bytes))
}

// Handler serves reg's metrics in Prometheus's text format (or
// OpenMetrics, when the scraper asks for it).
func Handler(reg *prometheus.Registry) http.Handler {
	// A metric that cannot be read (the store closing) is left out; the
	// rest are served.
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, EnableOpenMetrics: true, ErrorHandling: promhttp.ContinueOnError})
}

// buildInfo is throughcare_build_info: 1, labelled with the build.
func buildInfo(b version.Info) prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "build_info",
		Help:        "The running binary's build: always 1, labelled with its module version, revision and Go version.",
		ConstLabels: prometheus.Labels{"version": b.Module, "revision": b.RevisionOrUnknown(), "goversion": b.Go}})
	g.Set(1)
	return g
}
