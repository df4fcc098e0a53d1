package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/throughcare/throughcare/server/store"
)

// Store is what the metrics read of every store at each scrape (*store.DB,
// *pgstore.DB): the audit trail's seals and the sessions held.
type Store interface {
	AuditStats() store.AuditStats
	Sessions() (int, error)
}

// FileStore is a store in Badger's files, with their sizes and the
// value-log GC (*store.DB); a Store that is one exports those too.
type FileStore interface {
	Sizes() store.Sizes
	GCStats() store.GCStats
}

// DatabaseStore is a store in a database server (*pgstore.DB); a Store
// that is one exports the database's size and its connection pool.
type DatabaseStore interface {
	// DatabaseBytes is the size of the store's tables with their indexes
	// and TOAST data.
	DatabaseBytes() (int64, error)
	PoolStats() store.PoolStats
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
	dbBytes      = desc("store_database_bytes", "Bytes of the PostgreSQL store's tables, with their indexes and TOAST data (PostgreSQL stores only).")
	poolAcquired = desc("store_pool_acquired_connections", "PostgreSQL connections in use now (PostgreSQL stores only).")
	poolIdle     = desc("store_pool_idle_connections", "PostgreSQL connections idle in the pool now (PostgreSQL stores only).")
	poolTotal    = desc("store_pool_connections", "PostgreSQL connections in the pool now, in use, idle or being opened (PostgreSQL stores only).")
	poolMax      = desc("store_pool_max_connections", "Most PostgreSQL connections the pool opens (PostgreSQL stores only).")
	poolAcquires = desc("store_pool_acquires_total", "PostgreSQL connections acquired from the pool (PostgreSQL stores only).")
	poolWaited   = desc("store_pool_waited_acquires_total", "Acquisitions that waited because no connection was idle (PostgreSQL stores only).")
	poolWait     = desc("store_pool_acquire_seconds_total", "Time spent acquiring PostgreSQL connections (PostgreSQL stores only).")
	sessions     = desc("sessions", "Sessions held: signed-in devices whose session has not ended or reached its absolute expiry.")
	diskFree     = desc("disk_free_bytes", "Bytes free to the server on the data directory's filesystem (absent while it cannot be measured).")
	diskMin      = desc("disk_min_free_bytes", "Free bytes below which writes are refused (--min-free-bytes; 0: never).")
)

func desc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(ns, "", name), help, nil, nil)
}

// storeCollector reads the store's audit counts and sessions at each
// scrape.
type storeCollector struct{ st Store }

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{auditCommits, auditSealed, auditSealErr, sessions} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
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

// fileCollector reads Badger's sizes and GC counts at each scrape.
type fileCollector struct{ st FileStore }

func (c *fileCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{lsmBytes, vlogBytes, gcPasses, gcRewrite, gcFail, gcLast} {
		ch <- d
	}
}

func (c *fileCollector) Collect(ch chan<- prometheus.Metric) {
	sz, gc := c.st.Sizes(), c.st.GCStats()
	ch <- prometheus.MustNewConstMetric(lsmBytes, prometheus.GaugeValue, float64(sz.LSM))
	ch <- prometheus.MustNewConstMetric(vlogBytes, prometheus.GaugeValue, float64(sz.ValueLog))
	ch <- prometheus.MustNewConstMetric(gcPasses, prometheus.CounterValue, float64(gc.Passes))
	ch <- prometheus.MustNewConstMetric(gcRewrite, prometheus.CounterValue, float64(gc.Rewrites))
	ch <- prometheus.MustNewConstMetric(gcFail, prometheus.CounterValue, float64(gc.Failures))
	if !gc.LastSuccess.IsZero() {
		ch <- prometheus.MustNewConstMetric(gcLast, prometheus.GaugeValue, float64(gc.LastSuccess.UnixNano())/1e9)
	}
}

// databaseCollector reads the database's size and its pool at each
// scrape.
type databaseCollector struct{ st DatabaseStore }

func (c *databaseCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dbBytes, poolAcquired, poolIdle, poolTotal, poolMax, poolAcquires, poolWaited, poolWait} {
		ch <- d
	}
}

func (c *databaseCollector) Collect(ch chan<- prometheus.Metric) {
	if n, err := c.st.DatabaseBytes(); err == nil {
		ch <- prometheus.MustNewConstMetric(dbBytes, prometheus.GaugeValue, float64(n))
	} else {
		ch <- prometheus.NewInvalidMetric(dbBytes, err)
	}
	p := c.st.PoolStats()
	gauge := func(d *prometheus.Desc, v int32) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	gauge(poolAcquired, p.Acquired)
	gauge(poolIdle, p.Idle)
	gauge(poolTotal, p.Total)
	gauge(poolMax, p.Max)
	ch <- prometheus.MustNewConstMetric(poolAcquires, prometheus.CounterValue, float64(p.Acquires))
	ch <- prometheus.MustNewConstMetric(poolWaited, prometheus.CounterValue, float64(p.Waited))
	ch <- prometheus.MustNewConstMetric(poolWait, prometheus.CounterValue, p.WaitDuration.Seconds())
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
