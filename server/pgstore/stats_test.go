package pgstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/metrics"
	"github.com/throughcare/throughcare/server/pgstore"
	"github.com/throughcare/throughcare/server/pgstore/pgtest"
	"github.com/throughcare/throughcare/server/store"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/protocol"
	"github.com/throughcare/throughcare/syncproto/sample"
)

var (
	_ metrics.Store         = (*pgstore.DB)(nil)
	_ metrics.DatabaseStore = (*pgstore.DB)(nil)
)

// gathered returns the value of each gauge and counter the registry
// holds, by name.
func gathered(t *testing.T, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			switch {
			case m.Gauge != nil:
				out[f.GetName()] = m.GetGauge().GetValue()
			case m.Counter != nil:
				out[f.GetName()] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// The server on a PostgreSQL store exports the pool, the database's size,
// the audit seals and the sessions, and none of Badger's file and GC
// metrics.
func TestServerStoreMetrics(t *testing.T) {
	env, _ := newServer(t)
	dev := sample.NewDevice("admin", time.Now, 1)
	clientID, chs := dev.NewClient("Lambeth")
	env.SignIn("admin", identity.Identity{UserID: "admin", DeviceID: dev.ID, Role: identity.Admin, Area: "Lambeth", Buckets: []string{clientID}})
	if _, err := env.SyncClient("admin").Push(context.Background(), &v1.PushRequest{ProtocolVersion: protocol.Version, SchemaVersion: 1, Changes: chs}); err != nil {
		t.Fatal(err)
	}
	got := gathered(t, env.Metrics)
	for name, ok := range map[string]func(float64) bool{
		"throughcare_store_pool_max_connections":       func(v float64) bool { return v == pgstore.DefaultMaxConns },
		"throughcare_store_pool_connections":           func(v float64) bool { return v >= 1 && v <= pgstore.DefaultMaxConns },
		"throughcare_store_pool_acquires_total":        func(v float64) bool { return v >= 1 },
		"throughcare_store_pool_acquire_seconds_total": func(v float64) bool { return v > 0 },
		"throughcare_store_database_bytes":             func(v float64) bool { return v > 0 },
		"throughcare_audit_commits_total":              func(v float64) bool { return v >= 1 },
	} {
		if v, found := got[name]; !found || !ok(v) {
			t.Errorf("%s = %v (exported: %v), out of range", name, v, found)
		}
	}
	for _, name := range []string{"throughcare_store_pool_acquired_connections", "throughcare_store_pool_idle_connections", "throughcare_sessions"} {
		if _, found := got[name]; !found {
			t.Errorf("%s not exported", name)
		}
	}
	for _, name := range []string{"throughcare_store_lsm_bytes", "throughcare_store_vlog_gc_passes_total"} {
		if _, found := got[name]; found {
			t.Errorf("%s exported for a PostgreSQL store", name)
		}
	}
}

// Sessions counts the sessions held by the store's clock: one past its
// absolute expiry is not (the sweep may not have removed it yet).
func TestSessionsCount(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	s, err := pgstore.Open(context.Background(), pgstore.Options{URL: pgtest.Shared(t).Database(t, t.Name()), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, expires := range []time.Time{now.Add(time.Hour), now.Add(2 * time.Hour), {}} {
		sess := &store.Session{ID: fmt.Sprint("s", i), UserID: "u", DeviceID: "d", AccessHash: []byte{byte(i)}, CreatedAt: now, AbsoluteExpiresAt: expires}
		if err := s.Directory(context.Background(), func(tx store.DirTx) error { return tx.PutSession(sess) }); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.Sessions(); err != nil || n != 3 {
		t.Fatalf("Sessions = %d, %v; want 3", n, err)
	}
	now = now.Add(90 * time.Minute)
	if n, err := s.Sessions(); err != nil || n != 2 {
		t.Fatalf("Sessions after one's expiry = %d, %v; want 2", n, err)
	}
}
