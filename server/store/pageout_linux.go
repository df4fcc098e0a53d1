package store

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Badger reads its tables through memory maps: every page of a table a
// read or a compaction touched stays resident, counted in the server's
// RSS, until the kernel needs the memory — at a million contacts, a
// gigabyte of the store's files. The pages are clean copies of the files,
// so handing them back costs only reading them again when next needed.

// ReleaseTablePages asks the kernel to reclaim the resident pages of the
// store's mapped tables (madvise MADV_PAGEOUT on each *.sst mapping of the
// data directory in /proc/self/maps) and returns how many bytes of
// mappings it advised. The pages are read-only copies of the files:
// nothing is lost, and a later read faults them in again from the disk.
// The advice is harmless even if Badger unmaps a table meanwhile and the
// range is reused: MADV_PAGEOUT never discards data (dirty file pages are
// written back first, anonymous ones only ever go to swap). The write-ahead
// and value logs, written through their maps, are left alone. A store in
// memory has no tables to release.
func (s *DB) ReleaseTablePages() (int64, error) {
	if s.dir == "" {
		return 0, nil
	}
	ranges, err := tableMappings(s.dir)
	if err != nil {
		return 0, err
	}
	var advised int64
	for _, r := range ranges {
		_, _, errno := unix.Syscall(unix.SYS_MADVISE, r.start, r.end-r.start, unix.MADV_PAGEOUT)
		switch errno {
		case 0:
			advised += int64(r.end - r.start)
		case unix.ENOMEM, unix.EINVAL:
			// Unmapped since /proc/self/maps was read (ENOMEM), or a
			// kernel before 5.4 without MADV_PAGEOUT (EINVAL): nothing
			// to release.
		default:
			return advised, errno
		}
	}
	return advised, nil
}

// mapping is one address range of /proc/self/maps.
type mapping struct{ start, end uintptr }

// tableMappings lists the mappings of the tables (*.sst) in dir.
func tableMappings(dir string) ([]mapping, error) {
	// The kernel names a mapped file by its absolute path, symbolic
	// links resolved.
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if dir, err = filepath.EvalSymlinks(dir); err != nil {
		return nil, err
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read only
	var out []mapping
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if m, ok := tableMapping(sc.Text(), dir); ok {
			out = append(out, m)
		}
	}
	return out, sc.Err()
}

// tableMapping parses one line of /proc/self/maps ("start-end perms offset
// dev inode path"), reporting whether it maps a table in dir.
func tableMapping(line, dir string) (mapping, bool) {
	fields := strings.Fields(line)
	if len(fields) < 6 {
		return mapping{}, false
	}
	path := strings.Join(fields[5:], " ")
	if filepath.Ext(path) != ".sst" || filepath.Dir(path) != dir {
		return mapping{}, false
	}
	lo, hi, ok := strings.Cut(fields[0], "-")
	if !ok {
		return mapping{}, false
	}
	start, err1 := strconv.ParseUint(lo, 16, 64)
	end, err2 := strconv.ParseUint(hi, 16, 64)
	if err1 != nil || err2 != nil || end <= start {
		return mapping{}, false
	}
	return mapping{uintptr(start), uintptr(end)}, true
}
