package api

import (
	"container/list"
	"sync"
	"time"
)

// bucket is a token bucket: tokens as of at.
type bucket struct {
	tokens float64
	at     time.Time
}

// refill brings b up to now. A clock that steps back adds nothing.
func (b *bucket) refill(now time.Time, l Limit) {
	if now.After(b.at) {
		b.tokens = min(float64(l.Burst), b.tokens+now.Sub(b.at).Seconds()*l.Rate)
		b.at = now
	}
}

// wait is how long until b holds need tokens.
func (b *bucket) wait(need float64, l Limit) time.Duration {
	if b.tokens >= need {
		return 0
	}
	return time.Duration((need - b.tokens) / l.Rate * float64(time.Second))
}

// keyedBucket is the bucket of one client address or prefix.
type keyedBucket struct {
	key string
	bucket
}

// bucketSet holds buckets of one size by key, at most max of them. A key
// without a bucket has a full one: buckets that refill are forgotten.
type bucketSet struct {
	limit Limit
	max   int
	held  map[string]*list.Element // of *keyedBucket in lru
	lru   list.List                // most recently refilled first
}

func newBucketSet(l Limit, max int) *bucketSet {
	return &bucketSet{limit: l, max: max, held: make(map[string]*list.Element)}
}

// get returns key's bucket refilled to now. A key not held gets a full
// bucket that is held only once keep is called with it, so callers refused
// elsewhere take no memory.
func (s *bucketSet) get(key string, now time.Time) *keyedBucket {
	if el := s.held[key]; el != nil {
		kb := el.Value.(*keyedBucket)
		kb.refill(now, s.limit)
		s.lru.MoveToFront(el)
		return kb
	}
	return &keyedBucket{key: key, bucket: bucket{tokens: float64(s.limit.Burst), at: now}}
}

// keep holds kb, which has spent a token, dropping the least recently seen
// bucket past the cap (which only gives that client a fresh burst).
func (s *bucketSet) keep(kb *keyedBucket) {
	if _, ok := s.held[kb.key]; ok {
		return
	}
	for s.lru.Len() >= s.max {
		s.drop(s.lru.Back())
	}
	s.held[kb.key] = s.lru.PushFront(kb)
}

// spent is how many tokens kb is short of full.
func (s *bucketSet) spent(kb *keyedBucket) float64 { return float64(s.limit.Burst) - kb.tokens }

// sweep drops buckets that have refilled completely: forgetting them
// changes nothing. The list is ordered by last refill, so they gather at
// its back.
func (s *bucketSet) sweep(now time.Time) {
	for el := s.lru.Back(); el != nil; el = s.lru.Back() {
		kb := el.Value.(*keyedBucket)
		if kb.tokens+now.Sub(kb.at).Seconds()*s.limit.Rate < float64(s.limit.Burst) {
			return
		}
		s.drop(el)
	}
}

func (s *bucketSet) drop(el *list.Element) {
	delete(s.held, el.Value.(*keyedBucket).key)
	s.lru.Remove(el)
}

// Which bucket refused a call.
const (
	limitAddress = "address"
	limitPrefix  = "prefix"
	limitGlobal  = "global"
)

// classLimiter holds the buckets of one class of public calls: one per
// client address, one per prefix, and one for everyone.
type classLimiter struct {
	name    string
	reserve float64 // global tokens only quiet prefixes may spend
	quiet   float64 // a prefix's bucket this many tokens short of full is busy

	mu       sync.Mutex
	addrs    *bucketSet
	prefixes *bucketSet
	global   bucket
	globalL  Limit
}

func newClassLimiter(name string, l Limits, cfg RateLimit, now time.Time) *classLimiter {
	burst := float64(l.Global.Burst)
	return &classLimiter{
		name:     name,
		reserve:  min(cfg.Reserve*burst, burst-1),
		quiet:    float64(cfg.QuietCalls),
		addrs:    newBucketSet(l.Address, cfg.MaxClients),
		prefixes: newBucketSet(l.Prefix, cfg.MaxClients),
		global:   bucket{tokens: burst, at: now},
		globalL:  l.Global,
	}
}

// A gate is one bucket a call must take tokens from.
type gate struct {
	limit string
	b     *bucket
	need  float64
	size  Limit
}

// allow takes a token from each of the client's buckets, or none. When it
// refuses it names the first bucket that was short and says how long until
// every one of them holds enough. A caller whose prefix is not quiet may
// not take the global bucket's reserve.
func (c *classLimiter) allow(k client, now time.Time) (ok bool, limit string, wait time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.addrs.sweep(now)
	c.prefixes.sweep(now)
	addr := c.addrs.get(k.addr, now)
	gates := []gate{{limitAddress, &addr.bucket, 1, c.addrs.limit}}
	network := c.addrs.spent(addr) // how busy the caller's network is lately
	var prefix *keyedBucket
	if k.prefix != "" {
		prefix = c.prefixes.get(k.prefix, now)
		gates = append(gates, gate{limitPrefix, &prefix.bucket, 1, c.prefixes.limit})
		network = c.prefixes.spent(prefix)
	}
	c.global.refill(now, c.globalL)
	need := 1.0
	if network >= c.quiet {
		need += c.reserve
	}
	gates = append(gates, gate{limitGlobal, &c.global, need, c.globalL})
	for _, g := range gates {
		if g.b.tokens < g.need {
			if limit == "" {
				limit = g.limit
			}
			wait = max(wait, g.b.wait(g.need, g.size))
		}
	}
	if limit != "" {
		return false, limit, wait
	}
	for _, g := range gates {
		g.b.tokens--
	}
	c.addrs.keep(addr)
	if prefix != nil {
		c.prefixes.keep(prefix)
	}
	return true, "", 0
}
