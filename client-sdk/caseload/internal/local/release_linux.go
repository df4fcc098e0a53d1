package local

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// releaseMapped advises the kernel that the process no longer needs the
// pages of its shared mappings of dir's value log files (MADV_DONTNEED:
// for a shared file mapping the data stays in the file and the page cache,
// dirty pages included, and a later access maps it in again). The caller
// makes sure the mappings do not change meanwhile.
func releaseMapped(dir string) error {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		start, end, ok := vlogMapping(sc.Text(), dir)
		if !ok {
			continue
		}
		if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, start, end-start, syscall.MADV_DONTNEED); e != 0 {
			return fmt.Errorf("local: releasing a value log mapping: %w", e)
		}
	}
	return sc.Err()
}

// vlogMapping reads a line of /proc/self/maps ("start-end perms offset dev
// inode path") and returns its range if it is a shared mapping of one of
// dir's value log files.
func vlogMapping(line, dir string) (start, end uintptr, ok bool) {
	f := strings.Fields(line)
	if len(f) != 6 || len(f[1]) != 4 || f[1][3] != 's' {
		return 0, 0, false // no path, a deleted file (" (deleted)"), or private
	}
	if filepath.Dir(f[5]) != dir || filepath.Ext(f[5]) != ".vlog" {
		return 0, 0, false
	}
	lo, hi, found := strings.Cut(f[0], "-")
	if !found {
		return 0, 0, false
	}
	a, err1 := strconv.ParseUint(lo, 16, 64)
	b, err2 := strconv.ParseUint(hi, 16, 64)
	if err1 != nil || err2 != nil || b <= a {
		return 0, 0, false
	}
	return uintptr(a), uintptr(b), true
}
