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
	if d.MemoryLimit != 0 || d.CacheMB != store.DefaultBlockCacheMB {
		t.Fatalf("defaults: memory limit %d, cache %d MiB; want 0 and %d", d.MemoryLimit, d.CacheMB, store.DefaultBlockCacheMB)
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
		"negative_limit": {"THROUGHCARE_MEMORY_LIMIT": "-1"},
		"tiny_limit":     {"THROUGHCARE_MEMORY_LIMIT": "1000000"},
		"no_cache":       {"THROUGHCARE_CACHE_MB": "0"},
		"huge_cache":     {"THROUGHCARE_CACHE_MB": "100000"},
	} {
		if _, err := parseConfig(nil, func(k string) string { return bad[k] }, io.Discard); err == nil {
			t.Errorf("%s: parseConfig accepted %v", name, bad)
		}
	}
}

// --memory-limit sets Go's soft limit; without it the limit is left as
// it was (GOMEMLIMIT's, or none).
func TestSetMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	debug.SetMemoryLimit(math.MaxInt64)
	setMemoryLimit(0, zerolog.Nop())
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Fatalf("with no --memory-limit the limit became %d, want it left alone", got)
	}
	setMemoryLimit(512<<20, zerolog.Nop())
	if got := debug.SetMemoryLimit(-1); got != 512<<20 {
		t.Fatalf("--memory-limit 536870912 set the limit to %d", got)
	}
}
