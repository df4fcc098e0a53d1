package review

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/topschedule"
)

// The caseload view reads every bucket in reach, which for a supervisor
// with 1,000 clients is over 100,000 records. What it needs of a bucket
// does not depend on the clock, so it keeps a small summary of each bucket
// it has read, keyed by the bucket's head position: a bucket that has not
// changed since is not read again. Time-dependent facts (what is overdue,
// the next appointment) are worked out from the summary on every request.
// Summaries are only looked up for clients in the caller's reach; a purged
// client leaves the directory (and its head goes), so its summary is never
// used again, and Service.Forget drops it (it holds the client's name).

// caseSummary is what the caseload needs of one bucket.
type caseSummary struct {
	head                        uint64
	given, family, name, status string
	folded                      *foldedName
	born                        int64
	closed, deleted             bool
	conflicted                  int
	openQueries                 uint32
	latest                      instant // the newest live contact
	hasLatest                   bool
	latestFollowUps             []int64 // follow-up days of the live contacts at latest
	appts                       []apptBrief
	top                         topschedule.Client // see top.go
}

// apptBrief is a live appointment.
type apptBrief struct {
	at          instant
	typ, status string
}

// caseCache holds bucket summaries by client id. It is safe for concurrent
// use.
type caseCache struct {
	mu sync.Mutex
	m  map[string]*caseSummary
}

func (c *caseCache) get(id string, head uint64) *caseSummary {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.m[id]; s != nil && s.head == head {
		return s
	}
	return nil
}

func (c *caseCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}

func (c *caseCache) put(id string, s *caseSummary) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*caseSummary{}
	}
	c.m[id] = s
}

// summarise sums up a scanned bucket of c (read sets c's name and status).
func summarise(c *client, b *bucketData, head uint64) *caseSummary {
	s := &caseSummary{head: head, given: c.given, family: c.family, name: c.name, status: c.status, folded: foldName(c.given, c.family), born: c.born,
		closed: c.closed, deleted: c.deleted, conflicted: b.conflicted}
	f := b.facts(noDay)
	s.latest, s.hasLatest = f.latest, f.hasLatest
	for i := range b.contacts {
		ct := &b.contacts[i]
		if !ct.deleted && ct.followUp != noDay && s.hasLatest && ct.at.compare(s.latest) >= 0 {
			s.latestFollowUps = append(s.latestFollowUps, ct.followUp)
		}
	}
	for i := range b.appointments {
		if a := &b.appointments[i]; !a.deleted {
			s.appts = append(s.appts, apptBrief{at: a.at, typ: a.typ, status: a.status})
		}
	}
	s.top = b.topClient()
	for _, n := range b.notes {
		if n.reviewState() == v1.ReviewState_REVIEW_STATE_QUERY_OPEN {
			s.openQueries++
		}
	}
	return s
}

// summaries returns the summary of each client in scope, reading only the
// buckets that changed since they were last summarised, and sets each
// client's name and status from it.
func (s *Service) caseSummaries(ctx context.Context, sc *scope) ([]*caseSummary, error) {
	ids := make([]string, len(sc.clients))
	for i, c := range sc.clients {
		ids[i] = c.id
	}
	heads, err := s.st.Heads(ctx, ids)
	if err != nil {
		return nil, storeErr(err)
	}
	out := make([]*caseSummary, len(sc.clients))
	var missing []int
	for i, c := range sc.clients {
		if out[i] = s.cases.get(c.id, heads[c.id]); out[i] == nil {
			missing = append(missing, i)
		}
	}
	if err := s.summariseAll(ctx, sc.clients, missing, heads, out); err != nil {
		return nil, err
	}
	for i, c := range sc.clients {
		sum := out[i]
		c.given, c.family, c.name, c.status, c.born, c.closed, c.deleted = sum.given, sum.family, sum.name, sum.status, sum.born, sum.closed, sum.deleted
		c.folded = sum.folded
	}
	return out, nil
}

// summariseAll reads and summarises the buckets of clients[i] for each i in
// missing into out[i], caching each summary. The reads run on up to
// GOMAXPROCS goroutines (a cold caseload reads every bucket in reach), each
// with its own reader.
func (s *Service) summariseAll(ctx context.Context, clients []*client, missing []int, heads map[string]uint64, out []*caseSummary) error {
	workers := min(runtime.GOMAXPROCS(0), len(missing))
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		errs = make([]error, workers)
	)
	for w := range workers {
		wg.Go(func() {
			rd := newReader(s.st)
			rd.brief = true
			for {
				n := int(next.Add(1)) - 1
				if n >= len(missing) || ctx.Err() != nil {
					return
				}
				i := missing[n]
				c := clients[i]
				b, err := rd.read(ctx, c)
				if err != nil {
					errs[w] = err
					next.Store(int64(len(missing))) // stop the others
					return
				}
				out[i] = summarise(c, b, heads[c.id])
				s.cases.put(c.id, out[i])
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return ctx.Err()
}
