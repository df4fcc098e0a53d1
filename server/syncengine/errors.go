package syncengine

import (
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
// an empty cursor.
type ResetError struct{ Reason v1.ResetReason }

func (e *ResetError) Error() string {
	switch e.Reason {
	case v1.ResetReason_RESET_REASON_CURSOR_UNKNOWN:
		return "reset required: the cursor is ahead of this server's data"
	case v1.ResetReason_RESET_REASON_SCHEMA_CHANGED:
		return "reset required: the schema changed incompatibly since the cursor was issued"
	}
	return "reset required: the cursor is malformed or was not issued by this server"
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
