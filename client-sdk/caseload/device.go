package caseload

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"github.com/throughcare/throughcare/client-sdk/caseload/internal/local"
	"google.golang.org/protobuf/proto"

	"github.com/throughcare/throughcare/internal/diskspace"
	"github.com/throughcare/throughcare/syncproto/colzstd"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/gen/throughcare/v1/throughcarev1connect"
	"github.com/throughcare/throughcare/syncproto/hlc"
	"github.com/throughcare/throughcare/syncproto/schema"
	"github.com/throughcare/throughcare/syncproto/topschedule"
	"github.com/throughcare/throughcare/syncproto/wire"
	"github.com/throughcare/throughcare/syncproto/zstdwire"
)

// Errors the SDK returns; test with errors.Is.
var (
	// ErrInvalid: the request itself is wrong (a bad id, a value the schema
	// refuses). The error's text says what, without echoing the value.
	ErrInvalid = errors.New("invalid")
	// ErrNotFound: no such client or record on this device.
	ErrNotFound = errors.New("not found")
	// ErrNotEnrolled: the device has never been enrolled or signed in, so it
	// has no device id to stamp changes with.
	ErrNotEnrolled = errors.New("caseload: this device is not enrolled: enrol it or sign in first")
	// ErrSignInRequired: the session ended (expired, revoked, or its user
	// disabled) and could not be refreshed. Unsynced changes are kept; they
	// are sent once the same user signs in again.
	ErrSignInRequired = errors.New("caseload: sign-in required")
	// ErrOtherUser: someone else tried to sign in on a device holding another
	// user's caseload.
	ErrOtherUser = errors.New("caseload: this device holds another user's caseload")
	// ErrWrongKey: the store was made with another encryption key.
	ErrWrongKey = errors.New("caseload: the encryption key does not open this store")
	// ErrClosed: the device was closed.
	ErrClosed = errors.New("caseload: closed")
	// ErrTooLarge: one write holds more changes, or more bytes, than the
	// server takes in one push (Config.ServerMaxBatch,
	// ServerMaxRequestBytes). Nothing was saved; save it in parts. It also
	// matches ErrInvalid.
	ErrTooLarge = errors.New("too large")
	// ErrForbiddenField: the user's role may not write a field the write
	// sets (the schema's field writers, schema.Field.Writers: a worker
	// closing a case, say), so the server would refuse it. Nothing was
	// saved. It also matches ErrInvalid.
	ErrForbiddenField = errors.New("forbidden field")
)

// Config opens a device.
type Config struct {
	// Dir holds the device's local store. It is created if missing.
	Dir string
	// Key encrypts the local store (AES; 16, 24 or 32 bytes). Keep it in the
	// platform's key store, never beside the data.
	Key []byte
	// Server is the Throughcare server's base URL, such as
	// "https://throughcare.example.org".
	Server string
	// HTTPClient reaches the server (default: HTTP/2, also over plain
	// http:// URLs, as the server speaks h2c).
	HTTPClient *http.Client
	// Now reads the device's clock (default time.Now).
	Now func() time.Time
	// TOPSchedule is the area's TOP schedule (the zero value: reviews
	// every three months, a fortnight either side), for TOPsDue.
	TOPSchedule topschedule.Schedule
	// InMemory keeps the store in memory (tests and demos; nothing survives
	// Close).
	InMemory bool
	// Schema is the schema the app was built with (default: the built-in).
	Schema *schema.Registry
	// PushBatch is the most changes sent in one push (default 500), and
	// PushBytes the most bytes (default 1 MiB). Pushes are cut only between
	// writes (user actions), so a push may stop short of either; a write
	// bigger than either is sent in a push of its own.
	PushBatch, PushBytes int
	// ServerMaxBatch and ServerMaxRequestBytes are the server's limits on
	// one push: its MaxBatch (default 5,000 changes) and its
	// --max-request-bytes (default 4 MiB, which is also the most the SDK
	// allows). No push exceeds them, and a write that would not fit in one
	// push is refused with ErrTooLarge. Set them if the server's are lower.
	ServerMaxBatch, ServerMaxRequestBytes int
	// MinFreeBytes is the free space below which writes are refused with
	// ErrStorageFull (default DefaultMinFreeBytes, 64 MiB), measured on
	// Dir's filesystem at most once a second. In-memory devices never
	// refuse.
	MinFreeBytes uint64

	// freeSpace, when set, replaces measuring Dir's filesystem (tests).
	freeSpace diskspace.Probe
}

// Device is a tablet's offline copy of its user's caseload. It is safe for
// concurrent use.
type Device struct {
	cfg Config
	db  *local.DB
	// pulledSinceGC counts records pulled since the value log was last
	// collected (garbageDue).
	pulledSinceGC atomic.Int64
	sync          throughcarev1connect.SyncServiceClient
	pullRaw       *connect.Client[v1.PullRequest, rawResponse]
	auth          throughcarev1connect.AuthServiceClient
	reg           *schema.Registry
	events        *events
	disk          *diskspace.Meter // nil in memory; used under mu

	mu      sync.Mutex // guards the fields below and orders local writes
	session *v1.Session
	clock   *hlc.Clock
	offset  time.Duration // the server's clock minus ours
	seq     uint64
	status  Status
	closed  bool

	// afterChunk, when set, runs after each chunk of work too large for one
	// transaction commits; an error stops the work there (tests).
	afterChunk func() error

	// flush syncs the store to disk after a write (db.Sync; tests fail it).
	flush func() error
	// after starts a timer (RunReminders; tests drive it with their clock).
	after func(time.Duration) (<-chan time.Time, func() bool)

	indexMu   sync.Mutex // one agenda index rebuild at a time
	syncMu    sync.Mutex // one sync at a time
	refreshMu sync.Mutex // one refresh at a time (a token presented twice ends the session)

	life context.Context // cancelled by Close, ending syncs in flight
	end  context.CancelFunc
}

// Open opens (creating if needed) the device store in cfg.Dir.
func Open(cfg Config) (*Device, error) {
	if cfg.Dir == "" && !cfg.InMemory {
		return nil, fmt.Errorf("caseload: Config.Dir is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Schema == nil {
		cfg.Schema = schema.Builtin()
	}
	if err := cfg.pushLimits(); err != nil {
		return nil, err
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = defaultHTTPClient(cfg.Server)
	}
	db, err := openStore(cfg.Dir, cfg.Key, cfg.InMemory)
	if err != nil {
		return nil, err
	}
	d := &Device{cfg: cfg, db: db, reg: cfg.Schema, events: newEvents(), disk: newMeter(cfg), flush: db.Sync, after: realTimer}
	d.life, d.end = context.WithCancel(context.Background())
	base := strings.TrimRight(cfg.Server, "/")
	bearer := connect.WithInterceptors(&bearer{d: d})
	// Responses come column by column (colzstd) from a server that has it,
	// else in zstd: connect-go prefers the compression registered last.
	compress := connect.WithClientOptions(zstdwire.ClientOption(), colzstd.ClientOption())
	d.sync = throughcarev1connect.NewSyncServiceClient(cfg.HTTPClient, base, bearer, compress, connect.WithReadMaxBytes(colzstd.DefaultMaxBytes))
	d.pullRaw = connect.NewClient[v1.PullRequest, rawResponse](cfg.HTTPClient, base+throughcarev1connect.SyncServicePullProcedure,
		connect.WithCodec(wire.Codec{}), bearer, compress, connect.WithReadMaxBytes(colzstd.DefaultMaxBytes))
	d.auth = throughcarev1connect.NewAuthServiceClient(cfg.HTTPClient, base, bearer)
	// Work a stop left half done (chunked.go) is finished before any read.
	if err := d.finishPending(); err != nil {
		return nil, errors.Join(fmt.Errorf("caseload: finishing work left by a stop: %w", err), db.Close())
	}
	if err := d.load(); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return d, nil
}

// pushLimits fills in the push limits' defaults and checks them.
func (cfg *Config) pushLimits() error {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cfg.ServerMaxBatch, 5000)
	def(&cfg.ServerMaxRequestBytes, maxPushBytes)
	if cfg.ServerMaxRequestBytes < 1024 || cfg.ServerMaxRequestBytes > maxPushBytes {
		return fmt.Errorf("caseload: Config.ServerMaxRequestBytes must be between 1024 and %d", maxPushBytes)
	}
	def(&cfg.PushBatch, 500)
	def(&cfg.PushBytes, 1<<20)
	cfg.PushBatch = min(cfg.PushBatch, cfg.ServerMaxBatch)
	cfg.PushBytes = min(cfg.PushBytes, cfg.ServerMaxRequestBytes)
	return nil
}

// load reads the device's meta into memory.
func (d *Device) load() error {
	return d.db.View(func(txn *local.Txn) error {
		raw, ok, err := get(txn, metaSession)
		if err != nil {
			return err
		}
		if ok {
			d.session = &v1.Session{}
			if err := proto.Unmarshal(raw, d.session); err != nil {
				return fmt.Errorf("caseload: corrupt session: %w", err)
			}
		}
		if d.seq, err = getUint(txn, metaSeq); err != nil {
			return err
		}
		off, err := getUint(txn, metaOffset)
		if err != nil {
			return err
		}
		d.offset = time.Duration(int64(off))
		synced, err := getUint(txn, metaSynced)
		if err != nil {
			return err
		}
		if synced > 0 {
			d.status.LastSync = time.Unix(0, int64(synced))
		}
		last, err := getUint(txn, metaClock)
		if err != nil {
			return err
		}
		if d.session != nil {
			d.startClock(last)
		}
		d.status.Pending, err = countPrefix(txn, []byte{pOutbox})
		if err != nil {
			return err
		}
		d.status.Rejected, err = countPrefix(txn, []byte{pRejected})
		return err
	})
}

// startClock starts the hybrid clock for the session's device, past the
// last stamp this device issued. Callers hold d.mu (or own d).
func (d *Device) startClock(last uint64) {
	d.clock = hlc.NewClock(d.session.GetDeviceId(), d.serverNow, 0)
	_ = d.clock.Observe(last) // no skew bound: our own past stamp
}

// serverNow is the device's clock corrected by the offset learned from the
// server, so stamps from a tablet with a wrong clock still order sensibly.
func (d *Device) serverNow() time.Time { return d.cfg.Now().Add(d.offset) }

func countPrefix(txn *local.Txn, prefix []byte) (int, error) {
	it := txn.NewIterator(local.IterOptions{Prefix: prefix})
	defer it.Close()
	n := 0
	for it.Rewind(); it.Valid(); it.Next() {
		n++
	}
	return n, nil
}

// Close closes the local store. Changes already written are kept.
func (d *Device) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	d.end()         // a sync in progress stops at its next network call
	d.syncMu.Lock() // and is waited for, so it writes nothing after Close
	defer d.syncMu.Unlock()
	d.events.close()
	return d.db.Close()
}

// bound returns ctx, also cancelled when the device is closed.
func (d *Device) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(d.life, cancel)
	return ctx, func() {
		stop()
		cancel()
	}
}

// UserID is the signed-in (or last signed-in) user, or "".
func (d *Device) UserID() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.session.GetUserId()
}

// DeviceID is this device's id (its replica id), or "" before enrolment.
func (d *Device) DeviceID() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.session.GetDeviceId()
}

// Role is the user's role.
func (d *Device) Role() v1.Role {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.session.GetRole()
}

// defaultHTTPClient speaks HTTP/2: over TLS for https URLs, and with prior
// knowledge (h2c) for http URLs, which the server accepts for clients
// behind a TLS-terminating proxy and for local use. Dead connections are
// noticed by the transport's HTTP/2 pings.
func defaultHTTPClient(server string) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	p := new(http.Protocols)
	if strings.HasPrefix(server, "http://") {
		p.SetUnencryptedHTTP2(true)
	} else {
		p.SetHTTP2(true)
		p.SetHTTP1(true)
	}
	t.Protocols = p
	t.HTTP2 = &http.HTTP2Config{SendPingTimeout: 30 * time.Second, PingTimeout: 10 * time.Second}
	return &http.Client{Transport: t}
}
