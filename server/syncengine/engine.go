// Package syncengine is the server side of the sync protocol: it validates
// pushes against the schema registry, has the access policy (package
// access) decide each change for the caller, applies them through the
// store, answers pulls from the opaque cursor (snapshots for buckets new
// to the caller, evictions for buckets it lost, resets for cursors it
// cannot use), and feeds live subscriptions. It knows nothing of Connect
// or HTTP; package api adapts it.
package syncengine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/throughcare/throughcare/server/access"
	"github.com/throughcare/throughcare/server/audit"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/syncproto/cursor"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
	"github.com/throughcare/throughcare/syncproto/hlc"
	"github.com/throughcare/throughcare/syncproto/protocol"
	"github.com/throughcare/throughcare/syncproto/schema"
)

// Store is what the engine needs of durable storage: bucket transactions
// for the merge loop, pulls, evictions, the cursor key and the commit feed
// that live streams follow. *store.DB is one; storetest.Run is the
// contract of its semantics.
type Store interface {
	Buckets
	// Pull returns records changed after the given positions.
	Pull(ctx context.Context, q store.PullQuery) (*store.PullPage, error)
	// NoteEvictions records durably that a device is being sent the
	// eviction of buckets; Evictions reads what was noted.
	NoteEvictions(ctx context.Context, deviceID string, ended map[string]time.Time) error
	Evictions(ctx context.Context, deviceID string, buckets []string) (map[string]time.Time, error)
	// Watch calls fn with the new heads after every committed write.
	Watch(fn func(heads map[string]uint64)) (stop func())
	// CursorKey returns the secret that seals sync cursors.
	CursorKey() []byte
}

// Config configures an Engine. Zero values take the defaults noted.
type Config struct {
	// Store holds the data (required).
	Store Store
	// Schema is the registry to validate against (default: the built-in).
	Schema *schema.Registry
	// Now reads the server clock (default time.Now). The engine's hybrid
	// logical clock, which stamps what the server writes (WriteAs), reads
	// it too.
	Now func() time.Time
	// MaxSkew is how far ahead of the server clock a change may be stamped
	// (default 5 minutes).
	MaxSkew time.Duration
	// MaxBatch is the most changes one push may carry (default 5,000).
	MaxBatch int
	// DefaultLimit and MaxLimit bound the records of a pull page (defaults
	// 2,000 and 20,000); MaxPageBytes bounds its size (default 2 MiB, well
	// inside the 4 MiB that gRPC clients accept by default).
	DefaultLimit, MaxLimit, MaxPageBytes int
	// Keepalive is the interval between keepalives on an idle stream
	// (default 25 s); StreamMaxAge ends streams after that long (default
	// 1 h) so that long-lived connections are re-authenticated.
	Keepalive, StreamMaxAge time.Duration
	// LateWorkWindow is how long after a worker's access to a client ended
	// the server still accepts the work they did while they held it
	// (default DefaultLateWorkWindow, 14 days), measured from the end of
	// the assignment to the push's arrival on the server's clock.
	LateWorkWindow time.Duration
	// MaxStreamsPerDevice and MaxStreamsPerUser cap the Subscribe streams
	// open at once (defaults 2 and 4): a device over its cap closes its
	// oldest stream, a user over theirs is refused (see streamCaps).
	MaxStreamsPerDevice, MaxStreamsPerUser int
	// Logger records what the engine does (no personal data).
	Logger zerolog.Logger
	// Meter, when set, counts what the engine does for monitoring.
	Meter Meter
}

// Meter counts what the engine does, for monitoring (package metrics has
// one). Its methods are called on the callers' goroutines, so they must be
// quick and safe for concurrent use.
type Meter interface {
	// Applied is called after every committed batch with its results: a
	// device's push (server false) or a write the server made on its own
	// account (WriteAs: server true).
	Applied(server bool, results []Result)
	// Paged is called for every page of changes sent, by Pull or on a
	// live stream, with its records and their encoded bytes.
	Paged(records, bytes int)
}

// noMeter counts nothing.
type noMeter struct{}

func (noMeter) Applied(bool, []Result) {}
func (noMeter) Paged(int, int)         {}

// Engine runs the sync protocol. It is safe for concurrent use.
type Engine struct {
	cfg     Config
	clock   *hlc.Clock // the server's one HLC (see newServerClock)
	codec   *cursor.Codec
	hub     *hub
	streams *streamCaps
	unwatch func()
	closing chan struct{}
}

// New returns an engine over cfg.Store.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil {
		return nil, errors.New("syncengine: no store")
	}
	if cfg.Schema == nil {
		cfg.Schema = schema.Builtin()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	setDefault(&cfg.MaxSkew, 5*time.Minute)
	setDefault(&cfg.MaxBatch, 5000)
	setDefault(&cfg.DefaultLimit, 2000)
	setDefault(&cfg.MaxLimit, 20000)
	setDefault(&cfg.MaxPageBytes, 2<<20)
	setDefault(&cfg.Keepalive, 25*time.Second)
	setDefault(&cfg.StreamMaxAge, time.Hour)
	setDefault(&cfg.LateWorkWindow, DefaultLateWorkWindow)
	setDefault(&cfg.MaxStreamsPerDevice, 2)
	setDefault(&cfg.MaxStreamsPerUser, 4)
	if cfg.Meter == nil {
		cfg.Meter = noMeter{}
	}
	codec, err := cursor.NewCodec(cfg.Store.CursorKey())
	if err != nil {
		return nil, fmt.Errorf("syncengine: %w", err)
	}
	e := &Engine{cfg: cfg, clock: newServerClock(cfg.Now), codec: codec, hub: newHub(), streams: newStreamCaps(cfg.MaxStreamsPerDevice, cfg.MaxStreamsPerUser),
		closing: make(chan struct{})}
	// Every committed write reaches live streams, including those the
	// server makes on its own account (new clients, review notes).
	e.unwatch = cfg.Store.Watch(e.hub.publish)
	return e, nil
}

func setDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

// Shutdown ends every open stream with CLOSE_REASON_SERVER_SHUTDOWN and
// refuses new ones. Call it before draining the HTTP server, whose shutdown
// waits for streams.
func (e *Engine) Shutdown() {
	select {
	case <-e.closing:
	default:
		close(e.closing)
		e.unwatch()
	}
}

// checkVersions validates the versions every request carries.
func (e *Engine) checkVersions(protocolVersion, schemaVersion uint32) error {
	switch {
	case protocolVersion == 0:
		return badRequest("protocol_version is required (this server speaks %d)", protocol.Version)
	case protocolVersion != protocol.Version:
		return &RequestError{Precondition: true, Msg: fmt.Sprintf("protocol version %d is not supported; this server speaks %d", protocolVersion, protocol.Version)}
	case schemaVersion == 0:
		return badRequest("schema_version is required (this server's schema is version %d)", e.cfg.Schema.Version())
	case schemaVersion > e.cfg.Schema.Version():
		return &RequestError{Precondition: true, Msg: fmt.Sprintf("schema version %d is newer than this server's (%d); update the server", schemaVersion, e.cfg.Schema.Version())}
	}
	return nil
}

// log returns the request's logger (with its request id) if the caller set
// one, else the engine's.
func (e *Engine) log(ctx context.Context) *zerolog.Logger {
	if l := zerolog.Ctx(ctx); l.GetLevel() != zerolog.Disabled {
		return l
	}
	return &e.cfg.Logger
}

func (e *Engine) serverTime() *timestamppb.Timestamp { return timestamppb.New(e.cfg.Now()) }

// Push validates and applies a batch of the caller's changes.
func (e *Engine) Push(ctx context.Context, id *identity.Identity, req *v1.PushRequest) (*v1.PushResponse, error) {
	if err := e.checkVersions(req.GetProtocolVersion(), req.GetSchemaVersion()); err != nil {
		return nil, err
	}
	chs := req.GetChanges()
	if len(chs) > e.cfg.MaxBatch {
		return nil, badRequest("a push may carry at most %d changes; this one has %d", e.cfg.MaxBatch, len(chs))
	}
	resp := &v1.PushResponse{ServerTime: e.serverTime()}
	if len(chs) == 0 {
		return resp, nil
	}
	if err := e.validate(id, req); err != nil {
		return nil, err
	}
	rules, err := e.pushRules(ctx, id, chs)
	if err != nil {
		return nil, err
	}
	res, err := Apply(ctx, e.cfg.Store, &Batch{
		UserID: id.UserID, DeviceID: id.DeviceID, ReceivedAt: rules.Now, Changes: chs,
		Check:   rules.Decide,
		Created: e.requiredFields(chs),
		Audit:   audit.Entry(ctx, id, store.AuditPush, rules.Now),
	})
	if err != nil {
		return nil, sequenceAhead(err, chs)
	}
	e.cfg.Meter.Applied(false, res.Results)
	resp.HighWater = res.HighWater
	resp.Results = make([]*v1.ChangeResult, len(chs))
	applied := 0
	for i, r := range res.Results {
		resp.Results[i] = &v1.ChangeResult{DeviceSeq: chs[i].GetDeviceSeq(), Verdict: r.Verdict, Reason: r.Reason, Message: r.Message, Position: r.Position, Late: r.Late}
		if r.Verdict == v1.Verdict_VERDICT_APPLIED {
			applied++
		}
	}
	e.log(ctx).Debug().Int("changes", len(chs)).Int("applied", applied).Int("buckets", len(res.Heads)).Msg("push")
	return resp, nil
}

// pushRules returns the access policy's rules for a push: with the time it
// arrived and, for the clients it touches that the caller no longer holds,
// the evictions this device has been sent. They are read before the push
// transaction: an eviction is noted before it is sent, so a push made
// after the device received one finds it.
func (e *Engine) pushRules(ctx context.Context, id *identity.Identity, chs []*v1.Change) (*access.Push, error) {
	p := &access.Push{ID: id, Schema: e.cfg.Schema, Now: e.cfg.Now(), Window: e.cfg.LateWorkWindow}
	if former := access.LateClients(id, chs); len(former) > 0 {
		var err error
		if p.Evicted, err = e.cfg.Store.Evictions(ctx, id.DeviceID, former); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// DefaultLateWorkWindow is how long after access ended late work is
// accepted unless Config.LateWorkWindow says otherwise.
const DefaultLateWorkWindow = access.DefaultLateWorkWindow

// validate checks every change on its own and reports every problem at
// once. Required fields of new records are checked in the push transaction.
func (e *Engine) validate(id *identity.Identity, req *v1.PushRequest) error {
	now := e.cfg.Now()
	var problems []*v1.ChangeProblem
	add := func(i int, ch *v1.Change, p v1.Problem, field, msg string) {
		problems = append(problems, &v1.ChangeProblem{Index: uint32(i), DeviceSeq: ch.GetDeviceSeq(), RecordType: ch.GetRecordType(), Field: field, Problem: p,
			Message: fmt.Sprintf("change %d (device_seq %d) %s.%s: %s", i, ch.GetDeviceSeq(), ch.GetRecordType(), field, msg)})
	}
	var prevSeq uint64
	for i, ch := range req.GetChanges() {
		if iss := e.cfg.Schema.CheckChange(req.GetSchemaVersion(), ch); iss != nil {
			problems = append(problems, &v1.ChangeProblem{Index: uint32(i), DeviceSeq: ch.GetDeviceSeq(), RecordType: iss.RecordType, Field: iss.Field, Problem: iss.Problem,
				Message: fmt.Sprintf("change %d (device_seq %d): %s", i, ch.GetDeviceSeq(), iss.Message)})
			continue
		}
		switch {
		case i > 0 && ch.GetDeviceSeq() != prevSeq+1:
			add(i, ch, v1.Problem_PROBLEM_MALFORMED, ch.GetField(), fmt.Sprintf("device_seq %d does not follow %d: a push carries consecutive device_seq numbers", ch.GetDeviceSeq(), prevSeq))
		case ch.GetStamp().GetReplica() != id.DeviceID:
			add(i, ch, v1.Problem_PROBLEM_MALFORMED, ch.GetField(), "the stamp's replica must be the pushing device's id")
		case hlc.CheckSkew(ch.GetStamp().GetTime(), now, e.cfg.MaxSkew) != nil:
			add(i, ch, v1.Problem_PROBLEM_CLOCK_AHEAD, ch.GetField(), fmt.Sprintf("stamped %s ahead of the server clock, more than the %s allowed; correct the device clock", hlc.Wall(ch.GetStamp().GetTime()).Sub(now).Round(time.Second), e.cfg.MaxSkew))
		}
		prevSeq = ch.GetDeviceSeq()
	}
	if len(problems) > 0 {
		return rejected(problems, now)
	}
	return nil
}

// MaxProblems is the most problems a PushRejected lists.
const MaxProblems = 50

func rejected(problems []*v1.ChangeProblem, now time.Time) *RejectedError {
	total := len(problems)
	return &RejectedError{Problems: problems[:min(total, MaxProblems)], Total: total, ServerTime: now}
}
