//go:build !linux

package store

import "os"

// datasync flushes f to disk (fsync; Linux uses fdatasync).
func datasync(f *os.File) error { return f.Sync() }
