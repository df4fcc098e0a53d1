package store

// The sizes of what Badger holds in memory, for a small server (an area's
// server: 2 cores, 1 to 2 GB of RAM). Measured with `make soak` (a steady
// load of pushes, pulls and live streams): see withMemoryDefaults.
const (
	// DefaultMemTableMB is the size of one memtable. A push is applied in
	// one transaction, which Badger caps at 15% of it (4.8 MB at 32).
	DefaultMemTableMB = 32
	// DefaultNumMemtables is how many memtables there are: the one being
	// written and one being flushed to disk.
	DefaultNumMemtables = 2
	// DefaultBlockCacheMB is the cache of table blocks read from disk.
	DefaultBlockCacheMB = 32
	// DefaultIndexCacheMB bounds the tables' indexes and bloom filters
	// held in memory.
	DefaultIndexCacheMB = 16
	// DefaultTableMB is the size of the tables compaction writes, at every
	// level. Compaction builds up to a dozen tables at once per compactor,
	// each in a buffer of twice the table size: Badger's default (tables
	// doubling per level, 8 to 32 MB in a store of a few GB) made those
	// buffers the largest thing in memory.
	DefaultTableMB = 2
)

// withMemoryDefaults fills the memory sizes left zero with the defaults.
//
// Badger holds up to NumMemtables × MemTableMB of memtables (the one
// written and those waiting to be flushed); flushing one builds a table
// of about its size in memory too, so under a steady load the store needs
// about (NumMemtables+1) × MemTableMB + BlockCacheMB + IndexCacheMB, plus
// Go's garbage-collector headroom (see the server's --memory-limit). The
// files Badger maps (tables, logs) count as resident file pages, which the
// kernel drops under pressure.
//
// MemTableMB must leave room for the largest push: one transaction holds
// about 15% of it. BlockCacheMB must be positive (the store is compressed,
// and Badger requires a block cache then). A negative IndexCacheMB keeps
// every table's index and bloom filter in memory, unbounded (Badger's own
// default), except in an encrypted store, which needs the cache (it gets
// DefaultIndexCacheMB).
func (o Options) withMemoryDefaults() Options {
	if o.MemTableMB <= 0 {
		o.MemTableMB = DefaultMemTableMB
	}
	if o.NumMemtables <= 0 {
		o.NumMemtables = DefaultNumMemtables
	}
	if o.BlockCacheMB <= 0 {
		o.BlockCacheMB = DefaultBlockCacheMB
	}
	switch {
	case o.IndexCacheMB == 0:
		o.IndexCacheMB = DefaultIndexCacheMB
	case o.IndexCacheMB < 0:
		o.IndexCacheMB = 0 // Badger's "no cache": all in memory
	}
	return o
}
