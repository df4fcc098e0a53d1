package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server"
	"github.com/throughcare/throughcare/server/api"
	"github.com/throughcare/throughcare/server/auth"
	"github.com/throughcare/throughcare/server/diskspace"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/subject"
	"github.com/throughcare/throughcare/server/syncengine"
)

// config is every setting of the server. Each flag --name can also be set
// with the environment variable THROUGHCARE_NAME (dashes become
// underscores); a flag on the command line wins over the environment.
type config struct {
	Listen string
	Data   string
	// Store is empty for the embedded store in Data, or a PostgreSQL URL
	// (storeopen.go); never logged whole (pgURL).
	Store           string
	LogFormat       string
	LogLevel        string
	MaxRequestBytes int64
	MaxDecompress   int
	MaxClockSkew    time.Duration
	UnaryTimeout    time.Duration
	Keepalive       time.Duration
	StreamMaxAge    time.Duration
	ShutdownTimeout time.Duration
	ReadHeader      time.Duration
	IdleTimeout     time.Duration
	RPID            string
	RPName          string
	RPOrigins       string
	BootstrapArea   string
	AccessTTL       time.Duration
	RefreshIdle     time.Duration
	RefreshGrace    time.Duration
	SessionMaxAge   time.Duration
	AuthRate        float64
	AuthBurst       int
	RefreshRate     float64
	RefreshBurst    int
	ProxyHeader     string
	LateWorkWindow  time.Duration
	// Streams, bodies and connections end (see api.Config, connlimit).
	MaxStreamsPerDevice int
	MaxStreamsPerUser   int
	WriteTimeout        time.Duration
	ReadBodyTimeout     time.Duration
	MaxConnsPerIP       int
	// Writes are refused while less than this is free (0: never).
	MinFreeBytes   int64
	AcceptDataLoss bool
	// Memory: Go's soft limit (0: GOMEMLIMIT or none; see memory.go) and Badger's block
	// cache, in MiB.
	MemoryLimit int64
	CacheMB     int
	// GCPercent is the collector's target, as GOGC (0: GOGC's, or Go's
	// 100; see memory.go).
	GCPercent int
	// ReturnMemoryEvery is how often the server checks whether it is
	// quiet, to return free memory to the system (0: never; memreturn.go).
	ReturnMemoryEvery time.Duration
	// MappedLimit is how much of the server's resident memory mapped
	// files may take before the store's table pages are handed back
	// while it is busy (0: only past MemoryLimit; memreturn.go).
	MappedLimit int64
	// Retention: how long a client is kept after their case was closed
	// (0: for ever), in areas without their own (see package subject).
	Retention time.Duration
	// KeyFile is the store key's file (see storeKey); the key itself may
	// be in THROUGHCARE_STORE_KEY instead, read through getenv.
	KeyFile string
	getenv  func(string) string
	// Monitoring: the metrics and profiler listeners (empty: none), and
	// how often the value log is collected (0: never).
	MetricsListen  string
	PprofListen    string
	VlogGCInterval time.Duration
}

// gcInterval is the store's GCInterval for --vlog-gc-interval (0: off).
func (c *config) gcInterval() time.Duration {
	if c.VlogGCInterval == 0 {
		return -1
	}
	return c.VlogGCInterval
}

// env reads the environment parseConfig was given.
func (c *config) env(name string) string {
	if c.getenv == nil {
		return ""
	}
	return c.getenv(name)
}

// origins splits --rp-origins.
func (c *config) origins() []string {
	var out []string
	for _, o := range strings.Split(c.RPOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}

// authRateLimit is the rate limit of the public procedures the flags ask
// for; the rest of it takes api.RateLimit's defaults.
func (c *config) authRateLimit() api.RateLimit {
	return api.RateLimit{
		Ceremony:           api.Limits{Address: api.Limit{Rate: c.AuthRate, Burst: c.AuthBurst}},
		Refresh:            api.Limits{Address: api.Limit{Rate: c.RefreshRate, Burst: c.RefreshBurst}},
		TrustedProxyHeader: c.ProxyHeader,
	}
}

// server is the server's config from the flags, over the opened store st,
// logging to log; callers are resolved by ids if it is set (tests), by
// their passkey sessions otherwise.
func (c *config) server(st server.Store, log zerolog.Logger, ids identity.Source) server.Config {
	return server.Config{
		Store: st, DataDir: c.Data, Logger: log, Now: time.Now, Identity: ids,
		Engine: syncengine.Config{
			MaxSkew: c.MaxClockSkew, Keepalive: c.Keepalive, StreamMaxAge: c.StreamMaxAge, LateWorkWindow: c.LateWorkWindow,
			MaxStreamsPerDevice: c.MaxStreamsPerDevice, MaxStreamsPerUser: c.MaxStreamsPerUser,
		},
		Auth: auth.Config{
			RPID: c.RPID, RPDisplayName: c.RPName, RPOrigins: c.origins(),
			AccessTTL: c.AccessTTL, RefreshIdle: c.RefreshIdle, RefreshGrace: c.RefreshGrace, AbsoluteTTL: c.SessionMaxAge,
			Enrolled: func(ctx context.Context) { removeSpentBootstrap(ctx, c.Data, st, log) },
		},
		MaxRequestBytes: c.MaxRequestBytes, UnaryTimeout: c.UnaryTimeout, MaxDecompressions: c.MaxDecompress,
		ReadBodyTimeout: c.ReadBodyTimeout, WriteTimeout: c.WriteTimeout,
		RateLimit:         c.authRateLimit(),
		MinFreeBytes:      uint64(c.MinFreeBytes),
		ReadHeaderTimeout: c.ReadHeader, IdleTimeout: c.IdleTimeout, ShutdownTimeout: c.ShutdownTimeout,
		MaxConnsPerIP: c.MaxConnsPerIP,
		Retention:     c.Retention,
	}
}

func envName(flagName string) string {
	return "THROUGHCARE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func parseConfig(args []string, getenv func(string) string, out io.Writer) (*config, error) {
	c := &config{getenv: getenv}
	fs := flag.NewFlagSet("throughcare-server", flag.ContinueOnError)
	fs.SetOutput(out)
	c.defineFlags(fs)
	// Environment first, so flags given on the command line override it.
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if v := getenv(envName(f.Name)); v != "" && envErr == nil {
			if err := f.Value.Set(v); err != nil {
				envErr = fmt.Errorf("%s=%q: %v", envName(f.Name), v, err)
			}
		}
	})
	if envErr != nil {
		return nil, envErr
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return c, nil
}

// defineFlags declares every flag on fs, each bound to its field of c.
func (c *config) defineFlags(fs *flag.FlagSet) {
	str := func(p *string, name, def, usage string) {
		fs.StringVar(p, name, def, usage+" (env "+envName(name)+")")
	}
	dur := func(p *time.Duration, name string, def time.Duration, usage string) {
		fs.DurationVar(p, name, def, usage+" (env "+envName(name)+")")
	}
	str(&c.Listen, "listen", "127.0.0.1:8080", "address to serve on (h2c: HTTP/1.1 and HTTP/2 without TLS; put TLS in front)")
	str(&c.Data, "data", "./data", "data directory")
	str(&c.Store, "store", "", "empty: the embedded store, in --data; or a PostgreSQL database's URL, postgres://USER@HOST:PORT/DATABASE (the password in PGPASSWORD, ~/.pgpass or the URL; logs show only host, port and database), whose schema is migrated at start; --data still holds the operator socket and the bootstrap invite")
	str(&c.LogFormat, "log-format", "auto", "log format: json, console, or auto (console on a terminal)")
	str(&c.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.Int64Var(&c.MaxRequestBytes, "max-request-bytes", 4<<20, "largest request body accepted, in bytes (env "+envName("max-request-bytes")+")")
	fs.IntVar(&c.MaxDecompress, "max-decompressions", api.DefaultMaxDecompressions(), "compressed request messages decompressed at once; one more is refused with resource_exhausted (env "+envName("max-decompressions")+")")
	dur(&c.MaxClockSkew, "max-clock-skew", 5*time.Minute, "how far ahead of the server clock a change may be stamped")
	dur(&c.UnaryTimeout, "unary-timeout", 30*time.Second, "server-side deadline of a unary call")
	dur(&c.Keepalive, "keepalive", 25*time.Second, "keepalive interval on idle streams")
	dur(&c.StreamMaxAge, "stream-max-age", time.Hour, "streams are closed (with a typed reason) after this long")
	dur(&c.ShutdownTimeout, "shutdown-timeout", 20*time.Second, "how long to drain requests on SIGTERM")
	dur(&c.ReadHeader, "read-header-timeout", 10*time.Second, "deadline to read request headers")
	dur(&c.IdleTimeout, "idle-timeout", 2*time.Minute, "how long an idle keep-alive connection stays open")
	str(&c.RPID, "rp-id", "localhost", "WebAuthn relying party id: the domain people sign in on, without scheme or port")
	str(&c.RPName, "rp-name", "Throughcare", "WebAuthn relying party name shown by authenticators")
	str(&c.RPOrigins, "rp-origins", "http://localhost:8080", "comma-separated origins (scheme://host:port) passkeys may be used from")
	str(&c.BootstrapArea, "bootstrap-area", "Lambeth", "area created, with a first admin invite, when the server starts on an empty store")
	dur(&c.AccessTTL, "access-ttl", 15*time.Minute, "lifetime of an access token")
	dur(&c.RefreshIdle, "refresh-idle", 14*24*time.Hour, "a session not refreshed for this long ends (tablets may be offline for days)")
	dur(&c.RefreshGrace, "refresh-grace", 2*time.Minute, "a refresh whose answer was lost may be retried once with the old token for this long, until the new tokens are used")
	dur(&c.SessionMaxAge, "session-max-age", 30*24*time.Hour, "a session ends this long after sign-in however it is used")
	fs.Float64Var(&c.AuthRate, "auth-rate", api.DefaultAuthRate, "sign-in and enrolment calls per second allowed to one client address once its burst is spent; its /24 (IPv6: /48) gets five times as many (env "+envName("auth-rate")+")")
	fs.IntVar(&c.AuthBurst, "auth-burst", api.DefaultAuthBurst, "sign-in and enrolment calls one client address may make at once; its /24 (IPv6: /48) five times as many (env "+envName("auth-burst")+")")
	fs.Float64Var(&c.RefreshRate, "auth-refresh-rate", api.DefaultRefreshRate, "session refreshes per second allowed to one client address once its burst is spent; its /24 (IPv6: /48) gets five times as many (env "+envName("auth-refresh-rate")+")")
	fs.IntVar(&c.RefreshBurst, "auth-refresh-burst", api.DefaultRefreshBurst, "session refreshes one client address may make at once; its /24 (IPv6: /48) five times as many (env "+envName("auth-refresh-burst")+")")
	str(&c.ProxyHeader, "trusted-proxy-header", "", "header whose last hop is the client address for rate limiting, e.g. X-Forwarded-For; set it ONLY behind a reverse proxy that sets it, or clients choose their own address")
	dur(&c.LateWorkWindow, "late-work-window", syncengine.DefaultLateWorkWindow, "how long after a worker's access to a client ended the work they did while they held it is still accepted (flagged late)")
	num := func(p *int, name string, def int, usage string) {
		fs.IntVar(p, name, def, usage+" (env "+envName(name)+")")
	}
	num(&c.MaxStreamsPerDevice, "max-streams-per-device", 2, "live streams one device may hold open; a newer one closes its oldest")
	num(&c.MaxStreamsPerUser, "max-streams-per-user", 4, "live streams one user may hold open across their devices; more are refused")
	dur(&c.WriteTimeout, "write-timeout", api.DefaultWriteTimeout, "a client that takes no part (64 KiB) of a response for this long is dropped (cut off after between half of it and all of it)")
	dur(&c.ReadBodyTimeout, "read-body-timeout", api.DefaultReadBodyTimeout, "a request body must have arrived this long after its headers")
	num(&c.MaxConnsPerIP, "max-conns-per-ip", 64, "connections one client address (IPv4 address or IPv6 /64) may hold open; 0 for no cap (behind a reverse proxy every connection comes from the proxy)")
	fs.Int64Var(&c.MinFreeBytes, "min-free-bytes", diskspace.DefaultMinFree, "writes (pushes, admin and review changes) are refused with resource_exhausted while less than this many bytes are free on the data directory's filesystem; reads go on; 0 never refuses (env "+envName("min-free-bytes")+")")
	fs.Int64Var(&c.MemoryLimit, "memory-limit", DefaultMemoryLimit, "soft limit on the server's memory, in bytes (Go's runtime collects garbage harder as it nears it, and returns memory to the system); GOMEMLIMIT, if set, replaces the default; 0 leaves it to GOMEMLIMIT or none; about 60% of the box's RAM suits a server alone on it (env "+envName("memory-limit")+")")
	num(&c.GCPercent, "gc-percent", DefaultGCPercent, "the garbage collector runs once the heap has grown by this percentage of the live heap, as GOGC (which, if set, replaces the default); lower keeps less garbage resident for more CPU; 0 leaves it to GOGC or Go's 100")
	num(&c.CacheMB, "cache-mb", store.DefaultBlockCacheMB, "the store's cache of table blocks read from disk, in MiB; more makes reads of a large store faster and costs as much memory")
	dur(&c.ReturnMemoryEvery, "return-memory-every", DefaultReturnEvery, "how often the server checks whether it has gone quiet (allocating under 2 MiB a second), and if so collects garbage and returns free memory to the system, again after 2, 4, … up to 64 quiet checks; 0 never (Go's runtime then returns it over minutes)")
	fs.Int64Var(&c.MappedLimit, "mapped-limit", DefaultMappedLimit, "resident bytes of mapped files (the binary, the store's logs and tables) over which a busy server hands the store's table pages back to the kernel (checked 4 times a second), so a long pull does not keep every page it read; a later read of them comes from the disk; 0 only past --memory-limit (env "+envName("mapped-limit")+")")
	str(&c.MetricsListen, "metrics-listen", "", "address to serve Prometheus metrics on, at /metrics, such as 127.0.0.1:9464 (loopback, or an internal address the scraper reaches); empty serves none; they are never served on --listen")
	str(&c.PprofListen, "pprof-listen", "", "loopback address to serve Go's profiler on, at /debug/pprof/, such as 127.0.0.1:6060; empty (the default) serves none")
	dur(&c.VlogGCInterval, "vlog-gc-interval", store.DefaultGCInterval, "how often the store's value log is garbage-collected (each pass rewrites files until none is worth it); 0 never")
	str(&c.KeyFile, "key-file", "", "file holding the key the store is encrypted with at rest (64 hex digits, mode 0600); or give the key itself in THROUGHCARE_STORE_KEY; with neither, the file beside the data directory (its path + .key), created for a new store")
	fs.BoolVar(&c.AcceptDataLoss, "accept-data-loss", false, "start on a damaged store with what is left of it, where that is possible, instead of refusing: what the damage lost is gone and every tablet resets its sync; give it once, when there is no backup to restore (env "+envName("accept-data-loss")+")")
	dur(&c.Retention, "retention", 0, "purge a client this long after the last change to their case once it is closed (their records, history and assignments; a tombstone keeps the id from reuse), in areas that set no retention of their own (throughcare retention); 0 keeps clients for ever; e.g. 61320h for 7 years")

}

// check refuses settings out of range, naming the flag and what it takes.
func (c *config) check() error {
	switch c.LogFormat {
	case "auto", "json", "console":
	default:
		return fmt.Errorf("--log-format must be json, console or auto, not %s", strconv.Quote(c.LogFormat))
	}
	if c.MaxRequestBytes < 1024 || c.MaxRequestBytes > 8<<20 {
		return fmt.Errorf("--max-request-bytes must be between 1024 and 8388608 (a push is applied in one transaction)")
	}
	if c.MaxDecompress < 1 || c.MaxDecompress > 4096 {
		return fmt.Errorf("--max-decompressions must be between 1 and 4096")
	}
	for name, d := range map[string]time.Duration{
		"max-clock-skew": c.MaxClockSkew, "unary-timeout": c.UnaryTimeout, "keepalive": c.Keepalive,
		"stream-max-age": c.StreamMaxAge, "shutdown-timeout": c.ShutdownTimeout,
		"read-header-timeout": c.ReadHeader, "idle-timeout": c.IdleTimeout,
		"access-ttl": c.AccessTTL, "refresh-idle": c.RefreshIdle, "refresh-grace": c.RefreshGrace, "session-max-age": c.SessionMaxAge,
		"late-work-window": c.LateWorkWindow,
		"write-timeout":    c.WriteTimeout, "read-body-timeout": c.ReadBodyTimeout,
	} {
		if d <= 0 {
			return fmt.Errorf("--%s must be a positive duration, not %s", name, d)
		}
	}
	if c.RPID == "" || strings.ContainsAny(c.RPID, ":/") {
		return fmt.Errorf("--rp-id must be a bare domain such as throughcare.example.org (no scheme or port)")
	}
	if len(c.origins()) == 0 {
		return fmt.Errorf("--rp-origins needs at least one origin such as https://throughcare.example.org")
	}
	for name, r := range map[string]float64{"auth-rate": c.AuthRate, "auth-refresh-rate": c.RefreshRate} {
		if !(r > 0) || math.IsInf(r, 0) {
			return fmt.Errorf("--%s must be a positive number of calls per second", name)
		}
	}
	for name, b := range map[string]int{"auth-burst": c.AuthBurst, "auth-refresh-burst": c.RefreshBurst} {
		if b < 1 || b > 1_000_000 {
			return fmt.Errorf("--%s must be between 1 and 1000000", name)
		}
	}
	if strings.ContainsAny(c.ProxyHeader, " \t\r\n:,") {
		return fmt.Errorf("--trusted-proxy-header must be a header name such as X-Forwarded-For")
	}
	if c.MaxStreamsPerDevice < 1 || c.MaxStreamsPerDevice > c.MaxStreamsPerUser || c.MaxStreamsPerUser > 1000 {
		return fmt.Errorf("--max-streams-per-device must be at least 1 and at most --max-streams-per-user, which is at most 1000")
	}
	if c.MaxConnsPerIP < 0 || c.MaxConnsPerIP > 1_000_000 {
		return fmt.Errorf("--max-conns-per-ip must be between 0 (no cap) and 1000000")
	}
	if c.Retention < 0 || c.Retention > subject.MaxRetention {
		return fmt.Errorf("--retention must be 0 (keep for ever) or a duration of up to 100 years, such as 61320h (7 years)")
	}
	if c.MinFreeBytes < 0 {
		return fmt.Errorf("--min-free-bytes must be 0 (never refuse writes) or a number of bytes such as 536870912 (512 MiB)")
	}
	if c.GCPercent < 0 {
		return fmt.Errorf("--gc-percent must be 0 (GOGC's, or 100) or a positive percentage such as 50")
	}
	if c.MappedLimit < 0 {
		return fmt.Errorf("--mapped-limit must be 0 (only past --memory-limit) or a number of bytes such as 67108864 (64 MiB)")
	}
	if c.MemoryLimit != 0 && c.MemoryLimit < 64<<20 {
		return fmt.Errorf("--memory-limit must be 0 (none) or at least 67108864 bytes (64 MiB), such as 805306368 (768 MiB)")
	}
	if c.ReturnMemoryEvery < 0 {
		return fmt.Errorf("--return-memory-every must be 0 (never) or a duration such as 5s")
	}
	if c.CacheMB < 1 || c.CacheMB > 1<<16 {
		return fmt.Errorf("--cache-mb must be between 1 and 65536 (MiB)")
	}
	if strings.TrimSpace(c.BootstrapArea) == "" {
		return fmt.Errorf("--bootstrap-area must name an area")
	}
	if err := c.checkMonitoring(); err != nil {
		return err
	}
	if err := c.checkStore(); err != nil {
		return err
	}
	return nil
}

// checkMonitoring checks the metrics and profiler listeners and the GC
// interval.
func (c *config) checkMonitoring() error {
	if c.MetricsListen != "" {
		_, port, err := net.SplitHostPort(c.MetricsListen)
		if err != nil {
			return fmt.Errorf("--metrics-listen must be host:port, such as 127.0.0.1:9464: %v", err)
		}
		if c.MetricsListen == c.Listen && port != "0" { // port 0: any free port
			return fmt.Errorf("--metrics-listen must differ from --listen: metrics are never served on the API's port")
		}
	}
	if c.PprofListen != "" && !loopback(c.PprofListen) {
		return fmt.Errorf("--pprof-listen must be a loopback address such as 127.0.0.1:6060 (the profiler shows the server's memory, so it is never served beyond this machine), not %q", c.PprofListen)
	}
	if c.VlogGCInterval < 0 {
		return fmt.Errorf("--vlog-gc-interval must be 0 (never) or a positive duration such as 10m")
	}
	return nil
}
