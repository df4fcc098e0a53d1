package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/throughcare/throughcare/server/store"
)

// Store is what the metrics read of the store at each scrape (*store.DB).
type Store interface {
	Sizes() store.Sizes
	GCStats() store.GCStats
	AuditStats() store.AuditStats
	Sessions() (int, error)
}

var (
	lsmBytes     = desc("store_lsm_bytes", "Bytes of the store's LSM tables (Badger's count, refreshed about once a minute).")
	vlogBytes    = desc("store_vlog_bytes", "Bytes of the store's value-log files (Badger's count, refreshed about once a minute).")
	gcPasses     = desc("store_vlog_gc_passes_total", "Value-log garbage collection passes run (see --vlog-gc-interval).")
	gcRewrite    = desc("store_vlog_gc_rewrites_total", "Value-log files rewritten by garbage collection (space reclaimed).")
	gcFail       = desc("store_vlog_gc_failures_total", "Value-log garbage collection passes that failed (the server logs why).")
	gcLast       = desc("store_vlog_gc_last_success_timestamp_seconds", "When a value-log garbage collection pass last ended cleanly (Unix seconds; absent before the first).")
	auditCommits = desc("audit_commits_total", "Committed operations that wrote audit entries (an operation whose entry cannot be written fails, and is counted by its RPC's code).")
	auditSealed  = desc("audit_sealed_commits_total", "Of audit_commits_total, those sealed into their area's hash chain.")
	auditSealErr = desc("audit_seal_failures_total", "Seals of the audit chain that failed; their entries stay pending until a later seal (the server logs why).")
	sessions     = desc("sessions", "Sessions held: signed-in devices whose session has not ended or reached its absolute expiry.")
	diskFree     = desc("disk_free_bytes", "Bytes free to the server on the data directory's filesystem (absent while it cannot be measured).")
	diskMin      = desc("disk_min_free_bytes", "Free bytes below which writes are refused (--min-free-bytes; 0: never).")
)

func desc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(ns, "", name), help, nil, nil)
}

// storeCollector reads the store's sizes, GC counts and sessions at each
// scrape.
type storeCollector struct{ st Store }

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{lsmBytes, vlogBytes, gcPasses, gcRewrite, gcFail, gcLast, auditCommits, auditSealed, auditSealErr, sessions} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	sz, gc := c.st.Sizes(), c.st.GCStats()
	ch <- prometheus.MustNewConstMetric(lsmBytes, prometheus.GaugeValue, float64(sz.LSM))
	ch <- prometheus.MustNewConstMetric(vlogBytes, prometheus.GaugeValue, float64(sz.ValueLog))
	ch <- prometheus.MustNewConstMetric(gcPasses, prometheus.CounterValue, float64(gc.Passes))
	ch <- prometheus.MustNewConstMetric(gcRewrite, prometheus.CounterValue, float64(gc.Rewrites))
	ch <- prometheus.MustNewConstMetric(gcFail, prometheus.CounterValue, float64(gc.Failures))
	if !gc.LastSuccess.IsZero() {
		ch <- prometheus.MustNewConstMetric(gcLast, prometheus.GaugeValue, float64(gc.LastSuccess.UnixNano())/1e9)
	}
	au := c.st.AuditStats()
	ch <- prometheus.MustNewConstMetric(auditCommits, prometheus.CounterValue, float64(au.Commits))
	ch <- prometheus.MustNewConstMetric(auditSealed, prometheus.CounterValue, float64(au.Sealed))
	ch <- prometheus.MustNewConstMetric(auditSealErr, prometheus.CounterValue, float64(au.SealFailures))
	if n, err := c.st.Sessions(); err == nil {
		ch <- prometheus.MustNewConstMetric(sessions, prometheus.GaugeValue, float64(n))
	} else {
		ch <- prometheus.NewInvalidMetric(sessions, err)
	}
}

// diskCollector measures the free disk at each scrape.
type diskCollector struct {
	free func() (uint64, error)
	min  uint64
}

func (c *diskCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- diskFree
	ch <- diskMin
}

func (c *diskCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(diskMin, prometheus.GaugeValue, float64(c.min))
	if n, err := c.free(); err == nil {
		ch <- prometheus.MustNewConstMetric(diskFree, prometheus.GaugeValue, float64(n))
	}
}
