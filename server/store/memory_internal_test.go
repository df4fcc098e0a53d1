package store

import (
	"testing"
	"time"

	"github.com/throughcare/throughcare/server/storekey"
)

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

// An encrypted store's Badger options: the key, data keys rotated weekly
// (or as asked), and an index cache even where none was asked for
// (Badger fails on an encrypted table without one).
func TestBadgerOptionsEncryption(t *testing.T) {
	key, err := storekey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		in           Options
		wantKey      bool
		wantRotation time.Duration
		wantIndexMB  int64
	}{
		{"not encrypted", Options{}, false, 0, DefaultIndexCacheMB},
		{"not encrypted, unbounded index", Options{IndexCacheMB: -1}, false, 0, 0},
		{"encrypted", Options{EncryptionKey: key}, true, DefaultKeyRotation, DefaultIndexCacheMB},
		{"encrypted, rotation set", Options{EncryptionKey: key, KeyRotation: time.Hour}, true, time.Hour, DefaultIndexCacheMB},
		{"encrypted, unbounded index asked for", Options{EncryptionKey: key, IndexCacheMB: -1}, true, DefaultKeyRotation, DefaultIndexCacheMB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bo := badgerOptions(tt.in.withMemoryDefaults())
			if got := len(bo.EncryptionKey) == storekey.Size; got != tt.wantKey {
				t.Errorf("encryption key set = %v, want %v", got, tt.wantKey)
			}
			if tt.wantKey && bo.EncryptionKeyRotationDuration != tt.wantRotation {
				t.Errorf("rotation = %v, want %v", bo.EncryptionKeyRotationDuration, tt.wantRotation)
			}
			if got := bo.IndexCacheSize >> 20; got != tt.wantIndexMB {
				t.Errorf("index cache = %d MiB, want %d", got, tt.wantIndexMB)
			}
		})
	}
}
