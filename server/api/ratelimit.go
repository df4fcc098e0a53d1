package api

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
)

// Limit is the size of a token bucket: Burst calls at once, then Rate calls
// per second.
type Limit struct {
	Rate  float64
	Burst int
}

// Limits are the buckets a public call must each take a token from, or it
// is refused and takes none.
type Limits struct {
	// Address is each client address's bucket. An IPv6 client's address is
	// its /64: one host commonly holds a whole /64 and can choose any
	// address in it.
	Address Limit
	// Prefix is each network's bucket: an IPv4 address's /24, an IPv6
	// address's /48. Its zero fields take five times Address's.
	Prefix Limit
	// Global is every client's together. It only sheds load: the last
	// RateLimit.Reserve of it is kept for quiet prefixes, so neither one
	// prefix nor a few busy ones can spend it all.
	Global Limit
}

// RateLimit bounds calls to the public procedures, which anyone can make
// without a session. Sign-in and enrolment ceremonies (Begin and Finish of
// each: a Begin writes a ceremony record, FinishEnrollment tests an invite
// code) and Refresh (which needs the secret refresh token, and which every
// tablet makes every few minutes) have buckets of their own, so a flood of
// ceremonies cannot stop tablets refreshing. Authenticated procedures are
// not limited here. Zero fields take the defaults.
//
// The buckets live in each process's memory, also when several replicas
// share one PostgreSQL database, and that is deliberate: they shed load,
// protecting the process that holds them, and guard no secret. Nothing a
// public procedure takes can be guessed: an invite code carries 130 random
// bits, a refresh token 256, and sign-in is a WebAuthn assertion (no
// password), so there is no per-user or per-invite attempt count whose
// budget N replicas would multiply into a risk; N replicas behind a proxy
// admit N times the global rate, which is what N processes can serve. A
// limit that did guard a guessable secret would have to be counted in the
// database instead.
type RateLimit struct {
	// Ceremony limits BeginEnrollment, FinishEnrollment, BeginLogin and
	// FinishLogin together. Default: 1 call per second, burst 20, per
	// address; 5 per second, burst 100, per prefix; 200 per second, burst
	// 400, overall.
	Ceremony Limits
	// Refresh limits Refresh. Default: 5 calls per second, burst 100, per
	// address; 25 per second, burst 500, per prefix; 500 per second, burst
	// 2,000, overall.
	Refresh Limits
	// Reserve is the share of each global bucket that only quiet prefixes
	// may spend (default 0.25): when a global bucket is that low, a caller
	// whose prefix is busy (see QuietCalls) is refused, and a tablet from
	// elsewhere still gets in.
	Reserve float64
	// QuietCalls is how many calls make a prefix busy: it is quiet while
	// its bucket is fewer than QuietCalls tokens short of full (default 4:
	// two sign-ins, each a Begin and a Finish).
	QuietCalls int
	// MaxClients caps each map of buckets held in memory (addresses and
	// prefixes, for ceremonies and for Refresh; default 10,000). Buckets
	// that have refilled are dropped as calls come in; past the cap the
	// least recently seen is dropped, which only gives that client a fresh
	// burst.
	MaxClients int
	// TrustedProxyHeader names a header, such as X-Forwarded-For, whose last
	// hop is the client address. Set it only when a reverse proxy in front
	// of the server sets that header: anyone can send it, so without such a
	// proxy clients could choose their own address. When it is empty (the
	// default), or absent or unparseable on a request, the client is the
	// connection's peer address.
	TrustedProxyHeader string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Defaults of RateLimit.
const (
	DefaultAuthRate           = 1.0
	DefaultAuthBurst          = 20
	DefaultAuthGlobalRate     = 200.0
	DefaultAuthGlobalBurst    = 400
	DefaultRefreshRate        = 5.0
	DefaultRefreshBurst       = 100
	DefaultRefreshGlobalRate  = 500.0
	DefaultRefreshGlobalBurst = 2000
	DefaultAuthMaxClients     = 10_000
	// DefaultPrefixFactor is how many times an address's limit a prefix's
	// is by default.
	DefaultPrefixFactor = 5
	DefaultReserve      = 0.25
	DefaultQuietCalls   = 4
)

// rateLimitedMsg is what a refused caller is told.
const rateLimitedMsg = "too many sign-in attempts; try again shortly"

func (c RateLimit) withDefaults() (RateLimit, error) {
	for _, l := range []Limits{c.Ceremony, c.Refresh} {
		for _, b := range []Limit{l.Address, l.Prefix, l.Global} {
			if b.Rate < 0 || math.IsNaN(b.Rate) || math.IsInf(b.Rate, 0) || b.Burst < 0 {
				return c, errors.New("api: rate limits must be positive and finite")
			}
		}
	}
	if c.MaxClients < 0 || c.QuietCalls < 0 {
		return c, errors.New("api: rate limit client cap and quiet calls must not be negative")
	}
	if !(c.Reserve >= 0 && c.Reserve < 1) {
		return c, errors.New("api: rate limit reserve must be a share of the global bucket, at least 0 and below 1")
	}
	if c.TrustedProxyHeader != "" && strings.ContainsAny(c.TrustedProxyHeader, " \t\r\n:,") {
		return c, errors.New("api: trusted proxy header must be a header name such as X-Forwarded-For")
	}
	c.Ceremony = c.Ceremony.withDefaults(Limits{
		Address: Limit{DefaultAuthRate, DefaultAuthBurst},
		Global:  Limit{DefaultAuthGlobalRate, DefaultAuthGlobalBurst},
	})
	c.Refresh = c.Refresh.withDefaults(Limits{
		Address: Limit{DefaultRefreshRate, DefaultRefreshBurst},
		Global:  Limit{DefaultRefreshGlobalRate, DefaultRefreshGlobalBurst},
	})
	if c.Reserve == 0 {
		c.Reserve = DefaultReserve
	}
	if c.QuietCalls == 0 {
		c.QuietCalls = DefaultQuietCalls
	}
	if c.MaxClients == 0 {
		c.MaxClients = DefaultAuthMaxClients
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// withDefaults fills l's zero fields from def, and the prefix's from the
// address's.
func (l Limits) withDefaults(def Limits) Limits {
	l.Address = l.Address.or(def.Address)
	l.Global = l.Global.or(def.Global)
	l.Prefix = l.Prefix.or(Limit{l.Address.Rate * DefaultPrefixFactor, l.Address.Burst * DefaultPrefixFactor})
	return l
}

func (b Limit) or(def Limit) Limit {
	if b.Rate == 0 {
		b.Rate = def.Rate
	}
	if b.Burst == 0 {
		b.Burst = def.Burst
	}
	return b
}

// authLimiter rate-limits the public procedures: Refresh in one class of
// buckets, the ceremonies in another. It starts no goroutine: idle buckets
// are swept as calls arrive.
type authLimiter struct {
	cfg      RateLimit
	public   map[string]bool
	errw     *connect.ErrorWriter
	ceremony *classLimiter
	refresh  *classLimiter
	calls    calls
}

func newAuthLimiter(cfg RateLimit, public map[string]bool) (*authLimiter, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	now := cfg.Now()
	return &authLimiter{
		cfg:      cfg,
		public:   public,
		errw:     connect.NewErrorWriter(),
		ceremony: newClassLimiter("ceremony", cfg.Ceremony, cfg, now),
		refresh:  newClassLimiter("refresh", cfg.Refresh, cfg, now),
	}, nil
}

// class returns the buckets a public procedure is counted in.
func (l *authLimiter) class(procedure string) *classLimiter {
	if procedure == throughcarev1connect.AuthServiceRefreshProcedure {
		return l.refresh
	}
	return l.ceremony
}

// wrap limits the public procedures before their requests are read. A
// refused call gets ResourceExhausted (HTTP 429 in the Connect protocol)
// with Retry-After, in the caller's protocol, and the usual call log line
// (without the client's address).
func (l *authLimiter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !l.public[r.URL.Path] {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		class := l.class(r.URL.Path)
		ok, limit, wait := class.allow(l.clientOf(r), l.cfg.Now())
		if ok {
			next.ServeHTTP(w, r)
			return
		}
		secs := int64(math.Ceil(wait.Seconds()))
		w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
		err := connect.NewError(connect.CodeResourceExhausted, errors.New(rateLimitedMsg))
		werr := l.errw.Write(w, r, err)
		took := time.Since(start)
		unsent(zerolog.Ctx(r.Context()).Info().Str("procedure", r.URL.Path).Str("protocol", protocolOf(r)).
			Str("code", connect.CodeResourceExhausted.String()).Str("limit", class.name+"_"+limit), werr).
			Dur("duration", took).Msg("call")
		l.calls.count(r.URL.Path, connect.CodeResourceExhausted.String(), false, took) // the public procedures are unary
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
