package auth

import (
	"fmt"
	"testing"
)

// The cache holds one version's entries, within its bounds.
func TestIDCacheBounds(t *testing.T) {
	entry := func(all uint64, buckets int) *resolved { return &resolved{all: all, buckets: make([]string, buckets)} }
	tests := []struct {
		name string
		fill func(c *idCache)
		// want: the entries found at version 1 (k0, k1, ...), and how many
		// are held
		get       []string
		wantFound []bool
		wantLen   int
	}{
		{name: "one version", fill: func(c *idCache) { c.put([]byte("k0"), entry(1, 1)); c.put([]byte("k1"), entry(1, 1)) },
			get: []string{"k0", "k1"}, wantFound: []bool{true, true}, wantLen: 2},
		{name: "an older version is not stored", fill: func(c *idCache) { c.put([]byte("k0"), entry(1, 1)); c.put([]byte("k1"), entry(0, 1)) },
			get: []string{"k0", "k1"}, wantFound: []bool{true, false}, wantLen: 1},
		{name: "a newer version drops the rest", fill: func(c *idCache) { c.put([]byte("k0"), entry(0, 1)); c.put([]byte("k1"), entry(1, 1)) },
			get: []string{"k0", "k1"}, wantFound: []bool{false, true}, wantLen: 1},
		{name: "too many entries", fill: func(c *idCache) {
			for i := range idCacheEntries + 1 {
				c.put(fmt.Appendf(nil, "k%d", i), entry(1, 0))
			}
		}, get: []string{"k0", fmt.Sprintf("k%d", idCacheEntries)}, wantFound: []bool{false, true}, wantLen: 1},
		{name: "too many buckets", fill: func(c *idCache) {
			c.put([]byte("k0"), entry(1, idCacheBuckets/2+1))
			c.put([]byte("k1"), entry(1, idCacheBuckets/2+1))
		}, get: []string{"k0", "k1"}, wantFound: []bool{false, true}, wantLen: 1},
		{name: "a caseload over the bound is not kept", fill: func(c *idCache) {
			c.put([]byte("k0"), entry(1, 1))
			c.put([]byte("k1"), entry(1, idCacheBuckets+1))
		}, get: []string{"k0", "k1"}, wantFound: []bool{true, false}, wantLen: 1},
		{name: "replacing an entry releases its buckets", fill: func(c *idCache) {
			for range 3 {
				c.put([]byte("k0"), entry(1, idCacheBuckets/2))
			}
			c.put([]byte("k1"), entry(1, idCacheBuckets/2))
		}, get: []string{"k0", "k1"}, wantFound: []bool{true, true}, wantLen: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c idCache
			tc.fill(&c)
			for i, k := range tc.get {
				if got := c.get([]byte(k), 1) != nil; got != tc.wantFound[i] {
					t.Errorf("%s found = %v, want %v", k, got, tc.wantFound[i])
				}
			}
			if len(c.entries) != tc.wantLen {
				t.Errorf("%d entries held, want %d", len(c.entries), tc.wantLen)
			}
		})
	}
}
