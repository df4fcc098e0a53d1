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
}

func (a *authGate) gate(ctx context.Context, spec connect.Spec, peer connect.Peer, h http.Header) (context.Context, error) {
	start := time.Now()
	ctx, err := a.identify(ctx, spec.Procedure, h)
	if err != nil {
		logCall(ctx, spec.Procedure, peer.Protocol, start, err)
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
		logCall(ctx, req.Spec().Procedure, req.Peer().Protocol, start, err)
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
		logCall(ctx, conn.Spec().Procedure, conn.Peer().Protocol, start, err)
		return err
	}
}

func logCall(ctx context.Context, procedure, protocol string, start time.Time, err error) {
	ev := zerolog.Ctx(ctx).Info()
	code := "ok"
	if err != nil {
		code = connect.CodeOf(err).String()
		if connect.CodeOf(err) == connect.CodeInternal || connect.CodeOf(err) == connect.CodeUnknown {
			ev = zerolog.Ctx(ctx).Error()
		}
	}
	ev.Str("procedure", procedure).Str("protocol", protocol).Str("code", code).Dur("duration", time.Since(start)).Msg("call")
}
