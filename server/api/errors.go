package api

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"
	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/throughcare/throughcare/server/errkind"
	"github.com/throughcare/throughcare/server/identity"
	"github.com/throughcare/throughcare/server/store"
	"github.com/throughcare/throughcare/server/syncengine"
	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// connectError maps a domain error to a Connect error whose message is safe
// for the client. Anything unexpected becomes Internal with the request id,
// and its detail goes only to the log.
func connectError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var (
		req      *syncengine.RequestError
		rejected *syncengine.RejectedError
		reset    *syncengine.ResetError
		closed   *syncengine.ClosedError
		cerr     *connect.Error
		seq      *syncengine.SequenceError
		domain   *errkind.Error
	)
	switch {
	case errors.As(err, &cerr):
		return cerr
	case errors.As(err, &rejected):
		return withDetail(connect.NewError(connect.CodeInvalidArgument, errors.New(rejected.Error())),
			&v1.PushRejected{Problems: rejected.Problems, Total: uint32(rejected.Total), ServerTime: timestampOf(rejected)})
	case errors.As(err, &seq):
		return withDetail(connect.NewError(connect.CodeFailedPrecondition,
			fmt.Errorf("device_seq %d does not follow this device's high-water mark %d; number changes without gaps", seq.Got, seq.HighWater)),
			&v1.SequenceMismatch{HighWater: seq.HighWater})
	case errors.Is(err, store.ErrBatchTooLarge):
		return connect.NewError(connect.CodeResourceExhausted, errors.New("push too large for one transaction; split it into smaller pushes"))
	case errors.As(err, &req):
		code := connect.CodeInvalidArgument
		if req.Precondition {
			code = connect.CodeFailedPrecondition
		}
		return connect.NewError(code, errors.New(req.Msg))
	case errors.As(err, &reset):
		cerr := withDetail(connect.NewError(connect.CodeFailedPrecondition, errors.New(reset.Error())), &v1.ResetRequired{Reason: reset.Reason, HighWater: reset.HighWater})
		if reset.Reason == v1.ResetReason_RESET_REASON_SEQUENCE_AHEAD {
			// SDKs before the sequence reset read this one.
			cerr = withDetail(cerr, &v1.SequenceMismatch{HighWater: reset.HighWater})
		}
		return cerr
	case errors.As(err, &closed):
		code := connect.CodeUnavailable
		switch closed.Reason {
		case v1.CloseReason_CLOSE_REASON_SESSION_ENDED:
			code = connect.CodeUnauthenticated
		case v1.CloseReason_CLOSE_REASON_MEMBERSHIP_CHANGED:
			code = connect.CodeAborted
		}
		return withDetail(connect.NewError(code, errors.New(closed.Error())), &v1.StreamClosed{Reason: closed.Reason})
	case errors.As(err, &domain):
		if domain.Cause != nil {
			logFrom(ctx).Info().Str("kind", kindName[domain.Kind]).Str("cause", fmt.Sprintf("%T", domain.Cause)).Msg(domain.Msg)
		}
		return connect.NewError(kindCode[domain.Kind], errors.New(domain.Msg))
	case errors.Is(err, identity.ErrCaseloadChanged):
		return connect.NewError(connect.CodeAborted, errors.New("your caseload changed; sync, then try again"))
	case errors.Is(err, identity.ErrUnauthenticated):
		return connect.NewError(connect.CodeUnauthenticated, errors.New("sign-in required"))
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, store.ErrClosed):
		logFrom(ctx).Warn().Err(err).Msg("unavailable")
		return connect.NewError(connect.CodeUnavailable, errors.New("the server cannot take this request now; retry later"))
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, errors.New("request canceled"))
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, errors.New("request timed out"))
	}
	rid := requestID(ctx)
	logFrom(ctx).Error().Err(err).Msg("internal error")
	return connect.NewError(connect.CodeInternal, errors.New("internal error (request id "+rid+")"))
}

// unsent marks ev, the log line of a refusal, when writing the refusal
// failed: the client went away or stopped reading, and did not get it.
// Only the error's type is logged, as elsewhere: its text names the
// client's address.
func unsent(ev *zerolog.Event, err error) *zerolog.Event {
	if err == nil {
		return ev
	}
	return ev.Bool("unsent", true).Str("write_error_type", fmt.Sprintf("%T", err))
}

var kindCode = map[errkind.Kind]connect.Code{
	errkind.Invalid:         connect.CodeInvalidArgument,
	errkind.NotFound:        connect.CodeNotFound,
	errkind.Unauthenticated: connect.CodeUnauthenticated,
	errkind.Forbidden:       connect.CodePermissionDenied,
	errkind.Precondition:    connect.CodeFailedPrecondition,
	errkind.Exists:          connect.CodeAlreadyExists,
	errkind.Unavailable:     connect.CodeUnavailable,
	errkind.Exhausted:       connect.CodeResourceExhausted,
}

var kindName = map[errkind.Kind]string{
	errkind.Invalid: "invalid", errkind.NotFound: "not_found", errkind.Unauthenticated: "unauthenticated",
	errkind.Forbidden: "forbidden", errkind.Precondition: "precondition", errkind.Exists: "exists", errkind.Unavailable: "unavailable",
	errkind.Exhausted: "exhausted",
}

func timestampOf(r *syncengine.RejectedError) *timestamppb.Timestamp {
	return timestamppb.New(r.ServerTime)
}

func withDetail(cerr *connect.Error, m proto.Message) *connect.Error {
	if d, err := connect.NewErrorDetail(m); err == nil {
		cerr.AddDetail(d)
	}
	return cerr
}

func logFrom(ctx context.Context) *zerolog.Logger { return zerolog.Ctx(ctx) }
