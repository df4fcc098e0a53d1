package syncengine

import (
	"errors"
	"fmt"
	"time"

	v1 "github.com/throughcare/throughcare/syncproto/gen/throughcare/v1"
)

// The engine's errors. Their messages are safe to show to the caller: they
// name fields and problems, never submitted values.

// RequestError is a request that is wrong as a whole (bad version, too many
// changes). Precondition is set when the request is well-formed but cannot be
// served in the current state (for example the device speaks a newer
// protocol).
type RequestError struct {
	Msg          string
	Precondition bool
}

func (e *RequestError) Error() string { return e.Msg }

func badRequest(format string, args ...any) error {
	return &RequestError{Msg: fmt.Sprintf(format, args...)}
}

// RejectedError is a push refused because some of its changes are
// malformed; nothing of it was applied.
type RejectedError struct {
	// Problems lists at most MaxProblems problems; Total counts them all.
	Problems   []*v1.ChangeProblem
	Total      int
	ServerTime time.Time
}

func (e *RejectedError) Error() string {
	if e.Total == 1 {
		return "push refused: " + e.Problems[0].GetMessage()
	}
	return fmt.Sprintf("push refused: %d malformed changes; first: %s", e.Total, e.Problems[0].GetMessage())
}

// ResetError tells the device to drop its pulled state and pull again from
// an empty cursor, or, with RESET_REASON_SEQUENCE_AHEAD, to renumber its
// changes from HighWater+1 and push again.
type ResetError struct {
	Reason v1.ResetReason
	// HighWater is set with RESET_REASON_SEQUENCE_AHEAD: the last change of
	// the device the server holds.
	HighWater uint64
	// Got is the device_seq of the push's first new change then.
	Got uint64
}

func (e *ResetError) Error() string {
	switch e.Reason {
	case v1.ResetReason_RESET_REASON_SEQUENCE_AHEAD:
		return fmt.Sprintf("reset required: this server holds this device's changes only up to %d, but the push's first new change is %d (the server lost changes, for example in a restore from backup); renumber unconfirmed changes from %d and push again", e.HighWater, e.Got, e.HighWater+1)
	case v1.ResetReason_RESET_REASON_CURSOR_UNKNOWN:
		return "reset required: the cursor is ahead of this server's data"
	case v1.ResetReason_RESET_REASON_SCHEMA_CHANGED:
		return "reset required: the schema changed incompatibly since the cursor was issued"
	}
	return "reset required: the cursor is malformed or was not issued by this server"
}

// sequenceAhead turns a store's sequence error into a sequence reset when
// the push's first new change (the first above the high-water mark) is
// itself ahead: there is a gap between what the server holds and what the
// device sends, so the server lost changes. A gap later in the push is a
// malformed push and stays a SequenceError.
func sequenceAhead(err error, chs []*v1.Change) error {
	var seq *SequenceError
	if !errors.As(err, &seq) {
		return err
	}
	for _, ch := range chs {
		if s := ch.GetDeviceSeq(); s > seq.HighWater {
			if s == seq.Got {
				return &ResetError{Reason: v1.ResetReason_RESET_REASON_SEQUENCE_AHEAD, HighWater: seq.HighWater, Got: seq.Got}
			}
			break
		}
	}
	return err
}

// ClosedError ends a Subscribe stream with a reason.
type ClosedError struct{ Reason v1.CloseReason }

func (e *ClosedError) Error() string {
	switch e.Reason {
	case v1.CloseReason_CLOSE_REASON_SERVER_SHUTDOWN:
		return "stream closed: the server is shutting down"
	case v1.CloseReason_CLOSE_REASON_SESSION_ENDED:
		return "stream closed: the session ended; sign in again"
	case v1.CloseReason_CLOSE_REASON_MEMBERSHIP_CHANGED:
		return "stream closed: the caseload changed; pull and subscribe again"
	case v1.CloseReason_CLOSE_REASON_MAX_AGE:
		return "stream closed: maximum stream age reached; subscribe again"
	}
	return "stream closed"
}
