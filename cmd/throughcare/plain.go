package main

import (
	"errors"
	"fmt"

	"connectrpc.com/connect"
)

// refusal is the server's NotFound or PermissionDenied put plainly for a
// person at a terminal ("client 0193… not found in your reach"). It wraps
// the server's error, so connect.CodeOf still reads the code; like every
// other failure it exits 1.
type refusal struct {
	msg string
	err error
}

func (r *refusal) Error() string { return r.msg }
func (r *refusal) Unwrap() error { return r.err }

// plainly turns a NotFound into "WHAT not found in your reach" (the server
// answers NotFound for anything out of the caller's reach, so the CLI
// cannot tell which) and a PermissionDenied into "permission denied: ROLES
// only (the server's reason)"; other errors are returned as they are.
func plainly(err error, what, roles string) error {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return err
	}
	switch ce.Code() {
	case connect.CodeNotFound:
		return &refusal{fmt.Sprintf("%s not found in your reach", what), err}
	case connect.CodePermissionDenied:
		return &refusal{fmt.Sprintf("permission denied: %s only (%s)", roles, ce.Message()), err}
	}
	return err
}
