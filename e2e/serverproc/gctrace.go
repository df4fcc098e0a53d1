package serverproc

import (
	"bytes"
	"io"
	"regexp"
	"strconv"
	"sync"
)

// gcWatch passes the server's output on and follows the runtime's GC
// trace in it (the server runs with GODEBUG=gctrace=1): after each
// collection, the heap left live and the heap goal of the next one, so
// the report can tell Go's heap from the rest of the resident memory.
type gcWatch struct {
	out io.Writer

	mu         sync.Mutex
	partial    []byte
	live, goal int64 // bytes, from the last trace line
}

// gcLine matches "… 45->46->23 MB, 47 MB goal, …" of a gctrace line.
var gcLine = regexp.MustCompile(`^gc \d+ @.* (\d+)->(\d+)->(\d+) MB, (\d+) MB goal`)

func (g *gcWatch) Write(p []byte) (int, error) {
	g.mu.Lock()
	g.partial = append(g.partial, p...)
	for {
		i := bytes.IndexByte(g.partial, '\n')
		if i < 0 {
			break
		}
		g.line(g.partial[:i])
		g.partial = g.partial[i+1:]
	}
	g.mu.Unlock()
	return g.out.Write(p)
}

func (g *gcWatch) line(l []byte) {
	m := gcLine.FindSubmatch(l)
	if m == nil {
		return
	}
	live, err1 := strconv.ParseInt(string(m[3]), 10, 64)
	goal, err2 := strconv.ParseInt(string(m[4]), 10, 64)
	if err1 == nil && err2 == nil {
		g.live, g.goal = live<<20, goal<<20
	}
}

// heap returns the live heap after the last collection and the goal of
// the next one (zero before the first trace line).
func (g *gcWatch) heap() (live, goal int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.live, g.goal
}
