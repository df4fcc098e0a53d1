package serverproc

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Sample is one reading of a process's resident memory, in bytes, from
// /proc/<pid>/status: RSS is VmRSS, Anon is RssAnon (heap, stacks: what Go
// and Badger allocate) and File is RssFile (mapped files: Badger's tables
// and logs, and the binary); HWM is VmHWM, the largest VmRSS the process
// has had. Heap and Goal are Go's live heap after the
// last collection and the next collection's goal, from the GC trace.
type Sample struct {
	At              time.Duration // since the load started
	RSS, Anon, File int64
	HWM             int64
	Heap, Goal      int64
}

// ReadSample reads the status of process pid.
func ReadSample(pid int, at time.Duration) (Sample, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Sample{}, err
	}
	defer func() { _ = f.Close() }() // opened read-only: closing it loses nothing
	s, err := parseStatus(f)
	s.At = at
	return s, err
}

// parseStatus reads VmRSS, VmHWM, RssAnon and RssFile from a /proc/<pid>/status
// file (lines such as "VmRSS:	  123456 kB"). VmRSS is required; RssAnon
// and RssFile are missing on kernels before 4.5 and then read as zero.
func parseStatus(r io.Reader) (Sample, error) {
	var s Sample
	fields := map[string]*int64{"VmRSS": &s.RSS, "VmHWM": &s.HWM, "RssAnon": &s.Anon, "RssFile": &s.File}
	seenRSS := false
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		p := fields[name]
		if !ok || p == nil {
			continue
		}
		v := strings.Fields(rest)
		if len(v) != 2 || v[1] != "kB" {
			return Sample{}, fmt.Errorf("status: %s: want a number of kB, got %q", name, strings.TrimSpace(rest))
		}
		n, err := strconv.ParseInt(v[0], 10, 64)
		if err != nil || n < 0 {
			return Sample{}, fmt.Errorf("status: %s: bad number %q", name, v[0])
		}
		*p = n << 10
		seenRSS = seenRSS || name == "VmRSS"
	}
	if err := sc.Err(); err != nil {
		return Sample{}, err
	}
	if !seenRSS {
		return Sample{}, fmt.Errorf("status: no VmRSS line (is the process a zombie?)")
	}
	return s, nil
}
