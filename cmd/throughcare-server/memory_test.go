package main

import (
	"io"
	"math"
	"runtime/debug"
	"testing"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/store"
)

func TestMemoryFlags(t *testing.T) {
	d, err := parseConfig(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if d.MemoryLimit != DefaultMemoryLimit || d.CacheMB != store.DefaultBlockCacheMB || d.ReturnMemoryEvery != DefaultReturnEvery {
		t.Fatalf("defaults: memory limit %d, cache %d MiB, return every %v; want %d, %d and %v", d.MemoryLimit, d.CacheMB, d.ReturnMemoryEvery, DefaultMemoryLimit, store.DefaultBlockCacheMB, DefaultReturnEvery)
	}
	c, err := parseConfig([]string{"--cache-mb", "128"}, func(k string) string {
		return map[string]string{"THROUGHCARE_MEMORY_LIMIT": "805306368", "THROUGHCARE_CACHE_MB": "8"}[k]
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.MemoryLimit != 768<<20 || c.CacheMB != 128 {
		t.Fatalf("memory limit %d, cache %d MiB; want 805306368 (env) and 128 (flag over env)", c.MemoryLimit, c.CacheMB)
	}
	for name, bad := range map[string]map[string]string{
		"negative_limit":  {"THROUGHCARE_MEMORY_LIMIT": "-1"},
		"tiny_limit":      {"THROUGHCARE_MEMORY_LIMIT": "1000000"},
		"no_cache":        {"THROUGHCARE_CACHE_MB": "0"},
		"huge_cache":      {"THROUGHCARE_CACHE_MB": "100000"},
		"negative_return": {"THROUGHCARE_RETURN_MEMORY_EVERY": "-1s"},
		"negative_gc":     {"THROUGHCARE_GC_PERCENT": "-5"},
		"negative_mapped": {"THROUGHCARE_MAPPED_LIMIT": "-1"},
	} {
		if _, err := parseConfig(nil, func(k string) string { return bad[k] }, io.Discard); err == nil {
			t.Errorf("%s: parseConfig accepted %v", name, bad)
		}
	}
}

// --memory-limit sets Go's soft limit; 0 leaves it as it was (GOMEMLIMIT's,
// or none), and so does the default when GOMEMLIMIT is set.
func TestSetMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	noEnv := func(string) string { return "" }
	withGOMEMLIMIT := func(k string) string { return map[string]string{"GOMEMLIMIT": "300MiB"}[k] }
	tests := []struct {
		name   string
		limit  int64
		getenv func(string) string
		want   int64
	}{
		{"0 leaves it", 0, noEnv, math.MaxInt64},
		{"the default", DefaultMemoryLimit, noEnv, DefaultMemoryLimit},
		{"the default gives way to GOMEMLIMIT", DefaultMemoryLimit, withGOMEMLIMIT, math.MaxInt64},
		{"a limit given wins over GOMEMLIMIT", 768 << 20, withGOMEMLIMIT, 768 << 20},
		{"a limit given", 256 << 20, noEnv, 256 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			debug.SetMemoryLimit(math.MaxInt64) // as the runtime starts without GOMEMLIMIT (or with it: left alone)
			setMemoryLimit(tt.limit, tt.getenv, zerolog.Nop())
			if got := debug.SetMemoryLimit(-1); got != tt.want {
				t.Fatalf("setMemoryLimit(%d) left the limit at %d, want %d", tt.limit, got, tt.want)
			}
		})
	}
}

// --gc-percent sets the collector's target; 0 leaves it as it was (GOGC's,
// or 100), and so does the default when GOGC is set.
func TestSetGCPercent(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })
	noEnv := func(string) string { return "" }
	withGOGC := func(k string) string { return map[string]string{"GOGC": "200"}[k] }
	tests := []struct {
		name    string
		percent int
		getenv  func(string) string
		want    int
	}{
		{"0 leaves it", 0, noEnv, 100},
		{"the default", DefaultGCPercent, noEnv, DefaultGCPercent},
		{"the default gives way to GOGC", DefaultGCPercent, withGOGC, 100},
		{"a percentage given wins over GOGC", 80, withGOGC, 80},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			debug.SetGCPercent(100) // as the runtime starts without GOGC (or with it: left alone)
			setGCPercent(tt.percent, tt.getenv)
			if got := debug.SetGCPercent(100); got != tt.want {
				t.Fatalf("setGCPercent(%d) left it at %d, want %d", tt.percent, got, tt.want)
			}
		})
	}
}
