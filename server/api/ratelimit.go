package api

import (
	"container/list"
	"errors"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/rs/zerolog"
)

// RateLimit bounds calls to the public procedures (signing in, enrolling,
// refreshing a session), which anyone can make without a session: each
// Begin writes a ceremony record, and FinishEnrollment tests an invite code.
// Every client address has a token bucket, and all public calls together
// share one more. Authenticated procedures are not limited here. Zero
// fields take the defaults.
type RateLimit struct {
	// Rate is how many public calls per second one client address may make
	// once its burst is spent (default 1).
	Rate float64
	// Burst is how many public calls one client address may make at once
	// (default 20).
	Burst int
	// GlobalRate and GlobalBurst bound all public calls together (default
	// 200 per second, burst 400).
	GlobalRate  float64
	GlobalBurst int
	// MaxClients caps the client buckets held in memory (default 10,000).
	// Buckets that have refilled are dropped as calls come in; past the cap
	// the least recently seen is dropped, which only gives that client a
	// fresh burst.
	MaxClients int
	// TrustedProxyHeader names a header, such as X-Forwarded-For, whose last
	// hop is the client address. Set it only when a reverse proxy in front
	// of the server sets that header: anyone can send it, so without such a
	// proxy clients could choose their own address. When it is empty (the
	// default), or absent or unparseable on a request, the client is the
	// connection's peer address. IPv6 clients are counted per /64.
	TrustedProxyHeader string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Defaults of RateLimit.
const (
	DefaultAuthRate        = 1.0
	DefaultAuthBurst       = 20
	DefaultAuthGlobalRate  = 200.0
	DefaultAuthGlobalBurst = 400
	DefaultAuthMaxClients  = 10_000
)

// rateLimitedMsg is what a refused caller is told.
const rateLimitedMsg = "too many sign-in attempts; try again shortly"

func (c RateLimit) withDefaults() (RateLimit, error) {
	for _, r := range []float64{c.Rate, c.GlobalRate} {
		if r < 0 || math.IsNaN(r) || math.IsInf(r, 0) {
			return c, errors.New("api: rate limits must be positive and finite")
		}
	}
	if c.Burst < 0 || c.GlobalBurst < 0 || c.MaxClients < 0 {
		return c, errors.New("api: rate limit bursts and client cap must not be negative")
	}
	if c.TrustedProxyHeader != "" && strings.ContainsAny(c.TrustedProxyHeader, " \t\r\n:,") {
		return c, errors.New("api: trusted proxy header must be a header name such as X-Forwarded-For")
	}
	if c.Rate == 0 {
		c.Rate = DefaultAuthRate
	}
	if c.Burst == 0 {
		c.Burst = DefaultAuthBurst
	}
	if c.GlobalRate == 0 {
		c.GlobalRate = DefaultAuthGlobalRate
	}
	if c.GlobalBurst == 0 {
		c.GlobalBurst = DefaultAuthGlobalBurst
	}
	if c.MaxClients == 0 {
		c.MaxClients = DefaultAuthMaxClients
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// bucket is a token bucket: tokens as of at.
type bucket struct {
	tokens float64
	at     time.Time
}

// refill brings b up to now. A clock that steps back adds nothing.
func (b *bucket) refill(now time.Time, rate, burst float64) {
	if now.After(b.at) {
		b.tokens = min(burst, b.tokens+now.Sub(b.at).Seconds()*rate)
		b.at = now
	}
}

// wait is how long until b holds a whole token.
func (b *bucket) wait(rate float64) time.Duration {
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) / rate * float64(time.Second))
}

type clientBucket struct {
	key string
	bucket
}

// authLimiter rate-limits the public procedures, per client and overall.
// It starts no goroutine: idle client buckets are swept as calls arrive.
type authLimiter struct {
	cfg    RateLimit
	public map[string]bool
	errw   *connect.ErrorWriter

	mu      sync.Mutex
	global  bucket
	clients map[string]*list.Element // of *clientBucket in lru
	lru     list.List                // most recently refilled first
}

func newAuthLimiter(cfg RateLimit, public map[string]bool) (*authLimiter, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &authLimiter{
		cfg:     cfg,
		public:  public,
		errw:    connect.NewErrorWriter(),
		global:  bucket{tokens: float64(cfg.GlobalBurst), at: cfg.Now()},
		clients: make(map[string]*list.Element),
	}, nil
}

// Which bucket refused a call.
const (
	limitClient = "client"
	limitGlobal = "global"
)

// allow takes a token from key's bucket and one from the global bucket, or
// neither. When it refuses it says which bucket was empty and how long
// until it holds a token again.
func (l *authLimiter) allow(key string) (ok bool, limit string, wait time.Duration) {
	now := l.cfg.Now()
	rate, burst := l.cfg.Rate, float64(l.cfg.Burst)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)

	var cb *clientBucket
	el := l.clients[key]
	if el != nil {
		cb = el.Value.(*clientBucket)
		cb.refill(now, rate, burst)
		l.lru.MoveToFront(el)
	} else {
		// A client not held has a full bucket; it is held only once it
		// spends a token, so refused newcomers take no memory.
		cb = &clientBucket{key: key, bucket: bucket{tokens: burst, at: now}}
	}
	if cb.tokens < 1 {
		return false, limitClient, cb.wait(rate)
	}
	l.global.refill(now, l.cfg.GlobalRate, float64(l.cfg.GlobalBurst))
	if l.global.tokens < 1 {
		return false, limitGlobal, l.global.wait(l.cfg.GlobalRate)
	}
	l.global.tokens--
	cb.tokens--
	if el == nil {
		for l.lru.Len() >= l.cfg.MaxClients {
			l.drop(l.lru.Back())
		}
		l.clients[key] = l.lru.PushFront(cb)
	}
	return true, "", 0
}

// sweep drops client buckets that have refilled completely: forgetting them
// changes nothing. The list is ordered by last refill, so they are at its
// back.
func (l *authLimiter) sweep(now time.Time) {
	for el := l.lru.Back(); el != nil; el = l.lru.Back() {
		cb := el.Value.(*clientBucket)
		if cb.tokens+now.Sub(cb.at).Seconds()*l.cfg.Rate < float64(l.cfg.Burst) {
			return
		}
		l.drop(el)
	}
}

func (l *authLimiter) drop(el *list.Element) {
	delete(l.clients, el.Value.(*clientBucket).key)
	l.lru.Remove(el)
}

// held is how many client buckets are in memory.
func (l *authLimiter) held() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}

// clientKey is the address a request is counted under: the last hop of
// the trusted proxy header if one is configured and present, otherwise the
// connection's peer. IPv6 addresses count per /64, since one host
// commonly holds a whole /64.
func (l *authLimiter) clientKey(r *http.Request) string {
	if h := l.cfg.TrustedProxyHeader; h != "" {
		if a, ok := lastHop(r.Header.Values(h)); ok {
			return addrKey(a)
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return addrKey(a)
	}
	return host
}

// lastHop parses the last address of a comma-separated list header such as
// X-Forwarded-For: the one the trusted proxy appended. Earlier entries are
// whatever the client sent.
func lastHop(values []string) (netip.Addr, bool) {
	if len(values) == 0 {
		return netip.Addr{}, false
	}
	v := values[len(values)-1]
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	v = strings.TrimSpace(v)
	if a, err := netip.ParseAddr(v); err == nil {
		return a, true
	}
	if ap, err := netip.ParseAddrPort(v); err == nil {
		return ap.Addr(), true
	}
	return netip.Addr{}, false
}

func addrKey(a netip.Addr) string {
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// wrap limits the public procedures before their requests are read. A
// refused call gets ResourceExhausted (HTTP 429 in the Connect protocol)
// with Retry-After, in the caller's protocol, and the usual call log line.
func (l *authLimiter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !l.public[r.URL.Path] {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		ok, limit, wait := l.allow(l.clientKey(r))
		if ok {
			next.ServeHTTP(w, r)
			return
		}
		secs := int64(math.Ceil(wait.Seconds()))
		w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
		err := connect.NewError(connect.CodeResourceExhausted, errors.New(rateLimitedMsg))
		zerolog.Ctx(r.Context()).Info().Str("procedure", r.URL.Path).Str("protocol", protocolOf(r)).
			Str("code", connect.CodeResourceExhausted.String()).Str("limit", limit).
			Dur("duration", time.Since(start)).Msg("call")
		l.errw.Write(w, r, err)
	})
}

// protocolOf names a request's protocol for the log, as connect.Peer does.
func protocolOf(r *http.Request) string {
	ct := r.Header.Get("Content-Type")
	switch {
	case strings.HasPrefix(ct, "application/grpc-web"):
		return connect.ProtocolGRPCWeb
	case strings.HasPrefix(ct, "application/grpc"):
		return connect.ProtocolGRPC
	}
	return connect.ProtocolConnect
}
