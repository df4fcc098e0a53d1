package store

import "testing"

func TestMemoryDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Options
		want [4]int // MemTableMB, NumMemtables, BlockCacheMB, IndexCacheMB as given to Badger
	}{
		{"zero takes the defaults", Options{}, [4]int{DefaultMemTableMB, DefaultNumMemtables, DefaultBlockCacheMB, DefaultIndexCacheMB}},
		{"set values stay", Options{MemTableMB: 64, NumMemtables: 3, BlockCacheMB: 128, IndexCacheMB: 8}, [4]int{64, 3, 128, 8}},
		{"negative index cache: unbounded (0 for Badger)", Options{IndexCacheMB: -1}, [4]int{DefaultMemTableMB, DefaultNumMemtables, DefaultBlockCacheMB, 0}},
		{"negative sizes take the defaults", Options{MemTableMB: -1, NumMemtables: -1, BlockCacheMB: -1}, [4]int{DefaultMemTableMB, DefaultNumMemtables, DefaultBlockCacheMB, DefaultIndexCacheMB}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.in.withMemoryDefaults()
			if got := [4]int{o.MemTableMB, o.NumMemtables, o.BlockCacheMB, o.IndexCacheMB}; got != tt.want {
				t.Fatalf("withMemoryDefaults = %v, want %v", got, tt.want)
			}
		})
	}
}
