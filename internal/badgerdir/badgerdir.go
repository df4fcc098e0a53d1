// Package badgerdir prepares a Badger data directory before Badger opens
// it, removing what a process killed while Badger was opening the
// directory can leave behind and Badger cannot open itself. It knows
// Badger's file names only, not its formats; the server's store and the
// SDK's local store both use it.
package badgerdir

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// RemoveEmptyLogs removes the zero-length write-ahead (.mem) and value-log
// (.vlog) files of dir and returns the names it removed.
//
// Badger creates such a file and then sizes it; a kill in between leaves
// it empty, and the next open fails on it ("Create a new file"), though it
// can hold nothing: a log file is sized before its header or any entry is
// written to it. A file with any byte in it is left alone. A missing dir
// has nothing to remove.
func RemoveEmptyLogs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	var removed []string
	for _, e := range entries {
		name := e.Name()
		isLog := strings.HasSuffix(name, ".mem") || strings.HasSuffix(name, ".vlog")
		if !e.Type().IsRegular() || !isLog {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return removed, fmt.Errorf("reading %s: %w", filepath.Join(dir, name), err)
		}
		if info.Size() != 0 {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return removed, fmt.Errorf("removing the empty log file %s: %w", filepath.Join(dir, name), err)
		}
		removed = append(removed, name)
	}
	return removed, nil
}
