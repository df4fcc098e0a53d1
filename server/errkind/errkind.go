// Package errkind is the small, fixed vocabulary of domain errors shared by
// the server's domain packages (auth, admin, ...). A domain error has a kind
// and a message that is safe to show to the caller (it never holds personal
// data, tokens or codes); the API maps each kind to one protocol code. The
// cause, if any, is only for the server's log.
package errkind

import (
	"errors"
	"fmt"
)

// Kind classifies a domain error. New kinds are added at the end.
type Kind int

// The kinds.
const (
	// Invalid: the request is malformed or breaks a rule (InvalidArgument).
	Invalid Kind = iota + 1
	// NotFound: it does not exist, or is outside the caller's reach, which
	// must look the same (NotFound).
	NotFound
	// Unauthenticated: no valid session, or a failed passkey ceremony.
	Unauthenticated
	// Forbidden: the caller is known but their role may not do this, on
	// something they can see (PermissionDenied).
	Forbidden
	// Precondition: the request is fine but the state does not allow it
	// now, e.g. an expired ceremony (FailedPrecondition).
	Precondition
	// Exists: it already exists (AlreadyExists).
	Exists
	// Unavailable: try again later (Unavailable).
	Unavailable
	// Exhausted: a limit on what one caller may hold at once was reached,
	// e.g. open streams (ResourceExhausted).
	Exhausted
)

// Error is a domain error.
type Error struct {
	Kind Kind
	// Msg is safe to send to the caller.
	Msg string
	// Cause is logged, never sent.
	Cause error
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// E returns an error of kind k with a caller-safe message.
func E(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// Wrap returns an error of kind k with a caller-safe message and a cause
// for the log.
func Wrap(k Kind, cause error, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...), Cause: cause}
}

// Of returns the kind of err, or 0 if it is not a domain error.
func Of(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}
