package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"github.com/rs/zerolog"

	"github.com/throughcare/throughcare/server/identity"
)

// RequestIDHeader carries the id of a request in responses (and is logged
// with every line about it).
const RequestIDHeader = "Request-Id"

type ridKey struct{}

func requestID(ctx context.Context) string {
	s, _ := ctx.Value(ridKey{}).(string)
	return s
}

// withRequestID gives every HTTP request an id, a logger that carries it,
// and echoes the id in the response headers.
func withRequestID(log zerolog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [8]byte
		rand.Read(b[:])
		rid := hex.EncodeToString(b[:])
		w.Header().Set(RequestIDHeader, rid)
		l := log.With().Str("request_id", rid).Logger()
		ctx := context.WithValue(l.WithContext(r.Context()), ridKey{}, rid)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// authGate resolves the caller through the identity source for every
// procedure, unary and streaming, except the explicitly public ones. It is
// a connect request gate, so it runs on the request's headers before the
// body is read or decompressed: a stranger costs no decoding. A refused
// call never reaches the interceptors, so the gate logs it itself.
type authGate struct {
	source identity.Source
	public map[string]bool
	calls  calls
}

func (a *authGate) gate(ctx context.Context, spec connect.Spec, peer connect.Peer, h http.Header) (context.Context, error) {
	start := time.Now()
	ctx, err := a.identify(ctx, spec.Procedure, h)
	if err != nil {
		a.calls.done(ctx, spec, peer.Protocol, start, err)
	}
	return ctx, err
}

func (a *authGate) identify(ctx context.Context, procedure string, h http.Header) (context.Context, error) {
	if a.public[procedure] {
		return ctx, nil
	}
	id, err := a.source.Identify(ctx, h)
	if err != nil {
		if !errors.Is(err, identity.ErrUnauthenticated) {
			return ctx, connectError(ctx, err)
		}
		return ctx, connect.NewError(connect.CodeUnauthenticated, errors.New("sign-in required"))
	}
	// The request's logger (which the call log line also uses) learns who
	// is calling; ids are pseudonymous, never names.
	zerolog.Ctx(ctx).UpdateContext(func(c zerolog.Context) zerolog.Context {
		return c.Str("user_id", id.UserID).Str("device_id", id.DeviceID)
	})
	return identity.NewContext(ctx, id), nil
}

// logInterceptor logs one line per call with its outcome and duration, and
// puts a server-side deadline on unary calls.
type logInterceptor struct {
	unaryTimeout time.Duration
	calls        calls
}

var _ connect.Interceptor = (*logInterceptor)(nil)

func (l *logInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		start := time.Now()
		if l.unaryTimeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, l.unaryTimeout)
			defer cancel()
		}
		resp, err := next(ctx, req)
		l.calls.done(ctx, req.Spec(), req.Peer().Protocol, start, err)
		return resp, err
	}
}

func (l *logInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (l *logInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		start := time.Now()
		err := next(ctx, conn)
		l.calls.done(ctx, conn.Spec(), conn.Peer().Protocol, start, err)
		return err
	}
}

// CallMeter counts finished calls for monitoring (package metrics has
// one). It must be quick and safe for concurrent use.
type CallMeter interface {
	// Call is called once for every call, served or refused (by a gate or
	// the rate limit), with its procedure, its outcome ("ok" or a Connect
	// code such as "invalid_argument"), whether it is a stream, and how
	// long it took.
	Call(procedure, code string, stream bool, took time.Duration)
}

// calls logs and counts finished calls.
type calls struct{ meter CallMeter }

// done logs one line for a finished call and counts it.
func (c calls) done(ctx context.Context, spec connect.Spec, protocol string, start time.Time, err error) {
	took := time.Since(start)
	ev := zerolog.Ctx(ctx).Info()
	code := "ok"
	if err != nil {
		code = connect.CodeOf(err).String()
		if connect.CodeOf(err) == connect.CodeInternal || connect.CodeOf(err) == connect.CodeUnknown {
			ev = zerolog.Ctx(ctx).Error()
		}
	}
	ev.Str("procedure", spec.Procedure).Str("protocol", protocol).Str("code", code).Dur("duration", took).Msg("call")
	c.count(spec.Procedure, code, spec.StreamType != connect.StreamTypeUnary, took)
}

// count counts a finished call, if there is a meter.
func (c calls) count(procedure, code string, stream bool, took time.Duration) {
	if c.meter != nil {
		c.meter.Call(procedure, code, stream, took)
	}
}
